"""Automatic reminders over the last days before the deadline, with the clock under the test's control."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from bot.criteria import Criteria
from bot.reminders import (
    AUTOMATIC,
    ReminderPolicy,
    audience_rows,
    manual_messages,
    parse_deadline,
    queue_automatic,
    reminder_gate,
)
from bot.sender import OutboxSender, RateLimited
from bot.storage import OutboxMessage, Storage

TZ = ZoneInfo("Asia/Shanghai")
DEADLINE = datetime(2026, 12, 31, 17, 0, tzinfo=TZ)


async def person(storage: Storage, db_path, user: str, name: str, *, status: str = "active",
                 last_active: datetime | None = None, answers: int = 0) -> int:
    applicant = await storage.applicant("telegram", user, name)
    app = await storage.create_application(applicant.id, "lyg", 1)
    await storage.update_application(app.id, status="active", step="q:1.1a")
    await storage.set_profile_value(app.id, "name", name, None)
    for n in range(answers):
        await storage.append_answer(app.id, f"1.1{'abc'[n]}", "回答")
    if status == "submitted":
        await storage.update_application(app.id, status="submitted")
    if last_active is not None:
        set_last_active(db_path, applicant.id, last_active)
    return applicant.id


def set_last_active(db_path, applicant_id: int, moment: datetime) -> None:
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE applicants SET last_active_at = ? WHERE id = ?",
                   (moment.astimezone(UTC).isoformat(timespec="seconds"), applicant_id))


def reminders(db_path) -> list[tuple[int, datetime, str]]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT applicant_id, not_before, payload FROM outbox WHERE kind = ? ORDER BY id",
                          (AUTOMATIC,)).fetchall()
    return [(a, datetime.fromisoformat(at).astimezone(TZ), payload) for a, at, payload in rows]


async def test_the_last_ten_days_before_the_deadline(storage: Storage, db_path, criteria: Criteria) -> None:
    policy = ReminderPolicy(TZ)  # 7, 3 and 1 days before; 7 days of silence; quiet 21:00–08:00
    start = datetime(2026, 12, 20, 0, 0, tzinfo=TZ)
    busy = await person(storage, db_path, "1", "天天写", answers=2)
    silent = await person(storage, db_path, "2", "好久没来", last_active=start - timedelta(days=8))
    done = await person(storage, db_path, "3", "已提交", status="submitted", last_active=start - timedelta(days=30))

    now = start
    while now < DEADLINE + timedelta(days=1):
        set_last_active(db_path, busy, now)  # this applicant writes every hour
        await queue_automatic(storage, criteria, policy, DEADLINE, now.astimezone(UTC))
        now += timedelta(minutes=30)

    sent = reminders(db_path)
    by_person: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for applicant_id, at, payload in sent:
        by_person[applicant_id].append((at, payload))

    # Never in quiet hours.
    assert all(8 <= at.hour < 21 for _, at, _ in sent), [at for _, at, _ in sent]
    # Never after submission.
    assert done not in by_person
    # Never two automatic reminders for one person on one day.
    for applicant_id, items in by_person.items():
        days = [at.date() for at, _ in items]
        assert len(days) == len(set(days)), (applicant_id, days)
    # The active applicant: 7, 3 and 1 days before, at the first moment each threshold passes.
    assert [(at.strftime("%m-%d %H:%M"), "还有 7 天" in text or "还有 3 天" in text or "还有 1 天" in text)
            for at, text in by_person[busy]] == [("12-24 17:00", True), ("12-28 17:00", True), ("12-30 17:00", True)]
    assert ["还有 7 天" in by_person[busy][0][1], "还有 3 天" in by_person[busy][1][1],
            "还有 1 天" in by_person[busy][2][1]] == [True, True, True]
    # The silent one: first reminded of the silence as the quiet hours end on the first day, then of
    # the deadline on its days, and of the silence again a week later; never after the deadline.
    first_at, first_text = by_person[silent][0]
    assert first_at == datetime(2026, 12, 20, 8, 0, tzinfo=TZ) and "8 天没有继续填写" in first_text
    assert all(at < DEADLINE for at, _ in by_person[silent])
    assert {at.strftime("%m-%d") for at, _ in by_person[silent]} >= {"12-20", "12-24", "12-28", "12-30"}
    # Every reminder shows the applicant's progress and opens the interview where they left off.
    assert all("已完成" in text and '"here"' in text for _, _, text in sent)


async def test_running_the_planner_again_queues_nothing_twice(storage: Storage, db_path, criteria: Criteria) -> None:
    policy = ReminderPolicy(TZ)
    await person(storage, db_path, "1", "甲", last_active=datetime(2026, 12, 1, tzinfo=TZ))
    now = datetime(2026, 12, 29, 10, 0, tzinfo=TZ)
    assert await queue_automatic(storage, criteria, policy, DEADLINE, now) == 1
    assert await queue_automatic(storage, criteria, policy, DEADLINE, now) == 0
    assert await queue_automatic(storage, criteria, policy, DEADLINE, now + timedelta(hours=5)) == 0


async def test_a_blocked_applicant_and_an_unset_deadline(storage: Storage, db_path, criteria: Criteria) -> None:
    policy = ReminderPolicy(TZ)
    blocked = await person(storage, db_path, "1", "屏蔽了", last_active=datetime(2026, 11, 1, tzinfo=TZ))
    await storage.mark_blocked("telegram", "1")
    now = datetime(2026, 12, 20, 10, 0, tzinfo=TZ)
    active = await person(storage, db_path, "2", "刚来过", last_active=now - timedelta(hours=1))
    # Eleven days before the deadline, the one who was here today has no reason to be reminded,
    # and the silent one blocked the bot.
    assert await queue_automatic(storage, criteria, policy, DEADLINE, now) == 0
    # Without a deadline only silence counts.
    set_last_active(db_path, active, now - timedelta(days=9))
    assert await queue_automatic(storage, criteria, policy, None, now) == 1
    assert [a for a, _, _ in reminders(db_path)] == [active] and blocked != active


def test_deadlines_are_read_the_way_people_write_them() -> None:
    assert parse_deadline("2026-12-31", TZ) == datetime(2026, 12, 31, 23, 59, tzinfo=TZ)
    assert parse_deadline("2026-12-31 17:00", TZ) == DEADLINE
    assert parse_deadline("明天", TZ) is None
    policy = ReminderPolicy(TZ)
    assert policy.is_quiet(datetime(2026, 12, 1, 21, 0, tzinfo=TZ))
    assert policy.is_quiet(datetime(2026, 12, 1, 7, 59, tzinfo=TZ))
    assert not policy.is_quiet(datetime(2026, 12, 1, 8, 0, tzinfo=TZ))
    assert policy.quiet_over(datetime(2026, 12, 1, 22, 30, tzinfo=TZ)) == datetime(2026, 12, 2, 8, 0, tzinfo=TZ)


class Phone:
    """Records what the sender delivers, as the Bot API would."""

    def __init__(self) -> None:
        self.got: list[OutboxMessage] = []

    async def __call__(self, message: OutboxMessage) -> None:
        self.got.append(message)


async def office_reminds_everyone(storage: Storage, criteria: Criteria, policy: ReminderPolicy, now: datetime,
                                  coordinator: tuple[str, str] | None = ("telegram", "900")) -> None:
    """What a coordinator's /remind → 未提交的全部 → 确认发送 queues (without a coordinator: no report)."""
    rows = audience_rows(await storage.applicant_rows(), "unsubmitted", policy, now)
    await storage.create_broadcast("unsubmitted", manual_messages(rows, criteria, DEADLINE, policy, now, "nonce"),
                                   coordinator=coordinator)


