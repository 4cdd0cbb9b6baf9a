"""An applicant's page on the desk: the 申报表, every answer, files and documents; 退回修改 from here."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot import evidence
from bot.flows import review
from bot.flows.documents import document_stem
from bot.validation import count_chars
from bot.web.guard import file_response, number
from bot.web.office import Desk
from bot.web.office_overview import row_view
from bot.wording import say

IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})  # shown in the page; others are downloaded
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class ApplicantPages:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/office/applicants/{applicant_id}", self.applicant),
                web.get("/office/applicants/{applicant_id}/files/{attachment_id}", self.attachment),
                web.get("/office/applicants/{applicant_id}/documents/{version}", self.document)]

    async def applicant(self, request: web.Request) -> web.StreamResponse:
        desk = self.desk
        await desk.coordinator(request)
        row = await desk.applicant_row(request)
        profile = await desk.storage.profile(row.application_id)
        answers = await desk.storage.answers(row.application_id)
        files = await desk.storage.attachments(row.application_id)
        counts = Counter(f.question_id for f in files)
        found = await asyncio.to_thread(evidence.check_application, desk.criteria, answers, counts)
        return desk.page(
            "office_applicant.html", row=row_view(desk, row, datetime.now(UTC)),
            profile=[(f.label, profile.get(f.key, "")) for f in desk.criteria.profile],
            answers=[{"id": q.id, "label": review.question_label(desk.criteria, q), "text": q.text,
                      "answer": answers.get(q.id, ""), "chars": count_chars(answers.get(q.id, "")),
                      "warnings": [say(f"evidence_label_{w.code}") for w in found.get(q.id, [])
                                   if w.code != "empty"],
                      "files": [{"id": f.id, "name": f.file_name, "caption": f.caption,
                                 "image": f.mime_type in IMAGES} for f in files if f.question_id == q.id]}
                     for q in desk.criteria.questions],
            documents=[{"version": d.version, "draft": d.kind == "draft", "pdf": bool(d.pdf_path),
                        "made": desk.local(d.created_at)}
                       for d in await desk.storage.documents(row.application_id)])

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
