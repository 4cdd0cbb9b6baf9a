"""The outbox: every message the bot sends, queued before it goes out, grouped into broadcasts; and
the incoming updates already handled (first_sight), so a restart never handles one twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.storage.connection import Connection, Db, now_utc
from bot.storage.records import OutboxMessage, Outgoing, _outbox


class OutboxMixin(Connection):
    async def enqueue(self, message: Outgoing) -> bool:
        """Queue one message; False if one with the same dedupe_key exists already."""
        async with self._tx() as db:
            return await _insert_outgoing(db, message, None)

    async def create_broadcast(
        self, audience: str, messages: list[Outgoing], *, coordinator: tuple[str, str] | None = None
    ) -> tuple[int, int]:
        """Queue a whole broadcast in one transaction: after a crash it is all there or not at all.

        Returns the broadcast's id and how many messages were queued (dedupe keys skip repeats).
        """
        async with self._tx(off_loop=True) as db:  # a thousand rows are not for the event loop's thread
            cursor = await db.execute(
                "INSERT INTO broadcasts (coordinator_channel, coordinator_id, audience, created_at) "
                "VALUES (?, ?, ?, ?)",
                (coordinator[0] if coordinator else None, coordinator[1] if coordinator else None, audience,
                 now_utc()),
            )
            broadcast_id = int(cursor.lastrowid or 0)
            queued = 0
            for message in messages:
                queued += await _insert_outgoing(db, message, broadcast_id)
            if not queued:
                # Nothing new to send: no broadcast, and so no empty report either.
                await db.execute("DELETE FROM broadcasts WHERE id = ?", (broadcast_id,))
            return broadcast_id, queued

    async def next_due(self, now: str | None = None) -> OutboxMessage | None:
        row = await self._fetchone(
            "SELECT * FROM outbox WHERE status = 'pending' AND not_before <= ? ORDER BY not_before, id LIMIT 1",
            (now or now_utc(),),
        )
        return _outbox(row) if row else None

    async def due_messages(self, limit: int = 100) -> list[OutboxMessage]:
        rows = await self._fetchall(
            "SELECT * FROM outbox WHERE status = 'pending' AND not_before <= ? ORDER BY id LIMIT ?",
            (now_utc(), limit),
        )
        return [_outbox(r) for r in rows]

    async def claim(self, message_id: int) -> bool:
        """pending → sending, committed before the request goes out; False if someone else took it."""
        async with self._tx() as db:
            cursor = await db.execute(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
                (message_id,),
            )
            return cursor.rowcount == 1

    async def mark_message(
        self, message_id: int, status: str, *, error: str | None = None, not_before: str | None = None
    ) -> None:
        async with self._tx() as db:
            await db.execute(
                """UPDATE outbox SET status = ?, last_error = COALESCE(?, last_error),
                       not_before = COALESCE(?, not_before),
                       sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
                   WHERE id = ?""",
                (status, error, not_before, status, now_utc(), message_id),
            )

    async def recover_interrupted(self) -> int:
        """After a crash: a message caught mid-send may have been delivered; it is not sent again."""
        async with self._tx() as db:
            cursor = await db.execute(
                "UPDATE outbox SET status = 'uncertain', last_error = 'interrupted while sending' "
                "WHERE status = 'sending'"
            )
            return cursor.rowcount

    async def outbox_counts(self, broadcast_id: int) -> dict[str, int]:
        rows = await self._fetchall(
            "SELECT status, COUNT(*) AS n FROM outbox WHERE broadcast_id = ? GROUP BY status", (broadcast_id,)
        )
        return {row["status"]: row["n"] for row in rows}

    async def finished_unreported_broadcasts(self) -> list[tuple[int, str | None, str | None]]:
        """Broadcasts with nothing left to send whose coordinator has not been told yet."""
        rows = await self._fetchall(
            """SELECT b.id, b.coordinator_channel, b.coordinator_id FROM broadcasts b
               WHERE b.reported_at IS NULL AND NOT EXISTS (
                   SELECT 1 FROM outbox o WHERE o.broadcast_id = b.id AND o.status IN ('pending', 'sending'))
               ORDER BY b.id"""
        )
        return [(row["id"], row["coordinator_channel"], row["coordinator_id"]) for row in rows]

    async def mark_reported(self, broadcast_id: int) -> None:
        async with self._tx() as db:
            await db.execute("UPDATE broadcasts SET reported_at = ? WHERE id = ?", (now_utc(), broadcast_id))

    async def last_message_at(self, applicant_id: int, kinds: tuple[str, ...]) -> str | None:
        """When the latest message of these kinds was due for the applicant (for 'one a day')."""
        marks = ",".join("?" * len(kinds))
        row = await self._fetchone(
            f"SELECT MAX(not_before) AS at FROM outbox WHERE applicant_id = ? AND kind IN ({marks}) "
            "AND status NOT IN ('dropped', 'failed')",  # never reached the person: it does not count
            (applicant_id, *kinds),
        )
        return row["at"] if row else None

    async def message_status(self, dedupe_key: str) -> str | None:
        row = await self._fetchone("SELECT status FROM outbox WHERE dedupe_key = ?", (dedupe_key,))
        return row["status"] if row else None

    async def forget_pending(self, dedupe_prefix: str) -> int:
        """Remove messages still waiting whose key starts so: never sent, no longer wanted (a newer one
        replaces them, perhaps under the same key)."""
        return await self._write(
            "DELETE FROM outbox WHERE status = 'pending' AND substr(dedupe_key, 1, ?) = ?",
            (len(dedupe_prefix), dedupe_prefix))

    async def record_given(self, message: Outgoing) -> None:
        """Note a message as given in a direct reply (dropped from the queue, never sent again)."""
        async with self._tx() as db:
            await _insert_outgoing(db, message, None)
            await db.execute("UPDATE outbox SET status = 'dropped' WHERE dedupe_key = ? AND status = 'pending'",
                             (message.dedupe_key,))

    async def has_message(self, dedupe_key: str) -> bool:
        return await self._fetchone("SELECT 1 FROM outbox WHERE dedupe_key = ?", (dedupe_key,)) is not None

    async def first_sight(self, channel: str, update_id: int) -> bool:
        """Record an incoming update; False if it was handled before (redelivered after a crash).

        Marked before it is handled: a crash in between loses that one update (its sender got no
        reply and sends it again), whereas handling it twice would store an answer twice or skip
        a question.
        """
        first = await self._write(
            "INSERT INTO seen_updates (channel, update_id, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (channel, update_id, now_utc()),
        ) == 1
        if update_id % 1000 == 0:
            # Telegram keeps an update for 24 hours at most: older marks can go.
            cutoff = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")
            await self._write("DELETE FROM seen_updates WHERE seen_at < ?", (cutoff,))
        return first

    async def keep_received(self, update_id: int, payload: str) -> None:
        """An update received by webhook, stored before Telegram is told it arrived (see webhook_unhandled)."""
        await self._write("INSERT INTO webhook_inbox (update_id, payload, received_at) VALUES (?, ?, ?) "
                          "ON CONFLICT DO NOTHING", (update_id, payload, now_utc()))

    async def forget_received(self) -> None:
        """Forget the updates received by webhook that were handled, since they hold what people wrote,
        and any older than a day: Telegram keeps none longer, and the marks of handled updates
        (seen_updates) go after two days, so an older one could no longer be told handled."""
        cutoff = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
        await self._write("DELETE FROM webhook_inbox WHERE received_at < ? OR update_id IN "
                          "(SELECT update_id FROM seen_updates WHERE channel = 'telegram')", (cutoff,))

    async def webhook_unhandled(self) -> list[str]:
        """Updates received by webhook and not handled (the bot stopped in between), oldest first."""
        await self.forget_received()
        rows = await self._fetchall("SELECT payload FROM webhook_inbox ORDER BY update_id")
        return [row["payload"] for row in rows]


async def _insert_outgoing(db: Db, message: Outgoing, broadcast_id: int | None) -> bool:
    """Queue a message inside a transaction already open (see Storage.transaction)."""
    now = now_utc()
    cursor = await db.execute(
        """INSERT INTO outbox (channel, recipient, applicant_id, broadcast_id, kind, payload, dedupe_key,
                               not_before, created_at, subject_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING""",
        (message.channel, message.recipient, message.applicant_id, broadcast_id, message.kind,
         json.dumps(message.payload, ensure_ascii=False), message.dedupe_key, message.not_before or now, now,
         message.subject_id),
    )
    return cursor.rowcount == 1


queue_in = _insert_outgoing  # for a unit of work elsewhere that queues a message with its other writes
