"""The applicant's rights over their data: all of it as a file (/mydata), and all of it erased (/delete)."""

from __future__ import annotations

import json
import logging
from typing import Any

from bot import revisions
from bot.storage.connection import Connection
from bot.storage.records import Erased

log = logging.getLogger(__name__)


class RightsMixin(Connection):
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
        async with self._tx(off_loop=True) as db:  # secure_delete overwrites each row erased
            apps = [row[0] for row in await db.execute_fetchall(
                "SELECT id FROM applications WHERE applicant_id = ?", (applicant_id,))]
            for app in apps:  # their answers kept in memory go too (erased by another program: see README)
                self._kept.forget(app)
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
            exports = list(await db.execute_fetchall(
                f"""SELECT id, zip_path, xlsx_path FROM exports WHERE id IN (
                        SELECT export_id FROM export_members WHERE application_id IN ({marks}))""",
                apps))
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

