"""The Bot API requests over aiohttp: a reply that may have reached Telegram is never sent twice,
one that surely did not is retried, and a proxy in the environment keeps python-telegram-bot's httpx."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

from bot.sender import MaybeSent, NotSent
from bot.telegram_http import AiohttpRequest, make_request
from bot.telegram_send import delivery_error

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def call(url: str, *, read_timeout: float = 5.0) -> Exception:
    request = AiohttpRequest(pool_size=4)
    await request.initialize()
    try:
        await request.post(f"{url}/botT/sendMessage", read_timeout=read_timeout)
    except (NetworkError, TimedOut) as exc:
        return exc
    finally:
        await request.shutdown()
    raise AssertionError("the request did not fail")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_reply_to_a_server_that_is_down_was_not_sent_and_may_be_tried_again() -> None:
    error = await call(f"http://127.0.0.1:{free_port()}")
    assert isinstance(delivery_error(error), NotSent)


async def test_a_reply_whose_answer_never_came_may_have_arrived_and_is_not_sent_again() -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(2)
        writer.close()

    async for url in serve(swallow):
        error = await call(url, read_timeout=0.3)
    assert isinstance(error, TimedOut)
    assert isinstance(delivery_error(error), MaybeSent)


async def test_a_connection_closed_after_the_request_went_out_may_have_delivered_it() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.close()

    async for url in serve(hang_up):
        error = await call(url)
    assert isinstance(delivery_error(error), MaybeSent)


async def test_a_slow_download_goes_on_as_long_as_data_keeps_coming() -> None:
    """A photo from a slow link: each read within its time, the whole longer than all the timeouts."""
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 20480\r\n\r\n")
        for _ in range(20):
            writer.write(b"x" * 1024)
            await writer.drain()
            await asyncio.sleep(0.1)
        writer.close()

    request = AiohttpRequest(pool_size=4)
    await request.initialize()
    try:
        async for url in serve(trickle):
            data = await request.retrieve(f"{url}/file/botT/photo.jpg", read_timeout=0.5, write_timeout=0.3,
                                          connect_timeout=0.3, pool_timeout=0.3)
    finally:
        await request.shutdown()
    assert len(data) == 20480


async def test_bot_api_calls_and_uploads_go_through(telegram) -> None:
    """A file with a Chinese name arrives under that name, as with python-telegram-bot's own requests."""
    request = AiohttpRequest(pool_size=4)
    bot = Bot(telegram.token, base_url=telegram.base_url, request=request)
    async with bot:
        me = await bot.get_me()
        await bot.send_document(42, b"PK\x03\x04 data", filename="申报书-张三-第1版.docx", caption="您的申报书")
    assert me.is_bot
    [sent] = telegram.to(42)
    assert sent.file_name == "申报书-张三-第1版.docx"
    assert sent.document == b"PK\x03\x04 data"
    assert sent.text == "您的申报书"


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "all_proxy"])
def test_with_a_proxy_in_the_environment_the_bot_keeps_httpx(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(make_request(), AiohttpRequest)
    monkeypatch.setenv(variable, "http://127.0.0.1:3128")
    assert isinstance(make_request(), HTTPXRequest)
