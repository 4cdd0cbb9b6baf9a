"""Who gets a reminder, and why: before the deadline, after a long silence, or by a coordinator.

The rules are plain functions of the clock and the stored state, so a test can move the clock;
the outbox delivers what they queue. Automatic reminders never go out in quiet hours, never to
a submitted application, and never twice on one (award time zone) day to the same person.
Each is queued under a key that names its reason, so running the planner again, or after a
restart, queues nothing twice. Where e-mail is on (AWARD_SMTP_URL), an applicant who gave an address
gets each reminder by e-mail too: a message of its own under the same rules (see bot/mail.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import advice_outbox, clock, coaching, evidence
from bot.criteria import Criteria
from bot.mail import RETURNED, copy_of, plausible_address
from bot.sender import Drop, Gate, Postpone
from bot.storage import ApplicantRow, OutboxMessage, Outgoing, Storage
from bot.wording import say

AUTOMATIC = "reminder_auto"
MANUAL = "reminder"
# A 退回修改 notice (bot/mail.py's RETURNED) waits out quiet hours like a reminder, and is dropped if the
# applicant has resubmitted meanwhile.
GATED_KINDS = frozenset({AUTOMATIC, MANUAL, RETURNED})
# Quiet hours keep phones from ringing at night; a message waiting on one's own web page rings nothing,
# and a 退回修改 notice held till morning left the page saying 已提交 while the desk said 已退回.
SILENT_CHANNELS = frozenset({"web"})
OFFICE_KINDS = frozenset({"notice", "report"})  # messages to coordinators: submissions, erasures, reports
DEADLINE_SETTING = "deadline"


@dataclass(frozen=True)
class ReminderPolicy:
    tz: ZoneInfo
    days_before: tuple[int, ...] = (7, 3, 1)
    inactive_days: int = 7
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)

    def is_quiet(self, now: datetime) -> bool:
        local = now.astimezone(self.tz).time()
        if self.quiet_start > self.quiet_end:  # across midnight, e.g. 21:00–08:00
            return local >= self.quiet_start or local < self.quiet_end
        return self.quiet_start <= local < self.quiet_end

    def quiet_over(self, now: datetime) -> datetime:
        """When quiet hours that include `now` end (now itself if it is not quiet)."""
        if not self.is_quiet(now):
            return now
        local = now.astimezone(self.tz)
        end = local.replace(hour=self.quiet_end.hour, minute=self.quiet_end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end

    def is_inactive(self, row: ApplicantRow, now: datetime) -> bool:
        return now - datetime.fromisoformat(row.last_active_at) >= timedelta(days=self.inactive_days)


@dataclass(frozen=True)
class Reason:
    kind: str  # deadline | inactive
    key: str  # the outbox dedupe key: one reminder per reason, ever
    days: int  # days left before the deadline, or days of silence


def parse_deadline(text: str, tz: ZoneInfo) -> datetime | None:
    """'2026-12-31', '2026-12-31 17:00' or an ISO time; a date alone means the end of that day."""
    text = text.strip().replace("T", " ")
    parsed: datetime | None = None
    for pattern, end_of_day in (("%Y-%m-%d %H:%M", False), ("%Y-%m-%d %H:%M:%S", False), ("%Y-%m-%d", True)):
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if end_of_day:
            parsed = parsed.replace(hour=23, minute=59)
        parsed = parsed.replace(tzinfo=tz)
        break
    if parsed is None and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2})", text):
        parsed = datetime.fromisoformat(text)  # a stored deadline, with its offset
    if parsed is None or not 2000 <= parsed.year <= 2100:
        return None
    return parsed


async def current_deadline(storage: Storage, default: datetime | None) -> datetime | None:
    """The deadline a coordinator set in the bot, else the configured one."""
    stored = await storage.setting(DEADLINE_SETTING)
    return datetime.fromisoformat(stored) if stored else default


def reasons(policy: ReminderPolicy, now: datetime, deadline: datetime | None, row: ApplicantRow) -> list[Reason]:
    """Why this applicant might be reminded now, most pressing first (before the one-a-day rule)."""
    if row.status == "submitted" or (deadline is not None and now >= deadline):
        return []
    found: list[Reason] = []
    if deadline is not None:
        passed = [d for d in policy.days_before if deadline - now <= timedelta(days=d)]
        if passed:
            # Only the nearest threshold: after a pause the applicant gets "1 day left", not three in a row.
            threshold = min(passed)
            left = max(1, -(-(deadline - now) // timedelta(days=1)))  # whole days, rounded up: the text tells these
            found.append(Reason("deadline", f"auto:deadline:{deadline.isoformat()}:{threshold}:{row.applicant_id}",
                                left))
    idle = now - datetime.fromisoformat(row.last_active_at)
    if idle >= timedelta(days=policy.inactive_days):
        stretch = idle.days // policy.inactive_days  # again after each further N days of silence
        found.append(Reason("inactive", f"auto:idle:{row.last_active_at}:{stretch}:{row.applicant_id}", idle.days))
    return found


def reminder_text(kind: str, criteria: Criteria, row: ApplicantRow, deadline: datetime | None, tz: ZoneInfo,
                  days: int = 0, gap: str = "") -> str:
    """The reminder; `gap` is the one thing worth most to add (coaching.reminder_gap), on a line of its own."""
    name = row.name or row.display_name or say("reminder_no_name")
    total = len(criteria.questions)
    when = say("reminder_deadline_part", deadline=clock.local(deadline, tz)) if deadline else ""
    if kind == "deadline":
        text = say("reminder_deadline", name=name, days=days, answered=row.answered, total=total, when=when)
    elif kind == "inactive":
        text = say("reminder_inactive", name=name, days=days, answered=row.answered, total=total, when=when)
    else:
        text = say("reminder_manual", name=name, answered=row.answered, total=total, when=when)
    return f"{text}\n{gap}" if gap else text


async def gap_of(storage: Storage, criteria: Criteria, row: ApplicantRow) -> str:
    """What this applicant's reminder should name: their biggest gap as an assessor sees it, or ''."""
    try:
        snap = await storage.snapshot(row.application_id)
    except LookupError:
        return ""
    return await asyncio.to_thread(_gap, criteria, snap.answers, snap.files)


