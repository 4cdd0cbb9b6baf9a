"""Applicants, their applications (where each stands in the interview) and the 申报表's values."""

from __future__ import annotations

from bot.storage.connection import Connection, now_utc
from bot.storage.kept import Kept
from bot.storage.records import Applicant, Application, Snapshot, _applicant, _application


class ApplicationsMixin(Connection):
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
    ) -> Application:
        """Move the applicant's place in the interview; fields left as None stay as they are.

        Returns the application as written. LookupError if there is no such application.
        """
        now = now_utc()
        # One statement committed by SQLite itself, as _write does: RETURNING reads the row it wrote,
        # and fetching every row runs the statement to its end, which commits it.
        row = await self._fetchone(
            """UPDATE applications SET
                   step = COALESCE(?, step),
                   mode = COALESCE(?, mode),
                   offered = COALESCE(?, offered),
                   status = COALESCE(?, status),
                   consent_at = CASE WHEN ? = 'active' AND consent_at IS NULL THEN ? ELSE consent_at END,
                   submitted_at = CASE WHEN ? IS NULL THEN submitted_at
                                       WHEN ? = 'submitted' THEN ? ELSE NULL END,
                   updated_at = ?
               WHERE id = ?
               RETURNING *""",
            (step, mode, offered, status, status, now, status, status, now, now, application_id),
        )
        if row is None:
            raise LookupError(f"no application {application_id}")
        return _application(row)

    async def snapshot(self, application_id: int) -> Snapshot:
        """The application, its 申报表, its answers and how many files each question has, all as of one
        moment (no write can fall in between). LookupError if there is no such application."""
        found = await self._snapshot("id", application_id)
        if found is None:
            raise LookupError(f"no application {application_id}")
        return found

    async def snapshot_for(self, applicant_id: int) -> Snapshot | None:
        """The applicant's application as `snapshot` reads it; None before they have one."""
        return await self._snapshot("applicant_id", applicant_id)

    async def _snapshot(self, column: str, key: int) -> Snapshot | None:
        """`column`: id or applicant_id (a literal, no input).

        The application's row is read every time; what it holds (the answers: a whole report on every
        message) only when its revision moved since it was last read (see migration 13)."""
        for _ in range(3):
            row = await self._fetchone(f"SELECT * FROM applications WHERE {column} = ?", (key,))
            if row is None:
                return None
            kept = self._kept.at(row["id"], row["revision"])
            if kept is None:
                # Read the first time (after a start, or long unread): its pages may be on the disk
                # still, and the event loop's thread must not wait for them (bot/storage/fast.py).
                kept = await self._read_items(row["id"], cold=not self._kept.has(row["id"]))
                if kept is None:
                    return None  # erased in between
                self._kept.remember(row["id"], kept)
            if kept.revision == row["revision"]:
                return Snapshot(_application(row), kept.profile, kept.answers, kept.files)
            # Written to between the two statements: read its row again, to be as of one moment.
        assert row is not None and kept is not None
        return Snapshot(_application(row), kept.profile, kept.answers, kept.files)

    async def _read_items(self, application_id: int, cold: bool = False) -> Kept | None:
        """The 申报表, the answers and the files of an application with their revision, in one statement
        (so as of one moment); None if there is no such application."""
        rows = await self._fetchall(
            """SELECT 'revision' AS kind, NULL AS key, revision AS value FROM applications WHERE id = ?1
               UNION ALL
               SELECT 'profile', field, value FROM profile_values WHERE application_id = ?1
               UNION ALL
               SELECT 'answer', question_id, text FROM answers WHERE application_id = ?1 AND text != ''
               UNION ALL
               SELECT 'files', question_id, COUNT(*) FROM attachments
                   WHERE application_id = ?1 AND removed_at IS NULL GROUP BY question_id""",
            (application_id,), off_loop=cold,
        )
        revision: int | None = None
        profile: dict[str, str] = {}
        answers: dict[str, str] = {}
        files: dict[str, int] = {}
        for kind, item, value in rows:
            match kind:
                case "revision":
                    revision = int(value)
                case "profile":
                    profile[item] = value
                case "answer":
                    answers[item] = value
                case "files":
                    files[item] = int(value)
        return None if revision is None else Kept(revision, profile, answers, files)

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
