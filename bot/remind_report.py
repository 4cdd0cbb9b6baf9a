"""`award-bot remind`: where the deadline comes from, who is reminded now (or after the quiet hours), and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot import clock
from bot.config import Settings
from bot.criteria import Criteria
from bot.mail import EMAIL
from bot.reminders import DEADLINE_SETTING, Reason, current_deadline, plan_automatic
from bot.storage import ApplicantRow, Outgoing, Storage
from bot.wording import say

Planned = tuple[ApplicantRow, Reason, Outgoing]


@dataclass
class ReminderReport:
    """What `award-bot remind` tells before it acts, and the reminders it may queue now."""

    lines: list[str] = field(default_factory=list)
    due: list[Planned] = field(default_factory=list)  # to queue now (none in quiet hours)
    quiet_until: datetime | None = None  # now is in quiet hours, which end then
    later: list[Planned] = field(default_factory=list)  # due when the quiet hours end


async def reminder_report(settings: Settings, storage: Storage, criteria: Criteria, now: datetime) -> ReminderReport:
    """Where the deadline comes from, and who is reminded now, or when quiet hours end, and why."""
    policy = settings.policy()

    def local(moment: datetime) -> str:
        return clock.local(moment, policy.tz)

    report = ReminderReport()
    report.lines.append(say("remind_now", when=local(now), timezone=settings.timezone))
    deadline = await current_deadline(storage, settings.default_deadline())
    if deadline is not None and await storage.setting(DEADLINE_SETTING):
        report.lines.append(say("remind_deadline_office", deadline=local(deadline)))
        if settings.deadline.strip():
            report.lines.append(say("remind_deadline_env_ignored", value=settings.deadline.strip()))
    elif deadline is not None:
        report.lines.append(say("remind_deadline_env", deadline=local(deadline), value=settings.deadline.strip()))
    else:
        report.lines.append(say("remind_deadline_none"))
    if deadline is not None and now >= deadline:
        report.lines.append(say("remind_deadline_passed"))
    if policy.is_quiet(now):
        report.quiet_until = policy.quiet_over(now)
        report.later = await plan_automatic(storage, criteria, policy, deadline, report.quiet_until,
                                            email=settings.email)
        at = local(report.quiet_until)
        report.lines.append(say("remind_quiet", hours=settings.quiet_hours, at=at) if report.later
                            else say("remind_quiet_nobody", hours=settings.quiet_hours, at=at))
        listed = report.later
    else:
        report.due = await plan_automatic(storage, criteria, policy, deadline, now, email=settings.email)
        listed = report.due
    for row, reason, message in listed:
        if message.channel == EMAIL:
            continue  # the same person's reminder by e-mail: listed once, counted once
        why = say("remind_why_deadline", days=reason.days) if reason.kind == "deadline" \
            else say("remind_why_inactive", days=reason.days)
        report.lines.append(say("remind_row", who=row.name or row.display_name or row.external_id,
                                unit=row.unit or "—", why=why, answered=row.answered,
                                total=len(criteria.questions)))
    if report.quiet_until is None and not report.due:
        report.lines.append(say("remind_nobody"))
    return report


async def remind_main(settings: Settings, dry_run: bool, storage: Storage, criteria: Criteria) -> int:
    report = await reminder_report(settings, storage, criteria, datetime.now(UTC))
    for line in report.lines:
        print(line)
    listed = report.later if report.quiet_until else report.due
    if dry_run:
        if listed:
            print(say("remind_dry_run", count=sum(1 for _row, _reason, m in listed if m.channel != EMAIL)))
    elif report.quiet_until is not None:
        if report.later:
            print(say("remind_quiet_not_queued",
                      at=clock.local(report.quiet_until, ZoneInfo(settings.timezone))))
    elif report.due:
        queued = sum([await storage.enqueue(message) for _row, _reason, message in report.due])
        print(say("remind_queued", count=queued))
    return 0
