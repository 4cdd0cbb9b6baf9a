"""Files: the evidence an applicant attaches to a question, and the documents (申报书) made for them."""

from __future__ import annotations

from typing import Any

from bot.storage.connection import Connection, now_utc
from bot.storage.records import Attachment, Document, _attachment, _document


class FilesMixin(Connection):
    # -- attachments ---------------------------------------------------------------------

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

    async def attachment_counts(self, application_id: int) -> dict[str, int]:
        """How many files each question of the application has now (questions without any left out)."""
        rows = await self._fetchall(
            "SELECT question_id, COUNT(*) AS n FROM attachments WHERE application_id = ? AND removed_at IS NULL "
            "GROUP BY question_id",
            (application_id,),
        )
        return {row["question_id"]: row["n"] for row in rows}

    async def remove_attachment(self, application_id: int, attachment_id: int) -> tuple[Attachment, bool] | None:
        """Take a file out of the application (the row stays, with removed_at, as history).

        Returns the file and whether its content is still used by a file someone has (then the file
        on disk must stay); None if the application has no such file now.
        """
        async with self._tx() as db:
            rows = list(await db.execute_fetchall(
                "SELECT * FROM attachments WHERE id = ? AND application_id = ? AND removed_at IS NULL",
                (attachment_id, application_id),
            ))
            if not rows:
                return None
            await db.execute("UPDATE attachments SET removed_at = ? WHERE id = ?", (now_utc(), attachment_id))
            shared = await db.execute_fetchall(
                "SELECT 1 FROM attachments WHERE path = ? AND removed_at IS NULL LIMIT 1", (rows[0]["path"],)
            )
        return _attachment(rows[0]), bool(shared)

    # -- documents -----------------------------------------------------------------------

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
        return [_document(r) for r in rows]

    async def latest_document(self, application_id: int) -> Document | None:
        row = await self._fetchone(
            "SELECT * FROM documents WHERE application_id = ? ORDER BY version DESC LIMIT 1", (application_id,)
        )
        return _document(row) if row else None

    async def document_number(self, application_id: int, kind: str, version: int) -> int:
        """Which document of its kind version `version` is for the application: the 2nd draft, the 1st final."""
        row = await self._fetchone(
            "SELECT COUNT(*) FROM documents WHERE application_id = ? AND kind = ? AND version <= ?",
            (application_id, kind, version),
        )
        return max(1, int(row[0])) if row else 1
