"""Telegram's limits, kept so that the flows never have to: message sizes and the pace of sending.

- A message holds 4096 UTF-16 units, a document's caption 1024: long texts are cut at
  paragraph boundaries, and short replies are packed together, so a review or a submission
  arrives as a few full messages rather than many small ones.
- A bot may send about 30 messages a second overall, and about one a second to one chat, with
  short bursts: every message, replies and reminders alike, passes one limiter that keeps both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

from bot.flows.events import Reply

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
DOCUMENT_LIMIT = 50 * 1024 * 1024  # the largest file a bot may send
RATE_HEADROOM = 0.95  # of the allowed rate: evenly spaced messages still arrive a little bunched
CHAT_BURST = 2  # messages one chat may get at once before the per-chat pace applies
_PARAGRAPH = "\n\n"


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji or a rare 汉字 may count 2)."""
    # surrogatepass: a lone surrogate (only a broken client sends one) counts as one unit, not a crash
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut a long text into messages Telegram accepts, at paragraph, then line, then any boundary."""
    parts: list[str] = []
    rest = text
    while units(rest) > limit:
        fit = _fit(rest, limit)
        window = rest[:fit]
        cut = window.rfind("\n\n")
        if cut < fit // 2:
            cut = window.rfind("\n")
        if cut < fit // 2:
            cut = fit
        parts.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    parts.append(rest)
    # Telegram refuses a message of blanks only ("message text is empty"); a long run of spaces
    # can make one. Dropping it loses nothing a reader would see.
    visible = [part for part in parts if part.strip()]
    return visible or parts[:1]


def pack(replies: list[Reply]) -> list[Reply]:
    """Fewer, fuller messages: a reply with nothing but text joins the next one (sending then cuts the
    text into as few 4096-unit messages as it takes), or starts the next document's caption if it
    fits there. Order and buttons are kept: buttons always end a message."""
    packed: list[Reply] = []
    for reply in replies:
        previous = packed[-1] if packed else None
        if previous is not None and _plain(previous) and previous.text and reply.text:
            joined = previous.text + _PARAGRAPH + reply.text
            if reply.document is None or units(joined) <= CAPTION_LIMIT:
                packed[-1] = replace(reply, text=joined)
                continue
        packed.append(reply)
    return packed


def _plain(reply: Reply) -> bool:
    return not reply.buttons and reply.document is None


def is_message(endpoint: str) -> bool:
    """Bot API methods that put a message in a chat (what Telegram's per-chat limit counts)."""
    name = endpoint.lower()
    return (name.startswith(("send", "copymessage", "forwardmessage")) and name != "sendchataction")


class PacedLimiter(AIORateLimiter):
    """PTB's AIORateLimiter for the overall pace, plus a pace per chat for every chat, private ones too.

    PTB paces only groups per chat. Telegram asks for about one message a second to a private
    chat as well: a /review of nine messages sent back to back drew 429s. The overall bucket holds
    one message, refilled at 95 % of `rate`: evenly spaced instead of PTB's default burst of 30,
    which let up to 60 through in the second after a quiet moment.
    max_retries=0: a 429 comes back to the caller (a direct reply, or the outbox sender), which
    waits it out its own way.
    """

    def __init__(self, rate: float, per_chat_rate: float = 1.0) -> None:
        # rate math.inf (AWARD_SEND_RATE=unlimited): PTB applies no overall limit when the rate is 0.
        paced = math.isfinite(rate)
        super().__init__(overall_max_rate=1 if paced else 0,
                         overall_time_period=1 / (rate * RATE_HEADROOM) if paced else 0, max_retries=0)
        self._per_chat_period = CHAT_BURST / (per_chat_rate * RATE_HEADROOM)
        self._chats: dict[Any, AsyncLimiter] = {}

    def _chat(self, chat_id: Any) -> AsyncLimiter:
        if len(self._chats) > 1024:
            # Forget chats whose bucket has drained: the table does not grow with everyone ever written to.
            self._chats = {key: limiter for key, limiter in self._chats.items()
                           if not limiter.has_capacity(CHAT_BURST)}
        limiter = self._chats.get(chat_id)
        if limiter is None:
            limiter = self._chats[chat_id] = AsyncLimiter(CHAT_BURST, self._per_chat_period)
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        if chat_id is None or not is_message(endpoint):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        # The chat's turn first, then the overall one: a chat waiting for its second does not hold a
        # place in the overall pace that another chat could use.
        async with self._chat(str(chat_id)):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