def quiet_around(now: datetime) -> ReminderPolicy:
    """Quiet hours from an hour ago to an hour from now, whenever the test runs."""
    local = now.astimezone(TZ)
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
    return ReminderPolicy(TZ, quiet_start=clock(start.hour, start.minute), quiet_end=clock(end.hour, end.minute))


async def test_a_reminder_still_waiting_when_quiet_hours_begin_waits_for_the_morning(
    storage: Storage, db_path, criteria: Criteria
) -> None:
    await person(storage, db_path, "1", "王芳")
    now = datetime.now(UTC)
    awake = ReminderPolicy(TZ, quiet_start=clock(0, 0), quiet_end=clock(0, 0))
    # Queued by the office while it was allowed; the sender only gets to it once quiet hours began.
    await office_reminds_everyone(storage, criteria, awake, now)
    night = quiet_around(now)
    phone = Phone()
    await OutboxSender(storage, phone, gate=reminder_gate(storage, night)).send_due()
    assert phone.got == []
    with sqlite3.connect(db_path) as db:
        [(status, not_before, attempts)] = db.execute("SELECT status, not_before, attempts FROM outbox").fetchall()
    assert status == "pending" and attempts == 0  # waiting is not a failed try
    assert datetime.fromisoformat(not_before) == night.quiet_over(now).astimezone(UTC)


