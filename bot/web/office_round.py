"""The round from the desk: the deadline, reminders by hand, and the export of everything.

The same rules and the same storage as the chat's /deadline, /remind and /export (bot/flows/coordinator.py):
the deadline is the one setting both read, a reminder goes through the outbox with the chat's
dedupe keys (a confirm sent twice queues nothing the second time), and the export is the same
ZIP and 汇总.xlsx in the same folder. Every change is a POST with the session's CSRF token from this
site, answered with a redirect to a page (post/redirect/get): a reload never does it twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot import logs
from bot.export import ExportResult, export_all
from bot.files import default_data_dir
from bot.reminders import (
    DEADLINE_SETTING,
    audience_rows,
    current_deadline,
    gap_of,
    parse_deadline,
    queue_manual,
    reminder_text,
)
from bot.storage import ApplicantRow
from bot.web.guard import file_response, number
from bot.web.office import Desk
from bot.wording import say

log = logging.getLogger(__name__)

NONCE = re.compile(r"[0-9a-f]{8,32}")
NAMES_SHOWN = 30  # a preview names this many recipients, then says how many more
OUTBOX_STATES = ("sent", "pending", "sending", "failed", "blocked", "dropped", "uncertain")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class ExportRun:
    """The export being built, or the last one: in memory only (a restart forgets it, the files stay)."""

    started: datetime
    done: int = 0
    total: int = 0
    task: asyncio.Task[None] | None = None
    result: ExportResult | None = None
    failed: bool = False
    finished: datetime | None = None
    by: str = ""

    def progress(self, done: int, total: int) -> None:
        """Called from export_all's worker thread: two ints stored, nothing more."""
        self.done, self.total = done, total

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


