"""The desk's table and chart in SQL: filtering, sorting and paging are done by SQLite, not in Python.

At 2,000 applicants a page of the table must not build 2,000 rows to show 50. The one thing SQL
cannot work out, the open evidence warnings of each application, comes from the overview's cache
(`Fingerprints` tells which applications changed since it was filled) and is joined in as JSON.
The SELECT mirrors Storage.applicant_rows: the same applicants (consented), the same columns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.storage import ApplicantRow, Storage

STATES = ("new", "open", "returned", "done", "idle")
CHANNELS = ("telegram", "web", "console")
# Column → SQL; the direction a first click sorts in (names A→Z, numbers and times largest first).
SORTS = {
    "name": ("sort_name", "asc"),
    "unit": ("unit", "asc"),
    "channel": ("channel", "asc"),
    "state": ("state_order", "asc"),
    "answered": ("answered", "desc"),
    "warnings": ("warnings", "desc"),
    "active": ("last_active_at", "desc"),
}

# Per application, from the overview's cache: open evidence warnings and answers given (both need
# every answer's text read, which is what makes a page slow: the cache reads only what changed).
_KNOWN = """
    known AS MATERIALIZED (
        SELECT CAST(key AS INTEGER) AS application_id, json_extract(value, '$[0]') AS warnings,
               json_extract(value, '$[1]') AS answered
        FROM json_each(:known))
"""
_BASE = """
    base AS (
        SELECT a.id AS applicant_id, p.id AS application_id, a.channel, a.external_id, a.display_name,
               a.last_active_at, a.blocked_at, p.status, p.submitted_at,
               COALESCE((SELECT value FROM profile_values v WHERE v.application_id = p.id
                         AND v.field = 'name'), '') AS name,
               COALESCE(NULLIF((SELECT value FROM profile_values v WHERE v.application_id = p.id
                                AND v.field = 'unit'), ''),
                        (SELECT w.unit FROM web_people w WHERE a.channel = 'web' AND w.user_id = a.external_id),
                        '') AS unit,
               COALESCE(k.answered, 0) AS answered, k.warnings,
               EXISTS (SELECT 1 FROM returns r WHERE r.application_id = p.id AND r.resolved_at IS NULL) AS returned,
               COALESCE((SELECT value FROM profile_values v WHERE v.application_id = p.id
                         AND v.field = 'email'), '') AS email
        FROM applicants a JOIN applications p ON p.applicant_id = a.id
             LEFT JOIN known k ON k.application_id = p.id
        WHERE p.status != 'consent')
"""

# What each state filter means, on the columns of _BASE (see bot/states.py: the same rules).
_STATE_SQL = {
    "done": "status = 'submitted'",
    "returned": "status != 'submitted' AND returned",
    "open": "status != 'submitted' AND NOT returned AND answered > 0",
    "new": "status != 'submitted' AND NOT returned AND answered = 0",
    "idle": "status != 'submitted' AND last_active_at <= :idle_before",
}


@dataclass(frozen=True)
class TableQuery:
    state: str = ""  # one of STATES, or '' for everyone
    channel: str = ""  # one of CHANNELS, or ''
    search: str = ""  # part of the name, the chat name or the unit
    sort: str = "active"
    descending: bool = True
    page: int = 0  # from 0


@dataclass(frozen=True)
class TableRow:
    row: ApplicantRow
    warnings: int | None  # None: not worked out yet


Known = Mapping[int, tuple[int, int]]  # application id → (open evidence warnings, answers given)


def idle_before(now: datetime, inactive_days: int) -> str:
    """Last active at or before this (as stored: UTC, ISO, seconds) is 长期未活动 (ReminderPolicy.is_inactive)."""
    return (now - timedelta(days=inactive_days)).isoformat(timespec="seconds")


def known_json(known: Known) -> str:
    return json.dumps({str(app): list(values) for app, values in known.items()}, separators=(",", ":"))


async def counts(storage: Storage, known: str, now: datetime, inactive_days: int) -> dict[str, int]:
    """How many applicants are in each state (and 长期未活动), and in all. `known`: known_json's."""
    sums = ", ".join(f"COALESCE(SUM({sql}), 0) AS {name}" for name, sql in _STATE_SQL.items())
    row = await storage.fetchone(f"WITH {_KNOWN}, {_BASE} SELECT COUNT(*) AS total, {sums} FROM base",
                                 {"idle_before": idle_before(now, inactive_days), "known": known})
    return {key: int(row[key]) if row else 0 for key in ("total", *STATES)}


