"""The Bot API's HTTP requests made with aiohttp instead of python-telegram-bot's default httpx.

Why: under load the httpx stack (httpx, httpcore, anyio, h11) spent about a third of the bot's CPU
per update, twice the bot's own flows and storage together; aiohttp, which the web channel runs on
already, does the same request for a fifth of that (benchmarks/interview_load.py, issue #18).
python-telegram-bot supports other HTTP libraries through BaseRequest; this is one.

With a proxy in the environment (HTTPS_PROXY, ALL_PROXY…) the bot keeps httpx, which reads them
all, SOCKS included: see make_request.

A failure says whether the request may have reached Telegram (RequestNotSent as its cause when it
surely did not), because a reply that may have been sent must never be sent twice (bot.telegram_send).
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

# python-telegram-bot's own defaults (ApplicationBuilder): seconds.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


class RequestNotSent(Exception):
    """The cause of a failed request that never left this machine (no connection could be had)."""


class AiohttpRequest(BaseRequest):
    """One aiohttp session: `pool_size` connections at most, PTB's default timeouts."""

    def __init__(self, pool_size: int = 256) -> None:
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return READ_TIMEOUT

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # trust_env=False: proxies are httpx's job (make_request), and .netrc must not add credentials.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT}, trust_env=False)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data and request_data.contains_files else None
        read = _given(read_timeout, READ_TIMEOUT)
        write = _given(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        connect = _given(connect_timeout, CONNECT_TIMEOUT)
        pool = _given(pool_timeout, POOL_TIMEOUT)
        # As httpx's: each read may take `read` (a slow download goes on while data comes), getting a
        # connection `pool` + `connect`. aiohttp has no write timeout, so an upload is bounded as a
        # whole instead (httpx gives its one write of the file `write`).
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            total=None if not files or None in parts else sum(p for p in parts if p is not None),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect, sock_read=read)
        try:
            async with self._session.request(method, url, data=_body(request_data, files),
                                             timeout=timeout) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise TimedOut("connecting to the Bot API timed out; the request was not sent") \
                from RequestNotSent(type(exc).__name__)
        except aiohttp.ClientConnectorError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from RequestNotSent(type(exc).__name__)
        except TimeoutError as exc:  # a read, or the whole request, took too long: it may have arrived
            raise TimedOut(f"aiohttp.{type(exc).__name__}") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _given(value: Any, default: float) -> float | None:
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


def _body(request_data: RequestData | None, files: dict[str, Any] | None) -> Any:
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not files:
        return fields  # sent form-encoded, as httpx sends it
    form = aiohttp.FormData(quote_fields=False)  # UTF-8 file names as they are, as httpx and Telegram do
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in files.items():  # PTB's uploads: (file name, content, type)
        form.add_field(name, content, filename=filename, content_type=mime)
    return form


def proxied() -> bool:
    return any(os.environ.get(name) or os.environ.get(name.lower()) for name in PROXY_VARIABLES)


def make_request(*, updates: bool = False) -> BaseRequest:
    """The request of the bot's calls (`updates`: of getUpdates only, one connection as PTB does)."""
    if proxied():
        return HTTPXRequest(connection_pool_size=1 if updates else 256)
    return AiohttpRequest(pool_size=1 if updates else 256)