class Round:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.export: ExportRun | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/office/deadline", self.deadline_page), web.post("/office/deadline", self.deadline_change),
                web.get("/office/remind", self.remind_page), web.post("/office/remind", self.remind_confirm),
                web.get("/office/remind/{broadcast_id}", self.remind_report),
                web.get("/office/export", self.export_page), web.post("/office/export", self.export_start),
                web.get("/office/export/zip", self.export_zip), web.get("/office/export/xlsx", self.export_xlsx)]

    def message(self, status: int, text: str, nav: str, back: str) -> web.Response:
        """A short word instead of what was asked, with the way back."""
        return self.desk.page("office_round_message.html", status, text=text, nav=nav, back=back)

    # -- the deadline -------------------------------------------------------------------

    async def deadline_page(self, request: web.Request, *, error: str = "", typed: str = "",
                            status: int = 200) -> web.Response:
        desk = self.desk
        await desk.coordinator(request)
        now = datetime.now(UTC)
        stored = await desk.storage.setting(DEADLINE_SETTING)
        deadline = await current_deadline(desk.storage, desk.settings.default_deadline)
        done = {"set": say("office_deadline_was_set"), "cleared": say("office_deadline_was_cleared")}
        return desk.page(
            "office_round_deadline.html", status, nav="deadline", csrf=desk.csrf(request), error=error, typed=typed,
            notice=done.get(request.query.get("done", ""), "") if not error else "",
            deadline=desk.local(deadline), stored=bool(stored),
            configured=desk.local(desk.settings.default_deadline),
            days_left=(deadline - now).days if deadline and deadline > now else None,
            passed=deadline is not None and deadline <= now,
            days_before="、".join(str(d) for d in desk.settings.policy.days_before))

    async def deadline_change(self, request: web.Request) -> web.StreamResponse:
        desk = self.desk
        who, form = await desk.posted(request)
        if form.get("action") == "clear":
            await desk.storage.set_setting(DEADLINE_SETTING, None)
            log.info("deadline cleared on the desk by %s:%s", who.channel, who.user_id)
            raise web.HTTPSeeOther("/office/deadline?done=cleared")
        typed = str(form.get("deadline", ""))[:40]
        parsed = parse_deadline(typed, desk.settings.policy.tz)
        if parsed is None:
            return await self.deadline_page(request, error=say("co_deadline_invalid"), typed=typed, status=400)
        if parsed <= datetime.now(UTC):
            return await self.deadline_page(request, error=say("co_deadline_past", deadline=desk.local(parsed)),
                                            typed=typed, status=400)
        await desk.storage.set_setting(DEADLINE_SETTING, parsed.isoformat())
        log.info("deadline set on the desk to %s by %s:%s", parsed.isoformat(), who.channel, who.user_id)
        raise web.HTTPSeeOther("/office/deadline?done=set")

    # -- reminders by hand ------------------------------------------------------------------

    async def remind_page(self, request: web.Request) -> web.StreamResponse:
        """Without ?audience: whom to remind. With it: the preview, and the form that confirms it."""
        desk = self.desk
        await desk.coordinator(request)
        now = datetime.now(UTC)
        policy = desk.settings.policy
        rows = await desk.storage.applicant_rows()
        audience = request.query.get("audience", "")
        if not audience:
            return desk.page("office_round_remind.html", nav="remind", preview=None,
                             unsubmitted=len(audience_rows(rows, "unsubmitted", policy, now)),
                             inactive=len(audience_rows(rows, "inactive", policy, now)), days=policy.inactive_days)
        if not _known_audience(audience):
            return self.message(400, say("office_remind_unknown"), "remind", "/office/remind")
        recipients = audience_rows(rows, audience, policy, now)
        if not recipients:
            return self.message(200, say("co_remind_nobody"), "remind", "/office/remind")
        deadline = await current_deadline(desk.storage, desk.settings.default_deadline)
        names = [_name(r) for r in recipients]
        return desk.page(
            "office_round_remind.html", nav="remind", csrf=desk.csrf(request), audience=audience,
            preview={"count": len(recipients), "names": "、".join(names[:NAMES_SHOWN]),
                     "more": max(0, len(names) - NAMES_SHOWN), "label": self.audience_label(audience, recipients),
                     "sample": reminder_text("manual", desk.criteria, recipients[0], deadline, policy.tz,
                                             gap=await gap_of(desk.storage, desk.criteria, recipients[0])),
                     "sample_name": names[0],
                     "quiet": desk.local(policy.quiet_over(now)) if policy.is_quiet(now) else ""},
            # A new one for each preview: the confirm of this preview, sent twice, is one broadcast.
            nonce=secrets.token_hex(8))

    def audience_label(self, audience: str, recipients: list[ApplicantRow]) -> str:
        if audience == "unsubmitted":
            return say("office_remind_to_unsubmitted")
        if audience == "inactive":
            return say("office_remind_to_inactive", days=self.desk.settings.policy.inactive_days)
        return say("office_remind_to_one", name=_name(recipients[0]))

    async def remind_confirm(self, request: web.Request) -> web.StreamResponse:
        desk = self.desk
        who, form = await desk.posted(request)
        audience, nonce = str(form.get("audience", "")), str(form.get("nonce", ""))
        if not _known_audience(audience) or not NONCE.fullmatch(nonce):
            return self.message(400, say("office_remind_unknown"), "remind", "/office/remind")
        now = datetime.now(UTC)
        policy = desk.settings.policy
        # As the chat's confirm does (Coordinator._remind_confirm): the same messages, keys and outbox.
        broadcast, queued = await queue_manual(desk.storage, desk.criteria, policy, desk.settings.default_deadline,
                                               audience, nonce, (who.channel, who.user_id), now,
                                               email=desk.settings.email)
        if broadcast:
            if queued:
                log.info("coordinator %s:%s queued %d reminders on the desk (%s)", who.channel, who.user_id,
                         queued, audience)
                raise web.HTTPSeeOther(f"/office/remind/{broadcast}")
        # Confirmed before (a double click, a reload that re-posted): that broadcast's report.
        earlier = await desk.storage.fetchone(
            "SELECT broadcast_id FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ? AND broadcast_id IS NOT NULL "
            "LIMIT 1", (f"manual:{nonce}:", f"manual:{nonce};"))
        if earlier is not None:
            raise web.HTTPSeeOther(f"/office/remind/{earlier[0]}")
        return self.message(200, say("co_remind_nobody"), "remind", "/office/remind")

    async def remind_report(self, request: web.Request) -> web.StreamResponse:
        desk = self.desk
        await desk.coordinator(request)
        wanted = number(request.match_info["broadcast_id"])
        broadcast = await desk.storage.fetchone(
            "SELECT id, audience, created_at FROM broadcasts WHERE id = ?", (wanted,))
        if broadcast is None:
            return self.message(404, say("office_remind_no_report"), "remind", "/office/remind")
        counts = await desk.storage.outbox_counts(wanted)
        waiting = counts.get("pending", 0) + counts.get("sending", 0)
        now = datetime.now(UTC)
        policy = desk.settings.policy
        return desk.page(
            "office_round_report.html", nav="remind", refresh=waiting > 0, waiting=waiting,
            total=sum(counts.values()), made=desk.local(broadcast["created_at"]),
            lines=[(outbox_status(s), counts.get(s, 0)) for s in OUTBOX_STATES
                   if counts.get(s) or s in ("sent", "pending")],
            quiet=desk.local(policy.quiet_over(now)) if waiting and policy.is_quiet(now) else "")

    # -- the export ---------------------------------------------------------------------------

    def exports_folder(self) -> Path:
        """Where the chat's /export writes too (cli_start.make_flows: the files folder's exports)."""
        files = self.desk.settings.files
        return (files or default_data_dir(self.desk.storage.path)) / "exports"

    async def export_page(self, request: web.Request) -> web.StreamResponse:
        desk = self.desk
        await desk.coordinator(request)
        run = self.export or await self.earlier()
        view = None
        if run is not None:
            result = run.result
            view = {"running": run.running, "done": run.done, "total": run.total, "failed": run.failed,
                    "started": desk.local(run.started), "finished": desk.local(run.finished),
                    "applicants": result.applicants if result else 0, "documents": result.documents if result else 0,
                    "missing": "、".join(result.missing) if result else "",
                    "zip": result.zip_path.name if result else "", "xlsx": result.xlsx_path.name if result else ""}
        return desk.page("office_round_export.html", nav="export", csrf=desk.csrf(request), run=view,
                         refresh=bool(run and run.running))

    async def export_start(self, request: web.Request) -> web.StreamResponse:
        who, _form = await self.desk.posted(request)
        if self.export is None or not self.export.running:  # one at a time: a second POST sees the first
            run = ExportRun(started=datetime.now(UTC), by=f"{who.channel}:{who.user_id}")
            run.task = asyncio.create_task(self._export(run))
            self.export = run
            log.info("export started on the desk by %s", run.by)
        raise web.HTTPSeeOther("/office/export")

    async def _export(self, run: ExportRun) -> None:
        desk = self.desk
        try:
            run.result = await export_all(desk.storage, desk.criteria, self.exports_folder(),
                                          tz=desk.settings.policy.tz, progress=run.progress)
        except Exception:
            run.failed = True
            logs.unexpected(log, "the export started on the desk failed")
        finally:
            run.finished = datetime.now(UTC)

    async def earlier(self) -> ExportRun | None:
        """After a restart: the newest export still on disk (the desk's or the chat's /export)."""
        row = await self.desk.storage.fetchone(
            "SELECT e.id, e.zip_path, e.xlsx_path, e.created_at, COUNT(m.application_id) AS applicants FROM exports e "
            "LEFT JOIN export_members m ON m.export_id = e.id WHERE e.xlsx_path IS NOT NULL "
            "GROUP BY e.id ORDER BY e.id DESC LIMIT 1")
        if row is None:
            return None
        zip_path, xlsx_path = Path(row["zip_path"]), Path(row["xlsx_path"])
        documents = await asyncio.to_thread(_documents_in, zip_path)
        if documents is None or not await asyncio.to_thread(xlsx_path.is_file):
            return None
        made = datetime.fromisoformat(row["created_at"])
        return ExportRun(started=made, finished=made,
                         result=ExportResult(zip_path, xlsx_path, row["applicants"], documents, []))

    async def export_zip(self, request: web.Request) -> web.StreamResponse:
        return await self._export_file(request, "zip")

    async def export_xlsx(self, request: web.Request) -> web.StreamResponse:
        return await self._export_file(request, "xlsx")

    async def _export_file(self, request: web.Request, kind: str) -> web.StreamResponse:
        await self.desk.coordinator(request)
        run = self.export or await self.earlier()
        result = run.result if run and not run.running else None
        if result is None:
            return self.message(404, say("office_export_none"), "export", "/office/export")
        path = result.zip_path if kind == "zip" else result.xlsx_path
        if not await asyncio.to_thread(path.is_file):
            return self.message(404, say("office_export_gone"), "export", "/office/export")
        return await file_response(path, path.name, "application/zip" if kind == "zip" else XLSX)


def _documents_in(zip_path: Path) -> int | None:
    """How many 申报书 files an export's ZIP holds (its 汇总 not counted); None if it is gone or unreadable."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            return sum(1 for name in archive.namelist() if not name.endswith(".xlsx"))
    except (OSError, zipfile.BadZipFile):
        return None


def _known_audience(audience: str) -> bool:
    return audience in ("unsubmitted", "inactive") or (
        audience.startswith("one:") and audience[4:].isascii() and audience[4:].isdecimal() and len(audience) < 24)


def _name(row: ApplicantRow) -> str:
    return row.name or row.display_name or say("office_no_name")


def outbox_status(status: str) -> str:
    """How a message in the outbox went, as the office reads it."""
    return {"sent": say("office_outbox_sent"), "pending": say("office_outbox_pending"),
            "sending": say("office_outbox_sending"), "failed": say("office_outbox_failed"),
            "blocked": say("office_outbox_blocked"), "dropped": say("office_outbox_dropped"),
            "uncertain": say("office_outbox_uncertain")}.get(status, status)
