"""What every web request passes: security headers, the session, CSRF and Origin, and pacing.

A state-changing request is a POST that carries the CSRF token of its session (or, before there is
a session, of the form it came from) and an Origin of this site: anything else is refused before
it touches the database. Sign-in and registration are limited per address, messages per person.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot import logs
from bot.uploads import MAX_FILE_BYTES
from bot.wording import say

log = logging.getLogger(__name__)

SESSION_COOKIE = "award_session"
FORM_COOKIE = "award_form"
CSRF_HEADER = "X-CSRF-Token"
SMALL_BODY = 512 * 1024
UPLOAD_BODY = MAX_FILE_BYTES + 64 * 1024  # a file at the limit, with its form around it
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'self' https://web.telegram.org")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def csrf_for(secret: str) -> str:
    """The CSRF token of a session (or a form cookie): derived, so nothing more is stored."""
    return hashlib.sha256(f"csrf:{secret}".encode()).hexdigest()


def csrf_ok(secret: str | None, given: str | None) -> bool:
    return bool(secret and given) and hmac.compare_digest(csrf_for(secret or ""), given or "")


def same_origin(request: web.Request, base_url: str) -> bool:
    """The request's Origin is this site's (the public base URL's, or the address it was reached at)."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    allowed = {f"{request.scheme}://{request.host}"}
    if base_url:
        parts = urlsplit(base_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return origin in allowed


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        if request.content_length and request.content_length > _body_limit(request):
            raise web.HTTPRequestEntityTooLarge(max_size=_body_limit(request), actual_size=request.content_length,
                                                text=say("web_too_big"))
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    except ConnectionError:
        # A phone that lost its signal mid-request: nobody to answer, nothing to report.
        log.info("connection lost during %s %s", request.method, request.path.split("/k/")[0])
        raise
    except Exception:
        # Never a bare 500: the person gets a short word in Chinese, the log a traceback (no body).
        logs.unexpected(log, "unexpected error serving %s %s", request.method, request.path.split("/k/")[0])
        response = web.HTTPInternalServerError(text=say("unexpected_error"))
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Personal links carry a token in their path: never hand it to another site. (Not no-referrer:
    # with it a browser sends "Origin: null" on the page's own POSTs, which are then refused.)
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response  # a redirect or a refusal, now with the headers above
    return response


def _body_limit(request: web.Request) -> int:
    """Only an upload may be large (a file to the chat, the office's list of names as .xlsx); a typed
    message or a form is a few hundred kilobytes at most."""
    return UPLOAD_BODY if request.path in ("/api/upload", "/office/invites") else SMALL_BODY


class Bucket:
    """A token bucket per key: `burst` at once, then `rate` a second."""

    def __init__(self, burst: float, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.rate, self.clock = burst, rate, clock
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> bool:
        now = self.clock()
        tokens, last = self._state.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._state[key] = (tokens, now)
            return False
        self._state[key] = (tokens - 1, now)
        if len(self._state) > 50_000:  # forget the oldest rather than grow without end
            self._state.pop(next(iter(self._state)))
        return True


def number(value: str | None) -> int:
    """A non-negative id or page from a URL; anything else (negative, huge, ①) is 0, which finds nothing."""
    return int(value) if value and value.isascii() and value.isdecimal() and len(value) < 18 else 0


async def file_response(path: Path, name: str, mime: str, *, inline: bool = False) -> web.StreamResponse:
    """A stored file under the name its owner knows it by: downloaded, or shown in the page when inline."""
    if not await asyncio.to_thread(path.is_file):
        raise web.HTTPNotFound(text=say("web_file_gone"))
    plain = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in name)
    disposition = "inline" if inline else "attachment"
    return web.FileResponse(path, headers={
        "Content-Type": mime,
        "Content-Disposition": f"{disposition}; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"})


def client_address(request: web.Request) -> str:
    # Behind the README's reverse proxy every request comes from it: the proxy's forwarded address
    # is used only when the request came from the proxy's own machine.
    peer = request.remote or ""
    if peer in ("127.0.0.1", "::1"):
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        return forwarded or peer
    return peer
