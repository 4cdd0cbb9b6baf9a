"""Replies out: the flows' replies as Bot API calls, within Telegram's rules.

4096-character messages and 1024-character captions (bot.telegram_limits), HTML escaping,
64-byte callback data, 50 MB documents; 429s waited out, what was surely not sent retried, what
may have been sent never repeated; a user who blocked the bot noted (bot.telegram_records).
The outbox's messages (reminders, notices) go out through TelegramTransport, read the same way.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import warnings
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

# Opt in to the coming python-telegram-bot behaviour (RetryAfter.retry_after as a timedelta),
# which _seconds() already handles, instead of a deprecation warning on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")

import aiohttp
import httpx
from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBUserWarning

from bot.flows.events import Reply
from bot.sender import DeliveryError, MaybeSent, NotSent, RateLimited, RecipientBlocked, Refused
from bot.storage import OutboxMessage
from bot.telegram_http import RequestNotSent
from bot.telegram_limits import CAPTION_LIMIT, DOCUMENT_LIMIT, pack, split_text, units
from bot.telegram_records import CHANNEL, TelegramRecords
from bot.wording import say

log = logging.getLogger(__name__)

CALLBACK_DATA_LIMIT = 64
SEND_ATTEMPTS = 5

# Sent with do_api_request on purpose (see ReplySender._texts), not by oversight.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)

T = TypeVar("T")
Markup = dict[str, Any]  # an inline keyboard as the Bot API writes it


class Blocked(Exception):
    """The user blocked the bot; nothing more can be sent to them."""


class ReplySender:
    """Sends one update's replies to its chat; `web_app_url` (https) offers the web page as a Mini App."""

    def __init__(self, records: TelegramRecords, web_app_url: str | None = None) -> None:
        self.records = records
        self.web_app_url = web_app_url

    async def send(self, bot: Bot, chat_id: int, user_id: int | None, replies: list[Reply]) -> None:
        try:
            for reply in pack(replies):
                await self._send_one(bot, chat_id, reply)
        except Blocked:
            if user_id is not None:  # a group that removed the bot says nothing about the user
                log.warning("user %s blocked the bot; marked", user_id)
                await self.records.blocked(user_id)

    def _markup(self, reply: Reply) -> Markup | None:
        """The reply's buttons as the Bot API's inline keyboard."""
        if not reply.buttons:
            return None
        # Telegram refuses the whole message over one button with more than 64 bytes of data.
        rows = [[b for b in row if len(b.data.encode()) <= CALLBACK_DATA_LIMIT] for row in reply.buttons]
        if any(len(b.data.encode()) > CALLBACK_DATA_LIMIT for b in reply.all_buttons):
            log.error("dropped a button with callback data over %d bytes", CALLBACK_DATA_LIMIT)
        markup = keyboard([(b.label, b.data) for b in row] for row in rows if row)
        if self.web_app_url and any(b.data.startswith("nx:") for b in reply.all_buttons):
            markup["inline_keyboard"].append([{"text": say("btn_web_app"), "web_app": {"url": self.web_app_url}}])
        return markup

    async def _send_one(self, bot: Bot, chat_id: int, reply: Reply) -> None:
        markup = self._markup(reply)
        # A document carries its text as the caption when it fits: one message instead of two.
        caption = reply.document is not None and units(reply.text) <= CAPTION_LIMIT
        chunks = split_text(reply.text) if reply.text and not caption else []
        await self._texts(bot, chat_id, chunks, None if reply.document is not None else markup)
        if reply.document is None:
            return
        data = await asyncio.to_thread(reply.document.read_bytes)
        name = reply.document_name or reply.document.name
        carried = [reply.text] if caption and reply.text else []  # the text that was to ride on the file
        if len(data) > DOCUMENT_LIMIT:
            # Telegram takes no bigger file from a bot: say so, with the text the file was to carry.
            note = say("document_too_big_to_send", name=name, mb=round(len(data) / 1024 / 1024))
            await self._texts(bot, chat_id, [*carried, note], markup)
            return
        text = html.escape(reply.text, quote=False) if carried else None
        keyboard = InlineKeyboardMarkup.de_json(markup, bot) if markup else None
        sent = await self._call(lambda: bot.send_document(chat_id, data, filename=name, caption=text,
                                                          parse_mode=ParseMode.HTML if text else None,
                                                          reply_markup=keyboard))
        if sent is None:
            # The text rode on the file ("submitted", "your draft"): it must not be lost with it.
            await self._texts(bot, chat_id, [*carried, say("document_not_sent")], markup)

    async def _texts(self, bot: Bot, chat_id: int, texts: list[str], markup: Markup | None) -> None:
        """Each text as a message (split to Telegram's limit), the buttons on the last one.

        Sent as the Bot API's own JSON (do_api_request), not as python-telegram-bot's objects: nothing
        reads the message sent back, and building and parsing those objects was a tenth of the bot's
        time per reply (benchmarks/interview_load.py, issue #18)."""
        chunks = [chunk for text in texts for chunk in split_text(text)]
        for n, chunk in enumerate(chunks):
            message = text_message(chat_id, chunk, markup if n == len(chunks) - 1 else None)
            await self._call(partial(bot.do_api_request, "sendMessage", api_kwargs=message))

    async def _call(self, request: Callable[[], Awaitable[T]]) -> T | None:
        """One Bot API call, kept within Telegram's rules: wait out 429s, retry what was not sent."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await request()
            except TelegramError as exc:
                error = delivery_error(exc)
                error.__cause__ = exc
            # The same reading of the failure as the outbox sender's, with a direct reply's policy:
            # the applicant is waiting, so retry briefly, and never risk showing a message twice.
            match error:
                case RecipientBlocked():
                    raise Blocked() from error.__cause__
                case RateLimited(seconds=seconds) if attempt < SEND_ATTEMPTS:
                    await asyncio.sleep(seconds)
                case NotSent() if attempt < SEND_ATTEMPTS:
                    await asyncio.sleep(min(2 ** attempt * 0.5, 10))
                case MaybeSent():
                    # They can always ask for it again with /where.
                    log.warning("request may have been delivered, not repeated: %s", error)
                    return None
                case Refused() if "message is not modified" in str(error):
                    return None
                case _:
                    log.error("reply dropped after %d attempt(s): %s: %s", attempt, type(error).__name__, error)
                    return None
        return None


def keyboard(rows: Iterable[Iterable[tuple[str, str]]]) -> Markup:
    """Buttons, (label, callback data) row by row, as the Bot API's inline keyboard."""
    return {"inline_keyboard": [[{"text": label, "callback_data": data} for label, data in row] for row in rows]}


