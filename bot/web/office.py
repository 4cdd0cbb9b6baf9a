"""The award office's desk on the web (/office): sign-in from a one-time link, the overview, the
applicants' table and an applicant's page. Every request checks that the session's coordinator is
still named in AWARD_COORDINATORS: one removed from the list loses the desk at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jinja2
from aiohttp import web

from bot.criteria import Criteria
from bot.flows import review
from bot.reminders import ReminderPolicy, current_deadline
from bot.storage import ApplicantRow, Storage
from bot.validation import count_chars
from bot.web.office_store import OfficeStore
from bot.web.store import Who
from bot.wording import say

OFFICE_COOKIE = "award_office"
PAGE_ROWS = 50
STATES = ("new", "open", "done", "idle")
SORTS = {"name": lambda r: (r.name or r.display_name), "unit": lambda r: r.unit,
         "answered": lambda r: r.answered, "active": lambda r: r.last_active_at}


@dataclass(frozen=True)
class OfficeSettings:
    coordinators: frozenset[tuple[str, str]]
    policy: ReminderPolicy
    default_deadline: datetime | None = None
    secure_cookie: bool = False


class Desk:
    def __init__(self, storage: Storage, criteria: Criteria, settings: OfficeSettings,
                 templates: jinja2.Environment) -> None:
        self.storage = storage
        self.criteria = criteria
        self.settings = settings
        self.templates = templates
        self.tokens = OfficeStore(storage)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/office/in/{token}", self.sign_in), web.get("/office", self.overview),
                web.get("/office/applicants/{applicant_id}", self.applicant)]

    def page(self, template: str, status: int = 200, **context: Any) -> web.Response:
        html = self.templates.get_template(template).render(award=self.criteria.award, **context)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        who = await self.tokens.use_link(request.match_info["token"])
        if who is None or (who.channel, who.user_id) not in self.settings.coordinators:
            return self.page("message.html", 403, text=say("office_link_refused"))
        response = web.HTTPSeeOther("/office")
        response.set_cookie(OFFICE_COOKIE, await self.tokens.new_session(who), httponly=True, samesite="Lax",
                            path="/office", secure=self.settings.secure_cookie)
        raise response

    async def coordinator(self, request: web.Request) -> Who:
        """The coordinator behind this request, checked against today's list on every request."""
        who = await self.tokens.session(request.cookies.get(OFFICE_COOKIE, ""))
        if who is None:
            raise web.HTTPUnauthorized(text=say("office_signed_out"))
        if (who.channel, who.user_id) not in self.settings.coordinators:
            raise web.HTTPForbidden(text=say("office_not_a_coordinator"))
        return who

    async def overview(self, request: web.Request) -> web.StreamResponse:
        await self.coordinator(request)
        now = datetime.now(UTC)
        rows = await self.storage.applicant_rows()
        counts = {state: sum(1 for r in rows if self.state(r, now) == state or (state == "idle" and self.idle(r, now)))
                  for state in STATES}
        wanted = request.query.get("state", "")
        search = request.query.get("q", "").strip()[:40]
        shown = [r for r in rows if (not wanted or self.state(r, now) == wanted
                                     or (wanted == "idle" and self.idle(r, now)))
                 and (not search or search in f"{r.name} {r.display_name} {r.unit}")]
        sort = request.query.get("sort", "active")
        shown.sort(key=SORTS.get(sort, SORTS["active"]), reverse=sort in ("answered", "active"))
        page = max(0, _int(request.query.get("page")))
        pages = max(1, -(-len(shown) // PAGE_ROWS))
        deadline = await current_deadline(self.storage, self.settings.default_deadline)
        return self.page(
            "office.html", counts=counts, total=len(rows), wanted=wanted, search=search, sort=sort, page=page,
            pages=pages, deadline=deadline.astimezone(self.settings.policy.tz).strftime("%Y-%m-%d %H:%M")
            if deadline else "", days_left=(deadline - now).days if deadline and deadline > now else None,
            rows=[self.row(r, now) for r in shown[page * PAGE_ROWS:(page + 1) * PAGE_ROWS]],
            questions=len(self.criteria.questions))

    async def applicant(self, request: web.Request) -> web.StreamResponse:
        await self.coordinator(request)
        wanted = _int(request.match_info["applicant_id"])
        row = next((r for r in await self.storage.applicant_rows() if r.applicant_id == wanted), None)
        if row is None:
            raise web.HTTPNotFound(text=say("office_no_such_applicant"))
        profile = await self.storage.profile(row.application_id)
        answers = await self.storage.answers(row.application_id)
        return self.page(
            "office_applicant.html", row=self.row(row, datetime.now(UTC)),
            profile=[(f.label, profile.get(f.key, "")) for f in self.criteria.profile],
            answers=[(q.id, review.question_label(self.criteria, q), q.text, answers.get(q.id, ""),
                      count_chars(answers.get(q.id, ""))) for q in self.criteria.questions])

    def state(self, row: ApplicantRow, now: datetime) -> str:
        if row.status == "submitted":
            return "done"
        return "open" if row.answered else "new"

    def idle(self, row: ApplicantRow, now: datetime) -> bool:
        return row.status != "submitted" and self.settings.policy.is_inactive(row, now)

    def row(self, row: ApplicantRow, now: datetime) -> dict[str, Any]:
        labels = {"done": say("co_state_done"), "open": say("co_state_open"), "new": say("co_state_new")}
        state = labels[self.state(row, now)] + (say("co_state_idle_mark") if self.idle(row, now) else "")
        active = datetime.fromisoformat(row.last_active_at).astimezone(self.settings.policy.tz)
        return {"id": row.applicant_id, "name": row.name or row.display_name or say("office_no_name"),
                "unit": row.unit, "channel": row.channel, "state": state, "answered": row.answered,
                "active": active.strftime("%Y-%m-%d %H:%M")}


def _int(value: str | None) -> int:
    return int(value) if value and value.isascii() and value.isdecimal() and len(value) < 9 else 0
