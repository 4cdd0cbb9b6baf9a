"""What the award office reads and keeps: settings, the overview's rows, exports and the database's id."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.storage.connection import Connection, now_utc
from bot.storage.records import ApplicantRow


class OfficeMixin(Connection):
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

    async def database_id(self) -> str:
        """A random id made with the database: its files folder carries it (bot.files.claim_folder)."""
        value = await self.setting("database_id")
        assert value, "migration 7 sets it"
        return value

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

    # -- exports ---------------------------------------------------------------------------

    async def record_export(self, zip_path: Path, xlsx_path: Path | None, application_ids: Sequence[int]) -> int:
        """Remember an export and whose data it holds, before it is written, so that an applicant's
        /delete removes it too (even one being written at that moment: see export_recorded)."""
        async with self._tx(off_loop=True) as db:  # a row per application exported
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