async def test_an_applicant_who_submits_while_the_reminder_waits_never_gets_it(
    storage: Storage, db_path, criteria: Criteria
) -> None:
    done = await person(storage, db_path, "1", "王芳")
    await person(storage, db_path, "2", "李四")
    now = datetime.now(UTC)
    awake = ReminderPolicy(TZ, quiet_start=clock(0, 0), quiet_end=clock(0, 0))
    await office_reminds_everyone(storage, criteria, awake, now)
    app = await storage.application(done)
    assert app is not None
    await storage.update_application(app.id, status="submitted")
    phone = Phone()
    sender = OutboxSender(storage, phone, gate=reminder_gate(storage, awake), per_chat_interval=0)
    await sender.send_due()
    await sender.send_due()  # the office's report, queued when the broadcast finished
    assert [m.recipient for m in phone.got] == ["2", "900"]
    report = phone.got[-1].payload["text"]
    assert "送达 1 人" in report and "1 人在等待发送期间已提交申报" in report


async def test_an_applicant_the_office_reminded_today_gets_the_automatic_reminder_tomorrow_instead(
    storage: Storage, db_path, criteria: Criteria
) -> None:
    await person(storage, db_path, "1", "王芳")
    policy = ReminderPolicy(TZ)  # 7, 3 and 1 days before the deadline; quiet 21:00–08:00
    morning = datetime(2026, 12, 28, 9, 0, tzinfo=TZ)  # 3 days and 8 hours before DEADLINE
    await office_reminds_everyone(storage, criteria, policy, morning)
    assert await queue_automatic(storage, criteria, policy, DEADLINE, morning.astimezone(UTC)) == 0
    afternoon = morning.replace(hour=15)
    assert await queue_automatic(storage, criteria, policy, DEADLINE, afternoon.astimezone(UTC)) == 0
    tomorrow = morning + timedelta(days=1)
    assert await queue_automatic(storage, criteria, policy, DEADLINE, tomorrow.astimezone(UTC)) == 1
    [(_, when, text)] = reminders(db_path)
    assert when.date() == tomorrow.date() and "3 天" in text


class BusyPhone(Phone):
    """Telegram answering the first message with 429, retry after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds, self.refused = seconds, False

    async def __call__(self, message: OutboxMessage) -> None:
        if not self.refused:
            self.refused = True
            raise RateLimited(self.seconds)
        await super().__call__(message)


async def test_an_applicant_who_submits_while_a_429_holds_the_reminders_up_is_not_reminded(
    storage: Storage, db_path, criteria: Criteria
) -> None:
    await person(storage, db_path, "1", "王芳")
    late = await person(storage, db_path, "2", "李四")
    now = datetime.now(UTC)
    awake = ReminderPolicy(TZ, quiet_start=clock(0, 0), quiet_end=clock(0, 0))
    await office_reminds_everyone(storage, criteria, awake, now, coordinator=None)
    phone = BusyPhone(2.0)
    sender = OutboxSender(storage, phone, gate=reminder_gate(storage, awake), per_chat_interval=0)
    sending = asyncio.create_task(sender.send_due())
    await asyncio.sleep(0.5)  # 王芳's reminder got a 429; 李四's waits out the pause, and meanwhile…
    app = await storage.application(late)
    assert app is not None
    await storage.update_application(app.id, status="submitted")
    await sending
    while await sender.send_due():  # 王芳's again, once its retry_after has passed
        pass
    await asyncio.sleep(2.1)
    await sender.send_due()
    assert [m.recipient for m in phone.got] == ["1"]


async def test_a_coordinator_taken_off_the_list_gets_no_notice_queued_before(storage: Storage) -> None:
    from bot.flows.coordinator import Coordinators
    from bot.flows.submission import submission_notices
    from bot.storage import Outgoing

    # Queued while both were in the office; then one left it and the bot was restarted.
    for notice in submission_notices(Coordinators.parse("telegram:1,telegram:2"), 7, 7, "王芳", "某公司",
                                     "2026-11-20 10:00", "2026-11-20T02:00:00+00:00"):
        await storage.enqueue(notice)
    await storage.enqueue(Outgoing("telegram", "2", "report", {"text": "📬 提醒发送完毕"}))
    phone = Phone()
    awake = ReminderPolicy(TZ, quiet_start=clock(0, 0), quiet_end=clock(0, 0))
    sender = OutboxSender(storage, phone, gate=reminder_gate(storage, awake, Coordinators.parse("telegram:1")),
                          per_chat_interval=0)
    for _ in range(3):
        await sender.send_due()
    assert [m.recipient for m in phone.got] == ["1"]
    statuses = sorted(row[0] for row in await storage._fetchall("SELECT status FROM outbox"))
    assert statuses == ["dropped", "dropped", "sent"]
