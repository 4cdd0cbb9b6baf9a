"""The one sender of everything that is not a direct reply: reminders, notices, reports.

It takes messages from the outbox in storage, one at a time, at most `rate` per second overall
and one per second per chat, as Telegram asks. Each message is marked 'sending' (committed)
before its request goes out, so after a crash nothing is sent twice:

- delivered                              → sent
- 429 Too Many Requests                  → pending again after retry_after; the sender pauses
- the user blocked the bot               → blocked (and the applicant is marked)
- failed before it reached Telegram      → pending again with backoff; failed after max_attempts
- may have reached Telegram (a timeout)  → uncertain: never repeated. A reminder twice is worse
                                           than one the coordinator sees reported as uncertain.
- refused by Telegram (bad request)      → failed
- caught 'sending' by a crash            → uncertain on restart, for the same reason

Before a message is taken, an optional gate may hold it back (a reminder in quiet hours waits
for the morning) or drop it (its applicant submitted while it waited) → dropped, never sent.

When a broadcast has nothing left to send, its coordinator gets a report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.clock import stamp
from bot.storage import OutboxMessage, Outgoing, Storage
from bot.wording import say

log = logging.getLogger(__name__)

# The terminal's channel: nothing is delivered there later (it has no push), so nobody on it is sent
# notices through the outbox; its /start and /admin show what there is. (bot.flows.events re-exports it.)
UNREACHABLE = "console"


@dataclass(frozen=True)
class Postpone:
    """Not now: due again at `until`."""

    until: datetime


@dataclass(frozen=True)
class Drop:
    """No longer wanted: never send it."""

    reason: str


# Asked about each due message just before it is taken: None sends it.
Gate = Callable[[OutboxMessage, datetime], Awaitable[Postpone | Drop | None]]


class DeliveryError(Exception):
    """Why a message was not (surely) delivered; raised by a transport."""


class RecipientBlocked(DeliveryError):
    pass


class RateLimited(DeliveryError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class NotSent(DeliveryError):
    """The request never reached the other side: safe to try again."""


class MaybeSent(DeliveryError):
    """The request went out and the answer was lost: it may have been delivered."""


class Refused(DeliveryError):
    """The other side refused the message for good (e.g. chat not found)."""


Transport = Callable[[OutboxMessage], Awaitable[None]]


class OutboxSender:
    def __init__(self, storage: Storage, transport: Transport, *, rate: float = 30.0,
                 per_chat_interval: float = 1.0, max_attempts: int = 10, poll_interval: float = 0.5,
                 gate: Gate | None = None) -> None:
        self.storage = storage
        self.gate = gate
        self.transport = transport
        self.interval = 1.0 / rate
        self.per_chat_interval = per_chat_interval
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self._next_slot = 0.0
        self._chat_free: dict[str, float] = {}
        self._paused_until = 0.0
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        interrupted = await self.storage.recover_interrupted()
        if interrupted:
            log.warning("%d message(s) were being sent when the bot stopped: marked uncertain, not repeated",
                        interrupted)
        while not self._stop.is_set():
            try:
                sent = await self.send_due()
            except Exception:
                # A failing database or transport must not end reminders for good.
                log.exception("outbox sender failed; trying again shortly")
                sent = 0
            if sent == 0 and not self._stop.is_set():
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                except TimeoutError:
                    pass

    async def send_due(self) -> int:
        """Send what is due now, one by one; returns how many were attempted."""
        attempted = 0
        while not self._stop.is_set():
            message = await self.storage.next_due(stamp(_now()))
            if message is None:
                break
            if not await self._still_wanted(message):
                continue
            waited = await self._pace(f"{message.channel}:{message.recipient}")
            if self._stop.is_set():
                break
            # A long wait (a 429's retry_after) can carry it into quiet hours or past a submission.
            if waited > 1.0 and not await self._still_wanted(message):
                continue
            if len(self._chat_free) > 10_000:  # only the last second matters
                self._chat_free.clear()
            if not await self.storage.claim(message.id):
                continue
            attempted += 1
            await self._deliver(message)
        await self._report_finished()
        return attempted

    async def _still_wanted(self, message: OutboxMessage) -> bool:
        """Ask the gate; a message it holds back or drops is marked so, and False returned."""
        if self.gate is None:
            return True
        now = _now()
        verdict = await self.gate(message, now)
        if isinstance(verdict, Postpone):
            # Never earlier than a second from now, or a wrong answer would spin on this message.
            later = max(verdict.until, now + timedelta(seconds=1))
            await self.storage.mark_message(message.id, "pending", not_before=stamp(later))
            return False
        if isinstance(verdict, Drop):
            await self.storage.mark_message(message.id, "dropped", error=verdict.reason)
            return False
        return True

    async def _pace(self, chat: str) -> float:
        """Wait for this chat's and the overall next slot; returns the seconds waited."""
        loop = asyncio.get_running_loop()
        wait = max(self._next_slot, self._chat_free.get(chat, 0.0), self._paused_until) - loop.time()
        if wait > 0:
            # Interruptible: stop() must not wait out a long retry_after.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
        started = loop.time()
        self._next_slot = started + self.interval
        self._chat_free[chat] = started + self.per_chat_interval
        return max(wait, 0.0)

    async def _deliver(self, message: OutboxMessage) -> None:
        try:
            await self.transport(message)
        except RateLimited as error:
            loop = asyncio.get_running_loop()
            self._paused_until = max(self._paused_until, loop.time() + error.seconds)
            await self.storage.mark_message(message.id, "pending", error="429",
                                            not_before=stamp(_now() + timedelta(seconds=error.seconds)))
        except RecipientBlocked:
            await self.storage.mark_message(message.id, "blocked", error="blocked by the user")
            await self.storage.mark_blocked(message.channel, message.recipient)
            if message.applicant_id is None:
                log.warning("a %s for the award office could not be delivered: the recipient has not started "
                            "the bot or blocked it", message.kind)
        except NotSent as error:
            if message.attempts + 1 >= self.max_attempts:
                await self.storage.mark_message(message.id, "failed", error=f"not sent: {error}")
            else:
                backoff = min(2 ** (message.attempts + 1), 300)
                await self.storage.mark_message(message.id, "pending", error=f"not sent: {error}",
                                                not_before=stamp(_now() + timedelta(seconds=backoff)))
        except MaybeSent as error:
            await self.storage.mark_message(message.id, "uncertain", error=f"may have been sent: {error}")
        except Refused as error:
            log.error("message %s refused: %s", message.id, error)
            await self.storage.mark_message(message.id, "failed", error=f"refused: {error}")
        except Exception as error:
            # A transport bug must not leave the message 'sending' until the next restart.
            log.exception("message %s: unexpected failure", message.id)
            await self.storage.mark_message(message.id, "failed", error=f"{type(error).__name__}")
        else:
            await self.storage.mark_message(message.id, "sent")

    async def _report_finished(self) -> None:
        for broadcast_id, channel, coordinator in await self.storage.finished_unreported_broadcasts():
            # Imported here: bot.mail builds on this module.
            from bot.mail import email_report, report_counts

            counts = await self.storage.outbox_counts(broadcast_id)
            chats, mails = await report_counts(self.storage, broadcast_id)  # people in their chat; e-mails apart
            # A coordinator in the terminal is not written to later: the desk's report page says it.
            if channel and coordinator and channel != UNREACHABLE:
                text = say("broadcast_report", sent=chats.get("sent", 0), blocked=chats.get("blocked", 0),
                           failed=chats.get("failed", 0), uncertain=chats.get("uncertain", 0))
                if chats.get("dropped"):
                    text += "\n" + say("broadcast_report_dropped", dropped=chats["dropped"])
                if mails:
                    text += "\n" + email_report(mails)
                await self.storage.enqueue(Outgoing(channel, coordinator, "report", {"text": text},
                                                    dedupe_key=f"report:{broadcast_id}"))
            await self.storage.mark_reported(broadcast_id)
            log.info("broadcast %s finished: %s", broadcast_id, counts)


def _now() -> datetime:
    return datetime.now(UTC)
