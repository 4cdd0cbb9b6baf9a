"""Everything the bot remembers, in one SQLite file, with all SQL in this module.

One aiosqlite connection runs every statement on one thread, so concurrent coroutines
would share one transaction. A lock therefore wraps every unit of work: one
applicant's rollback can never undo another's answer, and a reader never sees a
half-written transaction of someone else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot import revisions
from bot.files import private_folder
from bot.migrations import FOREIGN_KEYS_OFF, MIGRATIONS, SCHEMA_VERSION, statements

log = logging.getLogger(__name__)

class StorageError(Exception):
    pass


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Applicant:
    id: int
    channel: str
    external_id: str
    display_name: str
    last_active_at: str
    blocked_at: str | None


@dataclass(frozen=True)
class Application:
    id: int
    applicant_id: int
    criteria_id: str
    criteria_version: int
    status: str
    step: str
    mode: str
    submitted_at: str | None
    # The buttons of the latest reply that had any, as JSON (bot/flows/typed.py reads it).
    offered: str = ""


@dataclass(frozen=True)
class Revision:
    text: str
    action: str
    created_at: str


@dataclass(frozen=True)
class Edit:
    """What an edited message did: the answer it changed, or None if a rewrite had replaced it."""

    question_id: str
    answer: str | None
    too_long: bool = False  # not applied: the answer would pass the per-question limit


@dataclass(frozen=True)
class Attachment:
    id: int
    question_id: str
    file_name: str
    mime_type: str
    size: int
    sha256: str
    path: str
    caption: str


@dataclass(frozen=True)
class Document:
    version: int
    kind: str
    path: str
    sha256: str
    created_at: str
    pdf_path: str | None = None
    source_sha256: str | None = None  # digest of the answers it was made from: an unchanged draft is reused


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    channel: str
    recipient: str
    applicant_id: int | None
    broadcast_id: int | None
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: who gets it and what it says."""

    channel: str
    recipient: str
    kind: str
    payload: dict[str, Any]
    applicant_id: int | None = None
    dedupe_key: str | None = None
    not_before: str | None = None
    subject_id: int | None = None  # the applicant a notice is about: erased with them


@dataclass(frozen=True)
class ApplicantRow:
    """One line of the coordinators' overview."""

    applicant_id: int
    application_id: int
    channel: str
    external_id: str
    display_name: str
    name: str
    unit: str
    status: str
    answered: int
    last_active_at: str
    submitted_at: str | None
    blocked_at: str | None
    returned: bool = False  # returned for changes (退回修改) and not resubmitted since
    email: str = ""  # the 申报表's e-mail address, where reminders also go when AWARD_SMTP_URL is set


