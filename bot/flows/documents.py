"""The applicant's 申报书: drafts, the final version on submission, and sending the latest again.

Rendering and PDF conversion are slow and touch the disk, so they run off the event loop, and
nothing they can fail with leaves the applicant without an answer: a document that cannot be
made is said so (the answers are safe), a PDF that cannot be made leaves the .docx alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

from bot import logs
from bot.criteria import Criteria
from bot.document import TEMPLATE, DocumentError, render_application
from bot.document_context import EvidenceFile
from bot.document_text import safe_file_part
from bot.flows.events import Reply
from bot.pdf import PdfConverter, PdfError
from bot.storage import Application, Document, Storage
from bot.wording import say

log = logging.getLogger(__name__)

# Longest applicant name in a file name: real names are far shorter; the rest keeps names readable.
_NAME_CHARS = 20
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


class Documents:
    def __init__(self, storage: Storage, criteria: Criteria, folder: Path, *, template: Path = TEMPLATE,
                 pdf: PdfConverter | None = None) -> None:
        self.storage = storage
        self.criteria = criteria
        self.folder = folder  # documents/<application id>/<kind>-<time>.docx; absolute: paths are stored
        self.template = template
        self.pdf = pdf  # None: .docx only (LibreOffice missing, or PDFs turned off)
        # Conversions take seconds and run one at a time: their own thread, so that a queue of them
        # never takes the shared pool from file checks and document rendering.
        self._pdf_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")

    def application_folder(self, app: Application) -> Path:
        return self.folder / str(app.id)

    async def make(self, app: Application, kind: str, day: date) -> list[Reply]:
        """Render a new numbered version (a draft, or the final on submission); every version is kept."""
        profile = await self.storage.profile(app.id)
        answers = await self.storage.answers(app.id)
        stored = await self.storage.attachments(app.id)
        files = [EvidenceFile(a.question_id, Path(a.path), a.caption, a.file_name) for a in stored]
        source = hashlib.sha256(json.dumps(
            [kind, str(day), profile, answers, [(a.question_id, a.sha256, a.caption) for a in stored],
             str(self.template)], ensure_ascii=False, sort_keys=True).encode()).hexdigest()
        latest = await self.storage.latest_document(app.id)
        if latest is not None and latest.source_sha256 == source and await asyncio.to_thread(Path(latest.path).exists):
            # Nothing changed since the last one: send it again rather than pile up identical versions.
            return await self.resend(app, latest)
        stem = self.application_folder(app) / f"{kind}-{time.time_ns()}"
        docx = stem.with_suffix(".docx")
        failed = [Reply(say("document_failed_submitted") if kind == "final" else say("document_failed"))]
        try:
            rendered = await asyncio.to_thread(
                render_application, self.criteria, profile, answers, docx,
                attachments=files, day=day, draft=kind == "draft", template=self.template,
            )
        except DocumentError as error:
            log.error("document for application %s failed: %s", app.id, error)
            return failed
        except Exception:
            logs.unexpected(log, "document for application %s failed unexpectedly", app.id)
            return failed
        pdf = await self._pdf(app, docx, stem.with_suffix(".pdf"))
        version = await self.storage.add_document(app.id, kind, str(docx), rendered.sha256,
                                                  str(pdf) if pdf else None, source)
        log.info("document v%s (%s) made for application %s", version, kind, app.id)
        number = await self.storage.document_number(app.id, kind, version)
        return self._replies(await self._name(app, profile), number, kind, docx, pdf)

    async def _pdf(self, app: Application, docx: Path, pdf: Path) -> Path | None:
        """The PDF beside the .docx, or None: whatever goes wrong, the .docx is sent alone."""
        if self.pdf is None:
            return None
        try:
            await asyncio.get_running_loop().run_in_executor(self._pdf_thread, self.pdf.convert, docx, pdf)
        except PdfError as error:
            log.warning("PDF for application %s failed, sending the .docx alone: %s", app.id, error)
            return None
        except Exception:
            logs.unexpected(log, "PDF for application %s failed unexpectedly, sending the .docx alone", app.id)
            return None
        return pdf

    async def _name(self, app: Application, profile: dict[str, str]) -> str:
        """Whose document: the 申报表's 姓名, or before it is filled the name they gave the channel."""
        return profile.get("name") or await self.storage.display_name(app.applicant_id)

    def _replies(self, name: str, number: int, kind: str, docx: Path, pdf: Path | None) -> list[Reply]:
        """The .docx (and PDF) under one readable name; the caption gives the same number as the name."""
        stem = document_stem(name, kind, number)
        if kind == "draft":
            caption = say("document_draft_caption", version=number)
        else:
            caption = say("document_caption", version=number)
        replies = [Reply(caption, document=docx, document_name=f"{stem}.docx")]
        if pdf is not None:
            replies.append(Reply(say("document_pdf_caption"), document=pdf, document_name=f"{stem}.pdf"))
        return replies

    async def resend(self, app: Application, latest: Document) -> list[Reply]:
        pdf = Path(latest.pdf_path) if latest.pdf_path else None
        if pdf is not None and not await asyncio.to_thread(pdf.exists):
            pdf = None
        profile = await self.storage.profile(app.id)
        number = await self.storage.document_number(app.id, latest.kind, latest.version)
        return self._replies(await self._name(app, profile), number, latest.kind, Path(latest.path), pdf)

    async def latest(self, app: Application, day: date) -> list[Reply]:
        """The latest 申报书 again; after submission, the final one (made now if it failed or is gone)."""
        latest = await self.storage.latest_document(app.id)
        exists = latest is not None and await asyncio.to_thread(Path(latest.path).exists)
        if app.status == "submitted" and not (
            exists and latest is not None and latest.kind == "final" and latest.created_at >= (app.submitted_at or "")
        ):
            return await self.make(app, "final", day)
        if latest is None or not exists:
            return [Reply(say("document_none"))]
        return await self.resend(app, latest)


def submission_day(app: Application, now: datetime) -> date:
    """The 申报日期 printed on a final version: the day it was submitted, in the award's time zone."""
    if app.submitted_at:
        return datetime.fromisoformat(app.submitted_at).astimezone(now.tzinfo).date()
    return now.date()


def document_stem(name: str | None, kind: str, number: int) -> str:
    """The file name the applicant sees, without suffix: 申报书-王芳-第2版-草稿 (the n-th of its kind).

    Names go to WeChat, Telegram and Windows folders as they are: whatever the applicant typed as
    their name, no path separator, reserved or control character gets through (../x gives "x"), and
    a pasted essay is cut to a name's length.
    """
    person = safe_file_part(name or "")[:_NAME_CHARS].strip("._")
    if kind == "draft" and person:
        stem = say("document_name_draft", name=person, number=number)
    elif kind == "draft":
        stem = say("document_name_draft_no_name", number=number)
    elif person:
        stem = say("document_name_final", name=person, number=number)
    else:
        stem = say("document_name_final_no_name", number=number)
    # The wording is ours, but a slip there must not make a path either.
    return _UNSAFE.sub("_", stem)
