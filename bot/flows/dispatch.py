"""Hand events to the interview: one applicant's events strictly in order, applicants side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.flows.events import Event, Reply

Handler = Callable[[Event], Awaitable[list[Reply]]]


class Dispatcher:
    """Serialises events per applicant.

    asyncio.Lock wakes waiters first-come first-served, so events queued for one applicant
    run in arrival order; different applicants hold different locks and never wait on each other.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    async def handle(self, event: Event) -> list[Reply]:
        key = event.sender.key
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                return await self._handler(event)
        finally:
            # Forget idle applicants so the table does not grow with every user ever seen.
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                del self._locks[key]

    @property
    def active(self) -> int:
        return len(self._locks)