class Storage:
    def __init__(self, conn: aiosqlite.Connection, path: Path | None = None) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path  # None for an in-memory database

    @classmethod
    async def open(cls, path: str | Path) -> Storage:
        location = None if str(path) == ":memory:" else await asyncio.to_thread(Path(path).absolute)
        try:
            if location is not None:
                if await asyncio.to_thread(Path(path).is_dir):
                    # Said here: a failed aiosqlite.connect leaves its worker thread behind.
                    raise IsADirectoryError(f"{path} 是一个文件夹")
                await asyncio.to_thread(private_folder, location.parent)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing commits behind our back.
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"无法打开数据库 {path}：{exc}") from exc
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            # An erased answer is overwritten with zeros, not left in free pages of the file: some SQLite
            # builds do this by default, others not, and /delete must mean deleted everywhere.
            await conn.execute("PRAGMA secure_delete = ON")
            # 32 MB of page cache instead of 2: a thousand applications' answers stay in memory.
            await conn.execute("PRAGMA cache_size = -32768")
            storage = cls(conn, location)
            await storage._migrate()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StorageError(_open_failure(path, exc)) from exc
        except BaseException:
            await conn.close()
            raise
        return storage

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def _migrate(self) -> None:
        version = await self.schema_version()
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"数据库版本 {version} 比本程序支持的 {SCHEMA_VERSION} 新：请升级 award-bot 后再打开。"
            )
        for number, (_name, script) in enumerate(MIGRATIONS[version:], start=version + 1):
            rebuild = number in FOREIGN_KEYS_OFF
            if rebuild:
                await self._conn.execute("PRAGMA foreign_keys = OFF")
            try:
                async with self._tx() as db:
                    for statement in statements(script):
                        await db.execute(statement)
                    if rebuild and await db.execute_fetchall("PRAGMA foreign_key_check"):
                        raise StorageError(f"升级到数据库版本 {number} 后外键不一致，已撤销升级")
                    await db.execute(f"PRAGMA user_version = {number}")
            finally:
                if rebuild:
                    await self._conn.execute("PRAGMA foreign_keys = ON")

    async def schema_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, alone on the connection, committed before we return."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement on its own, committed by SQLite itself (isolation_level=None): one trip to
        aiosqlite's thread instead of three with BEGIN and COMMIT. Returns the rows changed."""
        async with self._lock:
            cursor = await self._conn.execute(sql, params)
            return cursor.rowcount

    # For the stores of one concern each (bot/web/store.py) that share this connection and its lock.
    transaction = _tx

    async def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._write(sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return await self._fetchall(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        return await self._fetchone(sql, params)

    # execute_fetchall is one trip to aiosqlite's thread; execute + fetch + close would be three,
    # and each trip wakes the event loop (a quarter of the bot's CPU per update went on them).
    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, params))

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        """For queries of one row at most (a key or LIMIT 1)."""
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    # -- applicants and applications ----------------------------------------

    async def applicant(self, channel: str, external_id: str, display_name: str = "") -> Applicant:
        """Find or create the applicant and note that they were active now."""
        now = now_utc()
        async with self._tx() as db:
            await db.execute(
                """INSERT INTO applicants (channel, external_id, display_name, created_at, last_active_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (channel, external_id) DO UPDATE SET
                       last_active_at = excluded.last_active_at,
                       blocked_at = NULL,
                       display_name = CASE WHEN excluded.display_name != ''
                                      THEN excluded.display_name ELSE display_name END""",
                (channel, external_id, display_name, now, now),
            )
            async with db.execute(
                "SELECT * FROM applicants WHERE channel = ? AND external_id = ?", (channel, external_id)
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return _applicant(row)

    async def display_name(self, applicant_id: int) -> str:
        row = await self._fetchone("SELECT display_name FROM applicants WHERE id = ?", (applicant_id,))
        return row["display_name"] if row else ""

    async def mark_blocked(self, channel: str, external_id: str) -> None:
        """The applicant blocked the bot: stop sending until they write again."""
        async with self._tx() as db:
            await db.execute(
                "UPDATE applicants SET blocked_at = ? WHERE channel = ? AND external_id = ?",
                (now_utc(), channel, external_id),
            )

    async def find_applicant(self, channel: str, external_id: str) -> Applicant | None:
        row = await self._fetchone(
            "SELECT * FROM applicants WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return _applicant(row) if row else None

    async def application(self, applicant_id: int) -> Application | None:
        row = await self._fetchone("SELECT * FROM applications WHERE applicant_id = ?", (applicant_id,))
        return _application(row) if row else None

    async def create_application(self, applicant_id: int, criteria_id: str, criteria_version: int) -> Application:
        now = now_utc()
        async with self._tx() as db:
            await db.execute(
                """INSERT INTO applications (applicant_id, criteria_id, criteria_version, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?) ON CONFLICT (applicant_id) DO NOTHING""",
                (applicant_id, criteria_id, criteria_version, now, now),
            )
            async with db.execute("SELECT * FROM applications WHERE applicant_id = ?", (applicant_id,)) as cur:
                row = await cur.fetchone()
        assert row is not None
        return _application(row)

    async def update_application(
        self,
        application_id: int,
        *,
        step: str | None = None,
        mode: str | None = None,
        status: str | None = None,
        offered: str | None = None,
    ) -> None:
        """Move the applicant's place in the interview; fields left as None stay as they are."""
        now = now_utc()
        await self._write(
            """UPDATE applications SET
                   step = COALESCE(?, step),
                   mode = COALESCE(?, mode),
                   offered = COALESCE(?, offered),
                   status = COALESCE(?, status),
                   consent_at = CASE WHEN ? = 'active' AND consent_at IS NULL THEN ? ELSE consent_at END,
                   submitted_at = CASE WHEN ? IS NULL THEN submitted_at
                                       WHEN ? = 'submitted' THEN ? ELSE NULL END,
                   updated_at = ?
               WHERE id = ?""",
            (step, mode, offered, status, status, now, status, status, now, now, application_id),
        )

    # -- profile -----------------------------------------------------------------

    async def set_profile_value(
        self, application_id: int, field: str, value: str, message_ref: str | None = None
    ) -> None:
        async with self._tx() as db:
            await db.execute(
                """INSERT INTO profile_values (application_id, field, value, message_ref, updated_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (application_id, field) DO UPDATE SET
                       value = excluded.value, message_ref = excluded.message_ref,
                       updated_at = excluded.updated_at""",
                (application_id, field, value, message_ref, now_utc()),
            )

    async def profile(self, application_id: int) -> dict[str, str]:
        rows = await self._fetchall(
            "SELECT field, value FROM profile_values WHERE application_id = ?", (application_id,)
        )
        return {row["field"]: row["value"] for row in rows}

    async def profile_field_for_message(self, application_id: int, message_ref: str) -> str | None:
        row = await self._fetchone(
            "SELECT field FROM profile_values WHERE application_id = ? AND message_ref = ?",
            (application_id, message_ref),
        )
        return row["field"] if row else None

    # -- answers -------------------------------------------------------------------

    async def append_answer(
        self, application_id: int, question_id: str, text: str, message_ref: str | None = None
    ) -> str:
        """Add one message to the answer; returns the whole answer as now stored."""
        async with self._tx() as db:
            await _add_segment(db, application_id, question_id, text, message_ref)
            return await _recompose(db, application_id, question_id, "append")

    async def replace_answer(
        self, application_id: int, question_id: str, text: str, message_ref: str | None = None
    ) -> str:
        """Make `text` the whole answer; the earlier text stays in the revision history."""
        async with self._tx() as db:
            await db.execute(
                "UPDATE answer_segments SET superseded = 1 WHERE application_id = ? AND question_id = ?",
                (application_id, question_id),
            )
            await _add_segment(db, application_id, question_id, text, message_ref)
            return await _recompose(db, application_id, question_id, "replace")

    async def edit_message(self, application_id: int, message_ref: str, text: str,
                           max_chars: int | None = None) -> Edit | None:
        """Apply an edited message to the answer it belongs to; None if it never was part of one.

        With max_chars, an edit that would make the answer longer is not applied (Edit.too_long).
        """
        async with self._tx() as db:
            async with db.execute(
                "SELECT id, question_id, superseded FROM answer_segments "
                "WHERE application_id = ? AND message_ref = ? ORDER BY id DESC LIMIT 1",
                (application_id, message_ref),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            if row["superseded"]:
                return Edit(row["question_id"], None)
            if max_chars is not None:
                async with db.execute(
                    "SELECT COALESCE(SUM(LENGTH(text) + 1), 0) FROM answer_segments "
                    "WHERE application_id = ? AND question_id = ? AND superseded = 0 AND id != ?",
                    (application_id, row["question_id"], row["id"]),
                ) as cursor:
                    others = (await cursor.fetchone())[0]
                if others + len(text) > max_chars:
                    return Edit(row["question_id"], None, too_long=True)
            await db.execute("UPDATE answer_segments SET text = ? WHERE id = ?", (text, row["id"]))
            return Edit(row["question_id"], await _recompose(db, application_id, row["question_id"], "edit"))

    async def answer(self, application_id: int, question_id: str) -> str:
        row = await self._fetchone(
            "SELECT text FROM answers WHERE application_id = ? AND question_id = ?",
            (application_id, question_id),
        )
        return row["text"] if row else ""

    async def answers(self, application_id: int) -> dict[str, str]:
        rows = await self._fetchall(
            "SELECT question_id, text FROM answers WHERE application_id = ? AND text != ''", (application_id,)
        )
        return {row["question_id"]: row["text"] for row in rows}

    async def history(self, application_id: int, question_id: str) -> list[Revision]:
        rows = await self._fetchall(
            "SELECT text, keep_prefix, keep_suffix, action, created_at FROM answer_revisions "
            "WHERE application_id = ? AND question_id = ? ORDER BY id",
            (application_id, question_id),
        )
        texts = revisions.whole_texts([_stored(row) for row in rows])
        return [Revision(text, row["action"], row["created_at"]) for text, row in zip(texts, rows, strict=True)]

    # -- attachments and documents ---------------------------------------------------

    async def add_attachment(
        self,
        application_id: int,
        question_id: str,
        *,
        file_name: str,
        mime_type: str,
        size: int,
        sha256: str,
        path: str,
        caption: str = "",
        message_ref: str | None = None,
    ) -> int:
        async with self._tx() as db:
            cursor = await db.execute(
                """INSERT INTO attachments (application_id, question_id, file_name, mime_type, size, sha256,
                                            path, caption, message_ref, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (application_id, question_id, file_name, mime_type, size, sha256, path, caption,
                 message_ref, now_utc()),
            )
            return int(cursor.lastrowid or 0)

    async def attachments(self, application_id: int, question_id: str | None = None) -> list[Attachment]:
        """The files the application has now (removed ones stay in the history only)."""
        sql = "SELECT * FROM attachments WHERE application_id = ? AND removed_at IS NULL"
        params: list[Any] = [application_id]
        if question_id is not None:
            sql += " AND question_id = ?"
            params.append(question_id)
        rows = await self._fetchall(sql + " ORDER BY id", params)
        return [_attachment(r) for r in rows]

    async def remove_attachment(self, application_id: int, attachment_id: int) -> tuple[Attachment, bool] | None:
        """Take a file out of the application (the row stays, with removed_at, as history).

        Returns the file and whether its content is still used by a file someone has (then the file
        on disk must stay); None if the application has no such file now.
        """
        async with self._tx() as db:
            rows = await db.execute_fetchall(
                "SELECT * FROM attachments WHERE id = ? AND application_id = ? AND removed_at IS NULL",
                (attachment_id, application_id),
            )
            if not rows:
                return None
            await db.execute("UPDATE attachments SET removed_at = ? WHERE id = ?", (now_utc(), attachment_id))
            shared = await db.execute_fetchall(
                "SELECT 1 FROM attachments WHERE path = ? AND removed_at IS NULL LIMIT 1", (rows[0]["path"],)
            )
        return _attachment(rows[0]), bool(shared)

    async def add_document(
        self, application_id: int, kind: str, path: str, sha256: str, pdf_path: str | None = None,
        source_sha256: str | None = None,
    ) -> int:
        """Record a generated file; returns its version number (1, 2, …)."""
        async with self._tx() as db:
            async with db.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM documents WHERE application_id = ?",
                (application_id,),
            ) as cursor:
                row = await cursor.fetchone()
            version = int(row[0]) if row else 1
            await db.execute(
                "INSERT INTO documents (application_id, version, kind, path, sha256, created_at, pdf_path, "
                "source_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (application_id, version, kind, path, sha256, now_utc(), pdf_path, source_sha256),
            )
            return version

    async def documents(self, application_id: int) -> list[Document]:
        """Every version made for the application, the newest first (the office's desk lists them)."""
        rows = await self._fetchall("SELECT * FROM documents WHERE application_id = ? ORDER BY version DESC",
                                    (application_id,))
        return [Document(r["version"], r["kind"], r["path"], r["sha256"], r["created_at"], r["pdf_path"],
                         r["source_sha256"]) for r in rows]

    async def latest_document(self, application_id: int) -> Document | None:
        row = await self._fetchone(
            "SELECT * FROM documents WHERE application_id = ? ORDER BY version DESC LIMIT 1", (application_id,)
        )
        if row is None:
            return None
        return Document(row["version"], row["kind"], row["path"], row["sha256"], row["created_at"], row["pdf_path"],
                        row["source_sha256"])

    # -- outbox ------------------------------------------------------------------------

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
        async with self._tx() as db:
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

    # -- settings ------------------------------------------------------------------------

    async def setting(self, key: str) -> str | None:
        row = await self._fetchone("SELECT value FROM settings WHERE key = ?", (key,))
        return row["value"] if row else None

    async def set_setting(self, key: str, value: str | None) -> None:
        async with self._tx() as db:
            if value is None:
                await db.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                await db.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    # -- the coordinators' view ------------------------------------------------------------

    async def applicant_rows(self) -> list[ApplicantRow]:
        """Everyone who consented, most recently active first, with what the overview shows."""
        return await self._applicant_rows("", ())

    async def applicant_row(self, applicant_id: int) -> ApplicantRow | None:
        """One applicant as the overview shows them (the desk's applicant page: not all 2,000 rows)."""
        if not 0 < applicant_id < 2**63:  # a forged id SQLite cannot even hold is nobody
            return None
        rows = await self._applicant_rows("AND a.id = ?", (applicant_id,))
        return rows[0] if rows else None

    async def _applicant_rows(self, where: str, params: Sequence[Any]) -> list[ApplicantRow]:
        rows = await self._fetchall(
            f"""SELECT a.id AS applicant_id, p.id AS application_id, a.channel, a.external_id, a.display_name,
                      a.last_active_at, a.blocked_at, p.status, p.submitted_at,
                      COALESCE((SELECT value FROM profile_values v WHERE v.application_id = p.id
                                AND v.field = 'name'), '') AS name,
                      -- The unit given at registration or invitation (web), until the 申报表 has one.
                      COALESCE(NULLIF((SELECT value FROM profile_values v WHERE v.application_id = p.id
                                       AND v.field = 'unit'), ''),
                               (SELECT w.unit FROM web_people w WHERE a.channel = 'web'
                                AND w.user_id = a.external_id), '') AS unit,
                      (SELECT COUNT(*) FROM answers s WHERE s.application_id = p.id AND s.text != '') AS answered,
                      EXISTS (SELECT 1 FROM returns r WHERE r.application_id = p.id
                              AND r.resolved_at IS NULL) AS returned,
                      COALESCE((SELECT value FROM profile_values v WHERE v.application_id = p.id
                                AND v.field = 'email'), '') AS email
               FROM applicants a JOIN applications p ON p.applicant_id = a.id
               WHERE p.status != 'consent' {where}
               ORDER BY a.last_active_at DESC, a.id""",
            params,
        )
        return [
            ApplicantRow(r["applicant_id"], r["application_id"], r["channel"], r["external_id"], r["display_name"],
                         r["name"], r["unit"], r["status"], r["answered"], r["last_active_at"], r["submitted_at"],
                         r["blocked_at"], bool(r["returned"]), r["email"])
            for r in rows
        ]

    async def personal_data(self, applicant_id: int) -> dict[str, Any]:
        """Everything stored about one applicant, for /mydata (files are listed, not included)."""
        async with self._lock:
            db = self._conn

            async def rows(sql: str, *params: Any) -> list[dict[str, Any]]:
                async with db.execute(sql, params) as cursor:
                    return [dict(row) for row in await cursor.fetchall()]

            [person] = await rows("SELECT channel, external_id, display_name, created_at, last_active_at, blocked_at "
                                  "FROM applicants WHERE id = ?", applicant_id)
            applications = await rows("SELECT id, criteria_id, criteria_version, status, step, consent_at, "
                                      "submitted_at, created_at, updated_at FROM applications WHERE applicant_id = ?",
                                      applicant_id)
            data: dict[str, Any] = {"applicant": person, "applications": []}
            for app in applications:
                app_id = app.pop("id")
                app["profile"] = await rows("SELECT field, value, updated_at FROM profile_values "
                                            "WHERE application_id = ? ORDER BY field", app_id)
                app["answers"] = await rows("SELECT question_id, text, updated_at FROM answers "
                                            "WHERE application_id = ? ORDER BY question_id", app_id)
                app["answer_history"] = _whole_history(await rows(
                    "SELECT question_id, action, text, keep_prefix, keep_suffix, created_at FROM answer_revisions "
                    "WHERE application_id = ? ORDER BY id", app_id))
                app["attachments"] = await rows("SELECT question_id, file_name, mime_type, size, sha256, caption, "
                                                "created_at, removed_at FROM attachments WHERE application_id = ? "
                                                "ORDER BY id", app_id)
                app["documents"] = await rows("SELECT version, kind, created_at FROM documents "
                                              "WHERE application_id = ? ORDER BY version", app_id)
                # 退回修改: the office's comments on their application are about them too.
                app["returned_for_changes"] = await rows(
                    "SELECT r.returned_at, r.resolved_at, c.target, c.comment FROM returns r "
                    "JOIN return_comments c ON c.return_id = r.id WHERE r.application_id = ? ORDER BY r.id, c.rowid",
                    app_id)
                data["applications"].append(app)
            data["messages_from_the_office"] = await rows(
                "SELECT kind, status, created_at, sent_at FROM outbox WHERE applicant_id = ? ORDER BY id", applicant_id)
            # The web channel's own: what they gave at registration, their sessions, the page's conversation.
            who = (person["channel"], person["external_id"])
            data["web"] = {
                "registration": await rows("SELECT display_name, unit, invited, created_at FROM web_people "
                                           "WHERE user_id = ? AND ? = 'web'", who[1], who[0]),
                "links_and_sessions": await rows("SELECT purpose, created_at FROM web_tokens "
                                                 "WHERE channel = ? AND user_id = ? ORDER BY created_at", *who),
                "conversation": await rows("SELECT role, payload, created_at FROM web_messages "
                                           "WHERE channel = ? AND user_id = ? ORDER BY id", *who),
            }
            return data

    async def delete_applicant(self, applicant_id: int, erased_notice: dict[str, Any]) -> Erased:
        """Erase an applicant and everything of theirs, in one transaction.

        Returns the files to remove: their documents, received files nobody else has, and every
        export that holds their document or row. Messages about them to the office keep no
        personal data: their payload becomes `erased_notice`, and one not yet sent is dropped.
        """
        async with self._tx() as db:
            apps = [row[0] for row in await db.execute_fetchall(
                "SELECT id FROM applications WHERE applicant_id = ?", (applicant_id,))]
            marks = ",".join("?" * len(apps))
            files = [row[0] for row in await db.execute_fetchall(
                f"""SELECT path FROM documents WHERE application_id IN ({marks})
                    UNION SELECT pdf_path FROM documents WHERE application_id IN ({marks}) AND pdf_path IS NOT NULL""",
                (*apps, *apps))]
            # Received files: each application has its own copies now, but files kept before that
            # were shared by content: keep one another application still refers to.
            files += [row[0] for row in await db.execute_fetchall(
                f"""SELECT DISTINCT t.path FROM attachments t WHERE t.application_id IN ({marks}) AND NOT EXISTS (
                        SELECT 1 FROM attachments o WHERE o.path = t.path AND o.removed_at IS NULL
                        AND o.application_id NOT IN ({marks}))""",
                (*apps, *apps))]
            exports = await db.execute_fetchall(
                f"""SELECT id, zip_path, xlsx_path FROM exports WHERE id IN (
                        SELECT export_id FROM export_members WHERE application_id IN ({marks}))""",
                apps)
            files += [path for row in exports for path in (row["zip_path"], row["xlsx_path"]) if path]
            await db.execute(f"DELETE FROM exports WHERE id IN ({','.join('?' * len(exports))})",
                             [row["id"] for row in exports])
            await db.execute(
                "UPDATE outbox SET payload = ?, status = CASE WHEN status = 'pending' THEN 'dropped' ELSE status END "
                "WHERE subject_id = ?",
                (json.dumps(erased_notice, ensure_ascii=False), applicant_id),
            )
            # What a web page shows of them (their answers among it) and the links that open it.
            for table in ("web_messages", "web_tokens"):
                await db.execute(f"DELETE FROM {table} WHERE (channel, user_id) IN "
                                 "(SELECT channel, external_id FROM applicants WHERE id = ?)", (applicant_id,))
            await db.execute("DELETE FROM web_people WHERE user_id IN "
                             "(SELECT external_id FROM applicants WHERE id = ? AND channel = 'web')", (applicant_id,))
            # Cascades to the application, profile, answers with their history, attachments,
            # documents and queued messages.
            await db.execute("DELETE FROM applicants WHERE id = ?", (applicant_id,))
        # secure_delete zeroes what the database file frees, but in WAL mode the erased rows also sit
        # in the -wal file until SQLite writes them back: write them back now and empty the log.
        busy = await self._fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        if busy and busy[0][0]:
            log.warning("after an erasure the write-ahead log could not be emptied (a reader was busy); "
                        "it is at the next checkpoint")
        return Erased(files, len(exports))

    async def record_export(self, zip_path: Path, xlsx_path: Path | None, application_ids: Sequence[int]) -> int:
        """Remember an export and whose data it holds, before it is written, so that an applicant's
        /delete removes it too (even one being written at that moment: see export_recorded)."""
        async with self._tx() as db:
            cursor = await db.execute("INSERT INTO exports (zip_path, xlsx_path, created_at) VALUES (?, ?, ?)",
                                      (str(zip_path), str(xlsx_path) if xlsx_path else None, now_utc()))
            await db.executemany("INSERT INTO export_members (export_id, application_id) VALUES (?, ?)",
                                 [(cursor.lastrowid, app_id) for app_id in application_ids])
            return int(cursor.lastrowid or 0)

    async def export_recorded(self, export_id: int) -> bool:
        """False once an erasure removed the export (it held the erased applicant)."""
        return await self._fetchone("SELECT 1 FROM exports WHERE id = ?", (export_id,)) is not None

    async def forget_export(self, export_id: int) -> None:
        await self._write("DELETE FROM exports WHERE id = ?", (export_id,))

    async def database_id(self) -> str:
        """A random id made with the database: its files folder carries it (bot.files.claim_folder)."""
        value = await self.setting("database_id")
        assert value, "migration 7 sets it"
        return value

    async def document_number(self, application_id: int, kind: str, version: int) -> int:
        """Which document of its kind version `version` is for the application: the 2nd draft, the 1st final."""
        row = await self._fetchone(
            "SELECT COUNT(*) FROM documents WHERE application_id = ? AND kind = ? AND version <= ?",
            (application_id, kind, version),
        )
        return max(1, int(row[0])) if row else 1


@dataclass(frozen=True)
class Erased:
    files: list[str]
    exports: int  # exports that held the applicant's data, removed with it


def _open_failure(path: str | Path, exc: sqlite3.DatabaseError) -> str:
    """Why a database could not be opened, as the person starting the bot can act on it."""
    text = str(exc).lower()
    folder = Path(path).parent
    # In WAL mode SQLite must create files beside the database: on a read-only disk even a valid
    # database fails to open ("unable to open database file"), which is no reason to call it broken.
    read_only = folder.is_dir() and not os.access(folder, os.W_OK)
    if read_only or "readonly" in text or "read-only" in text or "read only" in text:
        return (f"数据库 {path} 所在的位置只读，无法写入：请把它放到可写的文件夹（AWARD_DB），"
                "或检查磁盘是否以只读方式挂载。")
    if "disk is full" in text or "disk i/o" in text:
        return f"无法写入数据库 {path}（{exc}）：请检查磁盘空间。"
    if "unable to open" in text:
        return f"无法打开数据库 {path}：请检查文件夹是否存在、是否可写。"
    if "locked" in text or "busy" in text:
        return f"数据库 {path} 正被另一个程序占用，请稍后再试。"
    return f"{path} 不是本程序可用的 SQLite 数据库：{exc}"


def backup_database(source: Path, target: Path) -> dict[str, int]:
    """A consistent copy of a live database, with SQLite's backup API; returns row counts of the copy.

    One step (pages=-1) copies a single snapshot under a read transaction: in WAL mode the bot
    keeps writing meanwhile, and no restart loop can starve the copy as in step-wise backups.
    """
    if not source.exists():
        raise StorageError(f"{source}: 数据库不存在")
    if target.exists():
        raise StorageError(f"{target}: 已存在，为免覆盖请换一个文件名")
    try:
        private_folder(target.parent)
    except OSError as exc:
        raise StorageError(f"{target}: 无法在 {target.parent} 里写文件（{exc.strerror or exc}）") from exc
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    try:
        try:
            live = sqlite3.connect(source, timeout=30)
            live.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        except sqlite3.DatabaseError as exc:
            raise StorageError(_open_failure(source, exc)) from exc
        try:
            copy = sqlite3.connect(partial)
            try:
                live.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
                if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise StorageError(f"{target}: 副本未通过完整性检查")
                counts = {table: copy.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                          for table in ("applicants", "applications", "answers", "attachments", "documents")}
            finally:
                copy.close()
        finally:
            live.close()
        os.replace(partial, target)
    except BaseException:
        # A full disk or an interrupted copy leaves nothing half-written behind.
        for leftover in (partial, partial.with_name(partial.name + "-journal")):
            leftover.unlink(missing_ok=True)
        raise
    return counts


async def _insert_outgoing(db: aiosqlite.Connection, message: Outgoing, broadcast_id: int | None) -> bool:
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


def _outbox(r: aiosqlite.Row) -> OutboxMessage:
    return OutboxMessage(r["id"], r["channel"], r["recipient"], r["applicant_id"], r["broadcast_id"], r["kind"],
                         json.loads(r["payload"]), r["status"], r["attempts"])


async def _add_segment(
    db: aiosqlite.Connection, application_id: int, question_id: str, text: str, message_ref: str | None
) -> None:
    # One statement: every statement is a trip to aiosqlite's thread, and this runs on every answer.
    await db.execute(
        """INSERT INTO answer_segments (application_id, question_id, position, message_ref, text)
           SELECT ?, ?, COALESCE(MAX(position), -1) + 1, ?, ? FROM answer_segments
           WHERE application_id = ? AND question_id = ?""",
        (application_id, question_id, message_ref, text, application_id, question_id),
    )


async def _recompose(db: aiosqlite.Connection, application_id: int, question_id: str, action: str) -> str:
    """Rebuild the answer from its segments and record the result as a revision."""
    rows = await db.execute_fetchall(
        "SELECT text FROM answer_segments WHERE application_id = ? AND question_id = ? AND superseded = 0 "
        "ORDER BY position",
        (application_id, question_id),
    )
    parts = [row["text"] for row in rows]
    text = "\n".join(part for part in parts if part)
    now = now_utc()
    await db.execute(
        """INSERT INTO answers (application_id, question_id, text, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (application_id, question_id) DO UPDATE SET text = excluded.text,
               updated_at = excluded.updated_at""",
        (application_id, question_id, text, now),
    )
    # The version so far becomes what differs from the new one (bot/revisions.py): history stays
    # complete while its size grows with what was changed, not with the answer's length per edit.
    newest = await db.execute_fetchall(
        "SELECT id, text, keep_prefix FROM answer_revisions WHERE application_id = ? AND question_id = ? "
        "ORDER BY id DESC LIMIT 1",
        (application_id, question_id),
    )
    if newest and newest[0]["keep_prefix"] is None:
        change = revisions.delta(newest[0]["text"], text)
        await db.execute(
            "UPDATE answer_revisions SET text = ?, keep_prefix = ?, keep_suffix = ? WHERE id = ?",
            (change.middle, change.prefix, change.suffix, newest[0]["id"]),
        )
    await db.execute(
        "INSERT INTO answer_revisions (application_id, question_id, text, action, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (application_id, question_id, text, action, now),
    )
    return text


def _stored(row: aiosqlite.Row) -> revisions.StoredRevision:
    return revisions.StoredRevision(row["text"], row["keep_prefix"], row["keep_suffix"])


def _whole_history(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Revision rows of several questions (in id order) with each text whole, for /mydata."""
    by_question: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_question.setdefault(row["question_id"], []).append(row)
    for group in by_question.values():
        texts = revisions.whole_texts([revisions.StoredRevision(r["text"], r["keep_prefix"], r["keep_suffix"])
                                       for r in group])
        for row, text in zip(group, texts, strict=True):
            row["text"] = text
    return [{key: value for key, value in row.items() if not key.startswith("keep_")} for row in rows]


def _attachment(r: aiosqlite.Row) -> Attachment:
    return Attachment(r["id"], r["question_id"], r["file_name"], r["mime_type"], r["size"], r["sha256"], r["path"],
                      r["caption"])


def _applicant(row: aiosqlite.Row) -> Applicant:
    return Applicant(row["id"], row["channel"], row["external_id"], row["display_name"],
                     row["last_active_at"], row["blocked_at"])


def _application(row: aiosqlite.Row) -> Application:
    return Application(row["id"], row["applicant_id"], row["criteria_id"], row["criteria_version"],
                       row["status"], row["step"], row["mode"], row["submitted_at"], row["offered"])