def text_message(chat_id: int, text: str, markup: Markup | None) -> dict[str, Any]:
    """A sendMessage call, as the Bot API takes it: the text escaped for its HTML parse mode."""
    message: dict[str, Any] = {"chat_id": chat_id, "text": html.escape(text, quote=False),
                               "parse_mode": ParseMode.HTML.value}
    if markup:
        message["reply_markup"] = markup
    return message


def delivery_error(exc: TelegramError) -> DeliveryError:
    """What a failed Bot API call means for delivery; replies and the outbox both read it so."""
    if isinstance(exc, RetryAfter):
        return RateLimited(_seconds(exc.retry_after))
    if isinstance(exc, Forbidden):
        return RecipientBlocked(str(exc))
    if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
        name = type(exc.__cause__ or exc).__name__
        return MaybeSent(name) if _maybe_delivered(exc) else NotSent(name)
    return Refused(str(exc))  # a bad request, or anything else Telegram will not take as it is


def _maybe_delivered(exc: NetworkError) -> bool:
    """Whether a failed request may still have reached Telegram (and so must not be repeated)."""
    cause = exc.__cause__
    if isinstance(cause, httpx.PoolTimeout | httpx.ConnectError | httpx.ConnectTimeout | RequestNotSent):
        return False  # "Request was *not* sent"
    if isinstance(cause, httpx.HTTPError | aiohttp.ClientError | TimeoutError):
        return True  # a read or protocol error after the request went out
    return isinstance(exc, TimedOut)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramTransport:
    """Delivers an outbox message with the Bot API, and says how a failure must be treated."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def __call__(self, message: OutboxMessage) -> None:
        if message.channel != CHANNEL or not message.recipient.lstrip("-").isdecimal():
            # e.g. someone who applied in the terminal: never guess a Telegram chat for them.
            raise Refused(f"not a Telegram chat: {message.channel}")
        rows = message.payload.get("buttons") or []
        text = split_text(message.payload["text"])[0]
        try:
            await self.bot.do_api_request("sendMessage", api_kwargs=text_message(
                int(message.recipient), text, keyboard(rows) if rows else None))
        except TelegramError as exc:
            raise delivery_error(exc) from exc
