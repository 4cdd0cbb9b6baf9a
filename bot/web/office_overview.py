"""The desk's first page (/office): the counts, the deadline and the table of every applicant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot import states
from bot.reminders import current_deadline
from bot.storage import ApplicantRow
from bot.web.guard import number
from bot.web.office import Desk
from bot.wording import say

PAGE_ROWS = 50
FILTERS = ("new", "open", "returned", "done", "idle")
SORTS = {"name": lambda r: (r.name or r.display_name), "unit": lambda r: r.unit,
         "answered": lambda r: r.answered, "active": lambda r: r.last_active_at}


class Overview:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/office", self.overview)]

    async def overview(self, request: web.Request) -> web.StreamResponse:
        desk = self.desk
        await desk.coordinator(request)
        now = datetime.now(UTC)
        rows = await desk.storage.applicant_rows()
        counts = {wanted: sum(1 for r in rows if self.matches(r, wanted, now)) for wanted in FILTERS}
        wanted = request.query.get("state", "")
        search = request.query.get("q", "").strip()[:40]
        shown = [r for r in rows if (not wanted or self.matches(r, wanted, now))
                 and (not search or search in f"{r.name} {r.display_name} {r.unit}")]
        sort = request.query.get("sort", "active")
        shown.sort(key=SORTS.get(sort, SORTS["active"]), reverse=sort in ("answered", "active"))
        page = max(0, number(request.query.get("page")))
        pages = max(1, -(-len(shown) // PAGE_ROWS))
        deadline = await current_deadline(desk.storage, desk.settings.default_deadline)
        return desk.page(
            "office.html", counts=counts, total=len(rows), wanted=wanted, search=search, sort=sort, page=page,
            pages=pages, deadline=desk.local(deadline), days_left=(deadline - now).days
            if deadline and deadline > now else None,
            rows=[row_view(desk, r, now) for r in shown[page * PAGE_ROWS:(page + 1) * PAGE_ROWS]],
            questions=len(desk.criteria.questions))

    def matches(self, row: ApplicantRow, wanted: str, now: datetime) -> bool:
        if wanted == "idle":
            return row.status != "submitted" and self.desk.settings.policy.is_inactive(row, now)
        return states.state_of(row) == wanted


def row_view(desk: Desk, row: ApplicantRow, now: datetime) -> dict[str, Any]:
    """An applicant as a row of the table (and the head of their own page)."""
    idle = row.status != "submitted" and desk.settings.policy.is_inactive(row, now)
    return {"id": row.applicant_id, "name": row.name or row.display_name or say("office_no_name"),
            "unit": row.unit, "channel": row.channel, "state": states.state_label(row)
            + (say("co_state_idle_mark") if idle else ""), "returned": row.returned,
            "submitted": row.status == "submitted", "answered": row.answered,
            "active": desk.local(row.last_active_at)}