def _gap(criteria: Criteria, answers: dict[str, str], files: dict[str, int]) -> str:
    warnings = evidence.check_application(criteria, answers, files)
    return coaching.reminder_gap(coaching.coach(criteria, answers, files), warnings)


def reminder_buttons() -> list[list[list[str]]]:
    # "here" opens the interview exactly where the applicant left off.
    return [[[say("btn_continue"), "here"]]]  # as the outbox keeps buttons: rows of [label, data]


async def plan_automatic(
    storage: Storage, criteria: Criteria, policy: ReminderPolicy, deadline: datetime | None, now: datetime,
    *, email: bool = False,
) -> list[tuple[ApplicantRow, Reason, Outgoing]]:
    """The automatic reminders due now, not yet queued. With `email` (AWARD_SMTP_URL is set) an applicant
    who gave an e-mail address gets its copy too, right after the chat's, with the same row and reason."""
    if policy.is_quiet(now):
        return []
    today = now.astimezone(policy.tz).date()
    planned = []
    for row in await storage.applicant_rows():
        if row.blocked_at:
            continue
        candidates = reasons(policy, now, deadline, row)
        if not candidates:
            continue
        # One reminder a day at most, whoever sent it: the office's own today counts too.
        last = await storage.last_message_at(row.applicant_id, (AUTOMATIC, MANUAL))
        if last and clock.in_zone(last, policy.tz).date() == today:
            continue
        for reason in candidates:
            if await storage.has_message(reason.key):
                continue
            gap = await gap_of(storage, criteria, row)
            text = reminder_text(reason.kind, criteria, row, deadline, policy.tz, reason.days, gap)
            message = Outgoing(row.channel, row.external_id, AUTOMATIC, {"text": text, "buttons": reminder_buttons()},
                               applicant_id=row.applicant_id, dedupe_key=reason.key, not_before=clock.stamp(now))
            planned.append((row, reason, message))
            if email and plausible_address(row.email.strip()):
                planned.append((row, reason, copy_of(message, row.email)))
            break
    return planned


