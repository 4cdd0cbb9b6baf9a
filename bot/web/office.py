"""The award office's desk on the web (/office): sign-in from a one-time link, the overview, the
applicants' table and an applicant's page. Every request checks that the session's coordinator is
still named in AWARD_COORDINATORS: one removed from the list loses the desk at once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import evidence
from bot.criteria import Criteria
from bot.flows import review
from bot.flows.documents import document_stem
from bot.reminders import ReminderPolicy, current_deadline
from bot.storage import ApplicantRow, Storage
from bot.validation import count_chars
from bot.web.guard import file_response, number
from bot.web.office_store import OfficeStore
from bot.web.store import Who
from bot.wording import say

OFFICE_COOKIE = "award_office"
IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})  # shown in the page; others are downloaded
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
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
                 page: Callable[..., web.Response]) -> None:
        self.storage = storage
        self.criteria = criteria
        self.settings = settings
        self.page = page  # the site's: one set of templates and one way of rendering them
        self.tokens = OfficeStore(storage)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/office/in/{token}", self.sign_in), web.get("/office", self.overview),
                web.get("/office/applicants/{applicant_id}", self.applicant),
                web.get("/office/applicants/{applicant_id}/files/{attachment_id}", self.attachment),
                web.get("/office/applicants/{applicant_id}/documents/{version}", self.document)]

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
        page = max(0, number(request.query.get("page")))
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
        row = await self.applicant_row(request)
        profile = await self.storage.profile(row.application_id)
        answers = await self.storage.answers(row.application_id)
        files = await self.storage.attachments(row.application_id)
        counts = Counter(f.question_id for f in files)
        found = await asyncio.to_thread(evidence.check_application, self.criteria, answers, counts)
        tz = self.settings.policy.tz
        return self.page(
            "office_applicant.html", row=self.row(row, datetime.now(UTC)),
            profile=[(f.label, profile.get(f.key, "")) for f in self.criteria.profile],
            answers=[{"id": q.id, "label": review.question_label(self.criteria, q), "text": q.text,
                      "answer": answers.get(q.id, ""), "chars": count_chars(answers.get(q.id, "")),
                      "warnings": [say(f"evidence_label_{w.code}") for w in found.get(q.id, [])
                                   if w.code != "empty"],
                      "files": [{"id": f.id, "name": f.file_name, "caption": f.caption,
                                 "image": f.mime_type in IMAGES} for f in files if f.question_id == q.id]}
                     for q in self.criteria.questions],
            documents=[{"version": d.version, "draft": d.kind == "draft", "pdf": bool(d.pdf_path),
                        "made": datetime.fromisoformat(d.created_at).astimezone(tz).strftime("%Y-%m-%d %H:%M")}
                       for d in await self.storage.documents(row.application_id)])

    async def applicant_row(self, request: web.Request) -> ApplicantRow:
        wanted = number(request.match_info["applicant_id"])
        row = next((r for r in await self.storage.applicant_rows() if r.applicant_id == wanted), None)
        if row is None:
            raise web.HTTPNotFound(text=say("office_no_such_applicant"))
        return row

    async def attachment(self, request: web.Request) -> web.StreamResponse:
        """A received file, shown in the page (an image) or downloaded, to a coordinator only."""
        await self.coordinator(request)
        row = await self.applicant_row(request)
        wanted = number(request.match_info["attachment_id"])
        found = next((f for f in await self.storage.attachments(row.application_id) if f.id == wanted), None)
        if found is None:
            raise web.HTTPNotFound(text=say("web_file_gone"))
        inline = found.mime_type in IMAGES
        return await file_response(Path(found.path), found.file_name, found.mime_type, inline=inline)

    async def document(self, request: web.Request) -> web.StreamResponse:
        await self.coordinator(request)
        row = await self.applicant_row(request)
        version = number(request.match_info["version"])
        found = next((d for d in await self.storage.documents(row.application_id) if d.version == version), None)
        if found is None:
            raise web.HTTPNotFound(text=say("web_file_gone"))
        pdf = request.query.get("pdf") == "1" and found.pdf_path
        path = Path(found.pdf_path) if pdf and found.pdf_path else Path(found.path)
        nth = await self.storage.document_number(row.application_id, found.kind, found.version)
        name = document_stem(row.name or row.display_name, found.kind, nth) + path.suffix
        mime = "application/pdf" if path.suffix == ".pdf" else DOCX
        return await file_response(path, name, mime)

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