async def table(storage: Storage, query: TableQuery, known: str, now: datetime, inactive_days: int,
                page_rows: int) -> tuple[list[TableRow], int]:
    """One page of the table and how many rows match in all. `known`: known_json's."""
    where, params = ["1"], {"idle_before": idle_before(now, inactive_days), "limit": page_rows,
                            "offset": query.page * page_rows, "known": known}
    if query.state in _STATE_SQL:
        where.append(f"({_STATE_SQL[query.state]})")
    if query.channel in CHANNELS:
        where.append("channel = :channel")
        params["channel"] = query.channel
    if query.search:
        where.append("instr(name || ' ' || display_name || ' ' || unit, :search) > 0")
        params["search"] = query.search
    column, _first = SORTS.get(query.sort, SORTS["active"])
    direction = "DESC" if query.descending else "ASC"
    rows = await storage.fetchall(
        f"""WITH {_KNOWN}, {_BASE}
            SELECT base.*, COALESCE(NULLIF(name, ''), display_name) AS sort_name,
                   CASE WHEN status = 'submitted' THEN 3 WHEN returned THEN 2 WHEN answered > 0 THEN 1 ELSE 0 END
                       AS state_order,
                   COUNT(*) OVER () AS matching
            FROM base WHERE {" AND ".join(where)}
            ORDER BY {"COALESCE(warnings, -1)" if column == "warnings" else column} {direction},
                     applicant_id {direction}
            LIMIT :limit OFFSET :offset""",
        params)
    total = int(rows[0]["matching"]) if rows else await _matching(storage, where, params)
    return [TableRow(_row(r), r["warnings"]) for r in rows], total


async def _matching(storage: Storage, where: list[str], params: dict[str, Any]) -> int:
    """How many match when the page asked for is past the last (COUNT OVER gives nothing then)."""
    row = await storage.fetchone(f"WITH {_KNOWN}, {_BASE} SELECT COUNT(*) FROM base WHERE {' AND '.join(where)}",
                                 params)
    return int(row[0]) if row else 0


async def change_mark(storage: Storage) -> str:
    """Changes whenever any answer, file or consented application changes: while it stays the same,
    no application's fingerprint can have changed. Every change of an answer adds a revision."""
    row = await storage.fetchone(
        """SELECT (SELECT COALESCE(MAX(id), 0) FROM answer_revisions) || '|' ||
                  (SELECT COUNT(*) || '/' || COALESCE(SUM(id), 0) FROM attachments WHERE removed_at IS NULL)
                  || '|' || (SELECT COUNT(*) || '/' || COALESCE(SUM(id), 0) FROM applications
                             WHERE status != 'consent')""")
    return str(row[0]) if row else ""


async def fingerprints(storage: Storage) -> dict[int, str]:
    """Per application, what its warnings and answer count depend on: its answers' latest revision
    and its files. A different fingerprint means they must be worked out again."""
    rows = await storage.fetchall(
        """SELECT p.id,
                  COALESCE((SELECT MAX(id) FROM answer_revisions r WHERE r.application_id = p.id), 0) || '|' ||
                  COALESCE((SELECT COUNT(*) || '/' || SUM(id) FROM attachments t
                            WHERE t.application_id = p.id AND t.removed_at IS NULL), '') AS print
           FROM applications p WHERE p.status != 'consent'""")
    return {int(r[0]): str(r[1]) for r in rows}


async def evidence_inputs(storage: Storage, application_ids: list[int]
                          ) -> dict[int, tuple[dict[str, str], dict[str, int]]]:
    """Answers and file counts per question of these applications, in two queries."""
    found: dict[int, tuple[dict[str, str], dict[str, int]]] = {i: ({}, {}) for i in application_ids}
    for start in range(0, len(application_ids), 500):  # SQLite's limit on ? in one statement
        chunk = application_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for r in await storage.fetchall(
                f"SELECT application_id, question_id, text FROM answers WHERE application_id IN ({marks}) "
                "AND text != ''", chunk):
            found[r[0]][0][r[1]] = r[2]
        for r in await storage.fetchall(
                f"SELECT application_id, question_id, COUNT(*) FROM attachments WHERE application_id IN ({marks}) "
                "AND removed_at IS NULL GROUP BY application_id, question_id", chunk):
            found[r[0]][1][r[1]] = int(r[2])
    return found


async def progress_stamps(storage: Storage) -> tuple[list[str], list[str]]:
    """When each application was started (consent) and when each is submitted now (a resubmission:
    its latest submission), as stored (UTC)."""
    started = await storage.fetchall(
        "SELECT consent_at FROM applications WHERE consent_at IS NOT NULL AND status != 'consent'")
    submitted = await storage.fetchall(
        "SELECT submitted_at FROM applications WHERE submitted_at IS NOT NULL AND status = 'submitted'")
    return [r[0] for r in started], [r[0] for r in submitted]


def _row(r: Any) -> ApplicantRow:
    return ApplicantRow(
        applicant_id=r["applicant_id"], application_id=r["application_id"], channel=r["channel"],
        external_id=r["external_id"], display_name=r["display_name"], name=r["name"], unit=r["unit"],
        status=r["status"], answered=r["answered"], last_active_at=r["last_active_at"],
        submitted_at=r["submitted_at"], blocked_at=r["blocked_at"], returned=bool(r["returned"]), email=r["email"])
