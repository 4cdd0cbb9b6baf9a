"""Work that can wait until the applicant has their reply: run right after it, in their lane.

A typed answer is committed before its reply, always. What it sets going for later (the advice
that waits out a pause) need not hold the reply up: the flows hand such work to `later`, and the
applicant's lane (bot/flows/dispatch.Lanes) runs it once the reply is sent, before their next
message is handled, so nothing of theirs ever runs out of order. Where no lane collects (the
terminal, a test calling the interview directly) the work runs at once, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token

from bot import logs

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[None]]


class Deferred:
    """The work one event set going for later; closed once run, when more comes too late to wait."""

    def __init__(self) -> None:
        self.work: list[Work] = []
        self.closed = False

    async def run(self) -> None:
        self.closed = True
        for work in self.work:
            try:
                await work()
            except Exception:  # the person has their reply; the next event will see what is missing
                logs.unexpected(log, "work left for after a reply failed")
        self.work.clear()


_deferred: ContextVar[Deferred | None] = ContextVar("deferred", default=None)


async def later(work: Work) -> None:
    deferred = _deferred.get()
    if deferred is None or deferred.closed:
        await work()
    else:
        deferred.work.append(work)


def collect() -> tuple[Deferred, Token[Deferred | None]]:
    """Start collecting the current event's work for later; `release(token)` stops it."""
    deferred = Deferred()
    return deferred, _deferred.set(deferred)


def release(token: Token[Deferred | None]) -> None:
    _deferred.reset(token)
