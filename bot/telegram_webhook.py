"""Updates by webhook instead of polling (`award-bot run --webhook URL`, or AWARD_WEBHOOK_URL).

Telegram POSTs each update to the URL with the secret token given in setWebhook; a request without
it is refused (403) and nothing is handled. An update is stored before Telegram is answered 200,
since Telegram never sends one again after that, and goes into the same queue polling fills: the
same per-applicant lanes, the same once-only handling (TelegramRecords.first_sight). Updates
stored but not handled when the bot stopped are handled at the next start, in order.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.storage import Storage
from bot.telegram import set_menus

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]  # as polling asks for


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/"


def webhook_routes(application: Application, storage: Storage, path: str, secret: str) -> list[web.RouteDef]:
    """The route Telegram POSTs to, for the web server of `award-bot run`."""
    async def receive(request: web.Request) -> web.Response:
        # As bytes: a header of other characters is a wrong token, not a TypeError.
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, secret.encode()):
            log.warning("webhook request without the secret token refused")
            return web.Response(status=403)
        try:
            data = await request.json()
            update_id = int(data["update_id"])
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        # Forget what was handled before this one: what people wrote stays no longer than it must.
        await storage.forget_received()
        await storage.keep_received(update_id, json.dumps(data, ensure_ascii=False))
        await application.update_queue.put(Update.de_json(data, application.bot))
        return web.Response(status=200)

    return [web.post(path, receive)]


async def start_webhook(application: Application, storage: Storage, url: str, secret: str, *,
                        office: Iterable[str] = (), former: Iterable[str] = ()) -> None:
    """Start an initialised application fed by webhook: what a stop left unhandled first, then the
    command menus, then setWebhook with the secret token."""
    await application.start()
    await replay_received(application, storage)
    await set_menus(application.bot, office, former)
    await application.bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    log.info("receiving updates by webhook")


async def replay_received(application: Application, storage: Storage) -> int:
    """Updates received by webhook but not handled when the bot stopped, into the queue in order.
    Polling does it too: a bot restarted without its webhook still owes them an answer."""
    payloads = await storage.webhook_unhandled()
    for payload in payloads:
        try:
            update = Update.de_json(json.loads(payload), application.bot)
        except (ValueError, TypeError, KeyError):
            log.warning("a stored webhook update could not be read; skipped")
            continue
        await application.update_queue.put(update)
    return len(payloads)


def new_secret() -> str:
    """Telegram's secret token: 1–256 characters of A-Z, a-z, 0-9, _ and -; a new one at each start."""
    return secrets.token_urlsafe(48)
