"""The award office's side: progress, one applicant's detail, downloads, export, deadline, reminders.

Every event is checked for the coordinator right here, not only the menu: a command or a
button (forged callback data included) from anyone else is passed to the interview, which
answers it as it answers any unknown command or stale button, so nothing is learnt.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot import evidence, states
from bot.clock import local
from bot.config import coordinator_entries
from bot.criteria import Criteria
from bot.document_text import safe_file_part
from bot.flows.documents import document_stem
from bot.flows.events import Button, ButtonPress, Command, Event, Reply, Sender, keyboard
from bot.reminders import (
    DEADLINE_SETTING,
    ReminderPolicy,
    audience_rows,
    current_deadline,
    gap_of,
    parse_deadline,
    queue_manual,
    reminder_text,
)
from bot.storage import ApplicantRow, Storage
from bot.validation import count_chars
from bot.wording import say

log = logging.getLogger(__name__)

COMMANDS = frozenset({"admin", "list", "deadline", "remind", "export"})
PREFIX = "co:"
PAGE_SIZE = 8
FILTERS = ("all", "new", "open", "returned", "done", "idle")

Exporter = Callable[[], Awaitable[Path]]  # writes the export (on the server) and returns the ZIP
# Telegram takes files up to 50 MB from a bot; a bigger export stays on the server.
UPLOAD_LIMIT = 50 * 1024 * 1024


@dataclass(frozen=True)
class Coordinators:
    """Who may act for the award office: (channel, user id) pairs from AWARD_COORDINATORS."""

    members: frozenset[tuple[str, str]]

    @classmethod
    def parse(cls, text: str, default_channel: str = "telegram") -> Coordinators:
        return cls(frozenset((channel or default_channel, user) for _entry, channel, user in coordinator_entries(text)))

    def __contains__(self, sender: object) -> bool:
        return isinstance(sender, Sender) and (sender.channel, sender.user_id) in self.members

    def __iter__(self):
        return iter(sorted(self.members))


class Coordinator:
    def __init__(self, storage: Storage, criteria: Criteria, coordinators: Coordinators, policy: ReminderPolicy, *,
                 default_deadline: datetime | None = None, exporter: Exporter | None = None,
                 refuse: Callable[[Event], Awaitable[list[Reply]]] | None = None,
                 desk_link: Callable[[Sender], Awaitable[str]] | None = None, email: bool = False) -> None:
        self.storage = storage
        self.criteria = criteria
        self.coordinators = coordinators
        self.policy = policy
        self.default_deadline = default_deadline
        self.exporter = exporter
        # What anyone else gets instead: the interview's answer to an unknown command or button.
        self.refuse = refuse
        # A one-time sign-in link to the desk on the web (bot/web/office.py); None: no web desk.
        self.desk_link = desk_link
        self.email = email  # AWARD_SMTP_URL is set: a reminder also goes to the 申报表's e-mail address

    def wants(self, event: Event) -> bool:
        if isinstance(event, Command):
            return event.name.lower() in COMMANDS
        return isinstance(event, ButtonPress) and event.data.startswith(PREFIX)

    async def handle(self, event: Event) -> list[Reply]:
        if event.sender not in self.coordinators:
            log.warning("coordinator action refused for %s", event.sender.key)
            return await self.refuse(event) if self.refuse else []
        now = datetime.now(UTC)
        if isinstance(event, Command):
            name, text = event.name.lower(), event.args.strip()
            if name == "list":
                wanted = _filter_named(text)
                if wanted is None:
                    return [Reply(say("co_list_unknown_filter"))]
                return await self._list(wanted, 0, now)
            if name == "deadline":
                return await self._deadline(text, now)
            if name == "remind":
                return await self._remind_menu(now)
            if name == "export":
                return await self._export()
            return await self._menu(now)
        assert isinstance(event, ButtonPress)
        parts = event.data[len(PREFIX):].split(":")
        action, args = parts[0], parts[1:]
        if action == "l" and len(args) == 2 and args[0] in FILTERS and args[1].isdecimal():
            return await self._list(args[0], int(args[1]), now)
        if action == "d" and len(args) == 1 and args[0].isdecimal():
            return await self._detail(int(args[0]), now)
        if action == "g" and len(args) == 1 and args[0].isdecimal():
            return await self._download(int(args[0]))
        if action == "x":
            return await self._export()
        if action == "web" and self.desk_link is not None:
            return [Reply(say("co_desk_link", link=await self.desk_link(event.sender)))]
        if action == "dl":
            return await self._deadline("", now)
        if action == "r":
            return await self._remind_menu(now)
        if action == "rp" and args:
            return await self._remind_preview(":".join(args), now)
        if action == "rc" and len(args) >= 2:
            return await self._remind_confirm(":".join(args[:-1]), args[-1], event.sender, now)
        if action == "m":
            return await self._menu(now)
        return [Reply(say("co_unknown_button"))]

    # -- overview ------------------------------------------------------------------------

    def _matches(self, row: ApplicantRow, wanted: str, now: datetime) -> bool:
        if wanted == "all":
            return True
        if wanted == "idle":
            return row.status != "submitted" and self.policy.is_inactive(row, now)
        return states.state_of(row) == wanted

    def _state_label(self, row: ApplicantRow, now: datetime) -> str:
        text = states.state_label(row)
        if row.status != "submitted" and self.policy.is_inactive(row, now):
            text += say("co_state_idle_mark")
        return text

    async def _menu(self, now: datetime) -> list[Reply]:
        rows = await self.storage.applicant_rows()
        counts = {f: sum(1 for r in rows if self._matches(r, f, now)) for f in FILTERS}
        deadline = await current_deadline(self.storage, self.default_deadline)
        text = say("co_menu", total=counts["all"], new=counts["new"], open=counts["open"], done=counts["done"],
                   returned=counts["returned"], idle=counts["idle"],
                   deadline=self._when(deadline) if deadline else say("co_no_deadline"))
        return [Reply(text, keyboard(
            [Button(say("co_btn_list"), "co:l:all:0"), Button(say("co_btn_remind"), "co:r")],
            [Button(say("co_btn_export"), "co:x"), Button(say("co_btn_deadline"), "co:dl")],
            [Button(say("co_btn_desk"), "co:web")] if self.desk_link is not None else [],
        ))]

    async def _list(self, wanted: str, page: int, now: datetime) -> list[Reply]:
        rows = [r for r in await self.storage.applicant_rows() if self._matches(r, wanted, now)]
        pages = max(1, -(-len(rows) // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        shown = rows[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
        total = len(self.criteria.questions)
        lines = [say("co_list_head", filter=_filter_label(wanted), count=len(rows), page=page + 1, pages=pages)]
        for number, row in enumerate(shown, start=page * PAGE_SIZE + 1):
            warnings = await self._open_warnings(row)
            lines.append(say("co_list_row", n=number, name=row.name or row.display_name or say("reminder_no_name"),
                             unit=row.unit or "—", answered=row.answered, total=total, warnings=warnings,
                             active=self._when(row.last_active_at),
                             state=self._state_label(row, now)))
        if not shown:
            lines.append(say("co_list_empty"))
        buttons = [Button(str(n), f"co:d:{row.applicant_id}")
                   for n, row in enumerate(shown, start=page * PAGE_SIZE + 1)]
        rows_of_buttons = [buttons[i:i + 4] for i in range(0, len(buttons), 4)]
        paging = []
        if page > 0:
            paging.append(Button(say("co_btn_prev"), f"co:l:{wanted}:{page - 1}"))
        if page < pages - 1:
            paging.append(Button(say("co_btn_next"), f"co:l:{wanted}:{page + 1}"))
        filters = [Button(_filter_label(f), f"co:l:{f}:0") for f in FILTERS if f != wanted]
        return [Reply("\n".join(lines), keyboard(*rows_of_buttons, paging, filters[:3], filters[3:]))]

    async def _open_warnings(self, row: ApplicantRow) -> int:
        snap = await self.storage.snapshot(row.application_id)
        # Off the event loop: long answers must not hold up the applicants' replies.
        found = await asyncio.to_thread(evidence.check_application, self.criteria, snap.answers, snap.files)
        return sum(1 for warnings in found.values() for w in warnings if w.code != "empty")

    async def _row(self, applicant_id: int) -> ApplicantRow | None:
        return await self.storage.applicant_row(applicant_id)

    async def _detail(self, applicant_id: int, now: datetime) -> list[Reply]:
        row = await self._row(applicant_id)
        if row is None:
            return [Reply(say("co_no_such_applicant"))]
        snap = await self.storage.snapshot(row.application_id)
        profile, answers = snap.profile, snap.answers
        found = await asyncio.to_thread(evidence.check_application, self.criteria, answers, snap.files)
        advice = evidence.summary(found) or say("co_no_warnings")
        latest = await self.storage.latest_document(row.application_id)
        text = say("co_detail", name=row.name or row.display_name or say("reminder_no_name"), unit=row.unit or "—",
            phone=profile.get("phone", "—"), email=profile.get("email", "—"), state=self._state_label(row, now),
            answered=row.answered, total=len(self.criteria.questions),
            chars=sum(count_chars(text) for text in answers.values()), files=sum(snap.files.values()),
            active=self._when(row.last_active_at),
            submitted=self._when(row.submitted_at),
            document=say("co_document_version", version=latest.version) if latest else say("co_no_document"),
            blocked=say("co_blocked") if row.blocked_at else "", advice=advice,
        )
        buttons = [[Button(say("co_btn_download"), f"co:g:{row.applicant_id}")]] if latest else []
        if row.status != "submitted":
            buttons.append([Button(say("co_btn_remind_one"), f"co:rp:one:{row.applicant_id}")])
        buttons.append([Button(say("co_btn_back_list"), "co:l:all:0")])
        return [Reply(text, keyboard(*buttons))]

    async def _download(self, applicant_id: int) -> list[Reply]:
        row = await self._row(applicant_id)
        latest = await self.storage.latest_document(row.application_id) if row else None
        if row is None or latest is None or not await asyncio.to_thread(Path(latest.path).exists):
            return [Reply(say("co_no_document_file"))]
        name = safe_file_part(row.name or row.display_name) or say("document_no_name")
        # Named as the applicant's own copy and the export name it: a draft never passes for a submission.
        number = await self.storage.document_number(row.application_id, latest.kind, latest.version)
        stem = document_stem(row.name or row.display_name, latest.kind, number)
        if latest.kind == "final" and row.status != "submitted":
            stem = say("export_file_draft", stem=stem)  # reopened: the old final is being changed
        replies = [Reply(say("co_document_caption", name=name, version=latest.version), document=Path(latest.path),
                         document_name=f"{stem}.docx")]
        pdf = Path(latest.pdf_path) if latest.pdf_path else None
        if pdf is not None and await asyncio.to_thread(pdf.exists):
            replies.append(Reply("", document=pdf, document_name=f"{stem}.pdf"))
        return replies

    async def _export(self) -> list[Reply]:
        if self.exporter is None:
            return [Reply(say("co_export_unavailable"))]
        archive = await self.exporter()
        size = (await asyncio.to_thread(archive.stat)).st_size
        if size > UPLOAD_LIMIT:
            return [Reply(say("co_export_too_big", mb=round(size / 1024 / 1024), path=str(archive)))]
        return [Reply(say("co_export_done"), document=archive, document_name=archive.name)]

    # -- deadline -----------------------------------------------------------------------

    async def _deadline(self, args: str, now: datetime) -> list[Reply]:
        if args:
            if args.lower() in ("off", "clear", "清除", "取消"):
                await self.storage.set_setting(DEADLINE_SETTING, None)
                deadline = await current_deadline(self.storage, self.default_deadline)
                return [Reply(say("co_deadline_cleared", deadline=self._when(deadline) if deadline
                                  else say("co_no_deadline")))]
            parsed = parse_deadline(args, self.policy.tz)
            if parsed is None:
                return [Reply(say("co_deadline_invalid"))]
            if parsed <= now:
                return [Reply(say("co_deadline_past", deadline=self._when(parsed)))]
            await self.storage.set_setting(DEADLINE_SETTING, parsed.isoformat())
            log.info("deadline set to %s", parsed.isoformat())
            return [Reply(say("co_deadline_set", deadline=self._when(parsed),
                              days="、".join(str(d) for d in self.policy.days_before)))]
        deadline = await current_deadline(self.storage, self.default_deadline)
        return [Reply(say("co_deadline_show", deadline=self._when(deadline) if deadline else say("co_no_deadline")))]

    # -- reminders ------------------------------------------------------------------------

    async def _remind_menu(self, now: datetime) -> list[Reply]:
        rows = await self.storage.applicant_rows()
        unsubmitted = len(audience_rows(rows, "unsubmitted", self.policy, now))
        inactive = len(audience_rows(rows, "inactive", self.policy, now))
        return [Reply(say("co_remind_menu", days=self.policy.inactive_days), keyboard(
            [Button(say("co_btn_remind_unsubmitted", count=unsubmitted), "co:rp:unsubmitted")],
            [Button(say("co_btn_remind_inactive", count=inactive, days=self.policy.inactive_days), "co:rp:inactive")],
            [Button(say("co_btn_back_menu"), "co:m")],
        ))]

    async def _remind_preview(self, audience: str, now: datetime) -> list[Reply]:
        recipients = audience_rows(await self.storage.applicant_rows(), audience, self.policy, now)
        if not recipients:
            return [Reply(say("co_remind_nobody"), keyboard([Button(say("co_btn_back_menu"), "co:m")]))]
        deadline = await current_deadline(self.storage, self.default_deadline)
        gap = await gap_of(self.storage, self.criteria, recipients[0])  # each gets their own, as the sample shows
        sample = reminder_text("manual", self.criteria, recipients[0], deadline, self.policy.tz, gap=gap)
        text = say("co_remind_preview", count=len(recipients), sample=sample)
        if self.policy.is_quiet(now):
            text += "\n" + say("co_remind_quiet", at=self._when(self.policy.quiet_over(now)))
        nonce = secrets.token_hex(4)
        return [Reply(text, keyboard([Button(say("co_btn_send", count=len(recipients)), f"co:rc:{audience}:{nonce}")],
                                     [Button(say("co_btn_cancel"), "co:m")]), choice_only=True)]

    async def _remind_confirm(self, audience: str, nonce: str, sender: Sender, now: datetime) -> list[Reply]:
        broadcast, queued = await queue_manual(self.storage, self.criteria, self.policy, self.default_deadline,
                                               audience, nonce, (sender.channel, sender.user_id), now,
                                               email=self.email)
        if not broadcast:
            return [Reply(say("co_remind_nobody"))]
        if not queued:
            return [Reply(say("co_remind_already"))]
        log.info("coordinator %s queued %d reminders (%s)", sender.key, queued, audience)
        return [Reply(say("co_remind_queued", count=queued))]

    def _when(self, moment: datetime | str | None) -> str:
        return local(moment, self.policy.tz) or "—"


def _filter_named(text: str) -> str | None:
    """A filter from what a coordinator types: the code (done) or the label (已提交); nothing means all."""
    text = text.strip().lower()
    if not text:
        return "all"
    if text in FILTERS:
        return text
    return next((f for f in FILTERS if _filter_label(f) == text), None)


def _filter_label(name: str) -> str:
    labels = {"all": say("co_filter_all"), "new": say("co_filter_new"), "open": say("co_filter_open"),
              "returned": say("co_filter_returned"), "done": say("co_filter_done"), "idle": say("co_filter_idle")}
    return labels[name]
