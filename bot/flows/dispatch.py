"""Hand events to the interview: one applicant's events strictly in order, applicants side by side."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot import logs
from bot.flows import later
from bot.flows.events import Event, Reply
from bot.wording import say

log = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[list[Reply]]]
T = TypeVar("T")


async def answer_safely(handler: Handler, event: Event) -> list[Reply]:
    """The flows' replies, or, should anything unexpected go wrong, a short apology: never silence.

    Every write commits before the applicant is told of it, so whatever failed, what they were
    told is saved still is. The traceback is logged once; it names the event's kind, never its text.
    """
    try:
        return await handler(event)
    except Exception:
        logs.unexpected(log, "unexpected error handling a %s from %s", type(event).__name__, event.sender.key)
        return [Reply(say("unexpected_error"))]


class Lanes:
    """One lane per key: work in a lane runs strictly in arrival order, lanes run side by side.

    asyncio.Lock wakes waiters first-come first-served, so work queued in one lane keeps its
    order; different keys hold different locks and never wait on each other.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    async def run(self, key: str, work: Awaitable[T]) -> T:
        """`work`, then what it left for later (bot/flows/later.py), before the lane's next work."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                deferred, token = later.collect()
                try:
                    return await work
                finally:
                    later.release(token)
                    await deferred.run()
        finally:
            # Forget idle lanes so the table does not grow with every user ever seen.
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                del self._locks[key]

    @property
    def active(self) -> int:
        return len(self._locks)


class Dispatcher:
    """Runs the interview for each event in its applicant's lane."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._lanes = Lanes()

    async def handle(self, event: Event) -> list[Reply]:
        return await self._lanes.run(event.sender.key, answer_safely(self._handler, event))

    @property
    def active(self) -> int:
        return self._lanes.active
