"""Answers: the messages each is made of, edits of those messages, and every version an answer has had."""

from __future__ import annotations

import aiosqlite

from bot import revisions
from bot.storage.connection import Connection, Db, now_utc
from bot.storage.records import Edit, Revision


class AnswersMixin(Connection):
    async def append_answer(
        self, application_id: int, question_id: str, text: str, message_ref: str | None = None
    ) -> str:
        """Add one message to the answer; returns the whole answer as now stored."""
        async with self._tx() as db:
            before = await _revision(db, application_id)
            await _add_segment(db, application_id, question_id, text, message_ref)
            answer = await _recompose(db, application_id, question_id, "append")
            after = await _revision(db, application_id)
        self._kept.answered(application_id, before, after, question_id, answer)
        return answer

    async def replace_answer(
        self, application_id: int, question_id: str, text: str, message_ref: str | None = None
    ) -> str:
        """Make `text` the whole answer; the earlier text stays in the revision history."""
        async with self._tx() as db:
            before = await _revision(db, application_id)
            await db.execute(
                "UPDATE answer_segments SET superseded = 1 WHERE application_id = ? AND question_id = ?",
                (application_id, question_id),
            )
            await _add_segment(db, application_id, question_id, text, message_ref)
            answer = await _recompose(db, application_id, question_id, "replace")
            after = await _revision(db, application_id)
        self._kept.answered(application_id, before, after, question_id, answer)
        return answer

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
                    total = await cursor.fetchone()
                assert total is not None  # an aggregate always yields a row
                others = total[0]
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


async def _revision(db: Db, application_id: int) -> int:
    """The application's revision inside the transaction (bot/storage/kept.py); -1 if there is none."""
    rows = list(await db.execute_fetchall("SELECT revision FROM applications WHERE id = ?", (application_id,)))
    return int(rows[0][0]) if rows else -1


async def _add_segment(
    db: Db, application_id: int, question_id: str, text: str, message_ref: str | None
) -> None:
    # One statement: every statement is a trip to aiosqlite's thread, and this runs on every answer.
    await db.execute(
        """INSERT INTO answer_segments (application_id, question_id, position, message_ref, text)
           SELECT ?, ?, COALESCE(MAX(position), -1) + 1, ?, ? FROM answer_segments
           WHERE application_id = ? AND question_id = ?""",
        (application_id, question_id, message_ref, text, application_id, question_id),
    )


async def _recompose(db: Db, application_id: int, question_id: str, action: str) -> str:
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
    newest = list(await db.execute_fetchall(
        "SELECT id, text, keep_prefix FROM answer_revisions WHERE application_id = ? AND question_id = ? "
        "ORDER BY id DESC LIMIT 1",
        (application_id, question_id),
    ))
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