async def queue_automatic(
    storage: Storage, criteria: Criteria, policy: ReminderPolicy, deadline: datetime | None, now: datetime,
    *, email: bool = False,
) -> int:
    queued = 0
    for _row, _reason, message in await plan_automatic(storage, criteria, policy, deadline, now, email=email):
        queued += await storage.enqueue(message)
    return queued


def reminder_gate(storage: Storage, policy: ReminderPolicy,
                  office: Iterable[tuple[str, str]] | None = None) -> Gate:
    """What the sender asks before each message: a queued one can wait a long time (a backlog, a
    429, the bot down overnight). By then a reminder may fall in quiet hours or its applicant may
    have submitted, and a notice or report may be addressed to someone no longer in the office
    (`office`: the coordinators now; None checks nothing)."""
    members = set(office) if office is not None else None

    async def gate(message: OutboxMessage, now: datetime) -> Postpone | Drop | None:
        if message.kind in OFFICE_KINDS and members is not None \
                and (message.channel, message.recipient) not in members:
            return Drop("the recipient is no longer a coordinator")
        if message.kind == advice_outbox.KIND:
            stale = await advice_outbox.outdated(storage, message)
            return Drop("the applicant moved on or submitted") if stale else None
        if message.kind not in GATED_KINDS or message.applicant_id is None:
            return None
        app = await storage.application(message.applicant_id)
        if app is None or app.status == "submitted":
            return Drop("submitted before the reminder went out")
        if policy.is_quiet(now) and message.channel not in SILENT_CHANNELS:
            return Postpone(policy.quiet_over(now))
        return None

    return gate


def audience_rows(rows: list[ApplicantRow], audience: str, policy: ReminderPolicy,
                  now: datetime) -> list[ApplicantRow]:
    """Who a coordinator's reminder goes to: 'unsubmitted', 'inactive', or 'one:<applicant id>'."""
    open_rows = [r for r in rows if r.status != "submitted"]
    if audience == "unsubmitted":
        return open_rows
    if audience == "inactive":
        return [r for r in open_rows if policy.is_inactive(r, now)]
    if audience.startswith("one:") and audience[4:].isascii() and audience[4:].isdecimal():
        # Still open: a preview tapped after the applicant submitted sends nothing.
        return [r for r in open_rows if r.applicant_id == int(audience[4:])]
    return []


async def queue_manual(storage: Storage, criteria: Criteria, policy: ReminderPolicy, default_deadline: datetime | None,
                       audience: str, nonce: str, coordinator: tuple[str, str], now: datetime, *,
                       email: bool = False) -> tuple[int, int]:
    """A coordinator's reminder (from the chat or the desk), queued as one broadcast: (its id, how many were
    queued); (0, 0) when nobody is left to remind. The nonce makes a confirm sent twice one broadcast."""
    recipients = audience_rows(await storage.applicant_rows(), audience, policy, now)
    deadline = await current_deadline(storage, default_deadline)
    gaps = {row.applicant_id: await gap_of(storage, criteria, row) for row in recipients}
    messages = manual_messages(recipients, criteria, deadline, policy, now, nonce, email=email, gaps=gaps)
    if not messages:
        return 0, 0
    return await storage.create_broadcast(audience, messages, coordinator=coordinator)


def manual_messages(rows: list[ApplicantRow], criteria: Criteria, deadline: datetime | None, policy: ReminderPolicy,
                    now: datetime, nonce: str, *, email: bool = False,
                    gaps: dict[int, str] | None = None) -> list[Outgoing]:
    """A coordinator's reminder to each of `rows`; with `email`, each chat message is followed by its e-mail
    copy for those who gave an address."""
    # In quiet hours even a coordinator's reminder waits for the morning.
    start = clock.stamp(policy.quiet_over(now))
    messages = []
    for row in rows:
        message = Outgoing(row.channel, row.external_id, MANUAL,
                           {"text": reminder_text("manual", criteria, row, deadline, policy.tz,
                                                  gap=(gaps or {}).get(row.applicant_id, "")),
                            "buttons": reminder_buttons()},
                           applicant_id=row.applicant_id, dedupe_key=f"manual:{nonce}:{row.applicant_id}",
                           not_before=start)
        messages.append(message)
        if email and plausible_address(row.email.strip()):
            messages.append(copy_of(message, row.email))
    return messages
