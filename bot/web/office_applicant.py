"""An applicant's page on the desk: the 申报表, every answer, files and documents; 退回修改 from here."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import coaching, evidence
from bot.flows import returned, review
from bot.flows.documents import document_stem
from bot.mail import EMAIL, copy_of, plausible_address
from bot.reminders import AUTOMATIC, MANUAL
from bot.returns import MAX_COMMENT, PROFILE, Comment, Return, Returns, changes, profile_text, shown
from bot.storage import ApplicantRow
from bot.validation import count_chars
from bot.web.guard import file_response, number
from bot.web.office import Desk
from bot.web.office_overview import channel_labels, row_view
from bot.web.office_round import outbox_status
from bot.wording import say

IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})  # shown in the page; others are downloaded
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SENT_KINDS = (AUTOMATIC, MANUAL, returned.KIND)  # what the page lists as reminders and notices sent

log = logging.getLogger(__name__)


class ApplicantPages:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.returns = Returns(desk.storage)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/office/applicants/{applicant_id}", self.applicant),
                web.post("/office/applicants/{applicant_id}/return", self.give_back),
                web.get("/office/applicants/{applicant_id}/files/{attachment_id}", self.attachment),
                web.get("/office/applicants/{applicant_id}/documents/{version}", self.document)]

    async def applicant(self, request: web.Request, problem: str = "", typed: dict[str, str] | None = None,
                        status: int = 200) -> web.StreamResponse:
        desk = self.desk
        await desk.coordinator(request)
        row = await desk.applicant_row(request)
        storage, criteria = desk.storage, desk.criteria
        snap = await storage.snapshot(row.application_id)
        profile, answers = snap.profile, snap.answers
        found = await asyncio.to_thread(evidence.check_application, criteria, answers, snap.files)
        coached = await asyncio.to_thread(coaching.coach, criteria, answers, snap.files)
        files = await storage.attachments(row.application_id)
        last = await self.returns.latest(row.application_id)
        history = {q.id: await storage.history(row.application_id, q.id) for q in criteria.questions}
        return desk.page(
            "office_applicant.html", status, row=row_view(desk, row, datetime.now(UTC)),
            profile=[(f.label, shown(f, profile.get(f.key, ""))) for f in criteria.profile],
            profile_return=self.returned_view(last, PROFILE, profile_text(criteria, profile)),
            answers=[{"id": q.id, "label": review.question_label(criteria, q), "text": q.text,
                      "answer": answers.get(q.id, ""), "chars": count_chars(answers.get(q.id, "")),
                      "warnings": [say(f"evidence_label_{w.code}") for w in found.get(q.id, [])
                                   if w.code != "empty"],
                      "files": [{"id": f.id, "name": f.file_name, "caption": f.caption,
                                 "image": f.mime_type in IMAGES} for f in files if f.question_id == q.id],
                      "history": [{"when": desk.local(r.created_at), "chars": count_chars(r.text), "text": r.text}
                                  for r in reversed(history[q.id][:-1])],
                      "returned": self.returned_view(last, q.id, answers.get(q.id, ""))}
                     for q in criteria.questions],
            documents=[{"version": d.version, "draft": d.kind == "draft", "pdf": bool(d.pdf_path),
                        "made": desk.local(d.created_at)}
                       for d in await storage.documents(row.application_id)],
            last_return={"when": desk.local(last.returned_at), "open": last.resolved_at is None,
                         "resolved": desk.local(last.resolved_at), "count": len(last.comments)} if last else None,
            coaching=[coaching_view(c) for c in coached],
            sent=await self.sent(row), csrf=desk.csrf(request), nonce=secrets.token_urlsafe(12),
            can_return=row.status == "submitted", problem=problem, typed=typed or {},
            just_returned=request.query.get("done") == "returned", max_comment=MAX_COMMENT)

    def returned_view(self, last: Return | None, target: str, now: str) -> dict[str, Any] | None:
        """A comment of the last return on this question (or the 申报表), and what changed since."""
        comment = last.comment_on(target) if last else None
        if last is None or comment is None:
            return None
        return {"comment": comment.text, "open": last.resolved_at is None, "changed": now != comment.answer_then,
                "diff": changes(comment.answer_then, now)}

    async def sent(self, row: ApplicantRow) -> list[dict[str, str]]:
        """The reminders and notices sent to this applicant, newest first, with how each went."""
        marks = ",".join("?" * len(SENT_KINDS))
        rows = await self.desk.storage.fetchall(
            f"SELECT kind, channel, status, created_at, sent_at FROM outbox WHERE applicant_id = ? "
            f"AND kind IN ({marks}) ORDER BY id DESC LIMIT 50", (row.applicant_id, *SENT_KINDS))
        kinds = {AUTOMATIC: say("office_sent_automatic"), MANUAL: say("office_sent_manual"),
                 returned.KIND: say("office_sent_returned")}
        channels = channel_labels() | {EMAIL: say("office_channel_email")}
        return [{"kind": kinds[r["kind"]], "channel": channels.get(r["channel"], r["channel"]),
                 "status": outbox_status(r["status"]), "when": self.desk.local(r["sent_at"] or r["created_at"])}
                for r in rows]

    async def give_back(self, request: web.Request) -> web.StreamResponse:
        """退回修改: the comments written on the page, the application reopened, the applicant told."""
        desk = self.desk
        who, form = await desk.posted(request)
        row = await desk.applicant_row(request)
        typed = {key[2:]: str(value).strip() for key, value in form.items() if key.startswith("c-")}
        known = {PROFILE} | {q.id for q in desk.criteria.questions}
        written = {target: text for target, text in typed.items() if text and target in known}
        if row.status != "submitted":
            return await self.applicant(request, say("office_return_not_submitted"), typed, 409)
        if not written:
            return await self.applicant(request, say("office_return_no_comment"), typed, 400)
        too_long = [t for t, text in written.items() if len(text) > MAX_COMMENT]
        if too_long:
            return await self.applicant(request, say("office_return_too_long", max=MAX_COMMENT, targets="、".join(
                returned.short(t) for t in returned.ordered(desk.criteria, too_long))), typed, 400)
        profile = await desk.storage.profile(row.application_id)
        answers = await desk.storage.answers(row.application_id)
        comments = [Comment(t, written[t], profile_text(desk.criteria, profile) if t == PROFILE
                            else answers.get(t, "")) for t in returned.ordered(desk.criteria, list(written))]
        first = comments[0].target
        step = f"p:{desk.criteria.profile[0].key}" if first == PROFILE else f"q:{first}"
        draft = Return(0, row.application_id, (who.channel, who.user_id), "", None, tuple(comments))
        nonce = str(form.get("nonce", ""))[:40] or secrets.token_urlsafe(12)
        told = returned.notice(desk.criteria, draft, row.channel, row.external_id, row.applicant_id, nonce)
        notices = [told] if told else []
        if told and desk.settings.email and plausible_address(row.email.strip()):
            notices.append(copy_of(told, row.email.strip()))
        if not await self.returns.give_back(row.application_id, (who.channel, who.user_id), comments, step,
                                            notices):
            return await self.applicant(request, say("office_return_not_submitted"), typed, 409)
        log.info("application %s returned for changes by %s:%s with %d comment(s)", row.application_id,
                 who.channel, who.user_id, len(comments))
        raise web.HTTPSeeOther(f"/office/applicants/{row.applicant_id}?done=returned")

    async def attachment(self, request: web.Request) -> web.StreamResponse:
        """A received file, shown in the page (an image) or downloaded, to a coordinator only."""
        desk = self.desk
        await desk.coordinator(request)
        row = await desk.applicant_row(request)
        wanted = number(request.match_info["attachment_id"])
        found = next((f for f in await desk.storage.attachments(row.application_id) if f.id == wanted), None)
        if found is None:
            raise web.HTTPNotFound(text=say("web_file_gone"))
        return await file_response(Path(found.path), found.file_name, found.mime_type, inline=found.mime_type in IMAGES)

    async def document(self, request: web.Request) -> web.StreamResponse:
        desk = self.desk
        await desk.coordinator(request)
        row = await desk.applicant_row(request)
        version = number(request.match_info["version"])
        found = next((d for d in await desk.storage.documents(row.application_id) if d.version == version), None)
        if found is None:
            raise web.HTTPNotFound(text=say("web_file_gone"))
        pdf = request.query.get("pdf") == "1" and found.pdf_path
        path = Path(found.pdf_path) if pdf and found.pdf_path else Path(found.path)
        nth = await desk.storage.document_number(row.application_id, found.kind, found.version)
        name = document_stem(row.name or row.display_name, found.kind, nth) + path.suffix
        return await file_response(path, name, "application/pdf" if path.suffix == ".pdf" else DOCX)


_MARKS = {"✓": "yes", "◐": "part", "✗": "no"}


def coaching_view(found: coaching.ItemCoaching) -> dict[str, Any]:
    """An item's line of the desk's 评审视角自查: each dimension marked ✓ ◐ ✗, the band, what is missing."""
    label = f"coach_dim_{found.kind}"
    return {"id": found.item.id, "title": found.item.title, "first": found.item.questions[0].id,
            "answered": found.answered, "band": found.band, "open": found.unanswered if found.answered else 0,
            "marks": [(say(f"{label}_{d}"), {"sign": found.mark(d), "kind": _MARKS[found.mark(d)]})
                      for d in found.dimensions],
            "gaps": [say(f"{label}_{d}") for d in found.gaps]}
