"""The award office on Telegram: rights, progress, the deadline, broadcasts through the outbox at the pace.

The office's bot killed in the middle of a broadcast, and restarted with another coordinator: test_office_restart.py.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.flows.coordinator import COMMANDS, Coordinator, Coordinators
from bot.flows.interview import Interview
from bot.flows.router import Router
from bot.reminders import ReminderPolicy
from bot.sender import OutboxSender
from bot.storage import Storage
from bot.telegram import TelegramTransport, build_application, start_background, stop_background
from bot.wording import messages, say
from tests.conftest import PROFILE
from tests.fake_telegram import FakeTelegram
from tests.telegram_fixtures import BOSS, FAST, REMINDER, REPORT, Phone, complete_interview, said, serving

TZ = ZoneInfo("Asia/Shanghai")
# The pace the office's bot is held to here, replies and reminders together: 100 a second where Telegram
# allows 30, so that a broadcast takes seconds. The pacing checks below hold it to this.
RATE = 100.0


def reminders_to(telegram: FakeTelegram) -> Counter[int]:
    return Counter(m.chat_id for m in telegram.sent if REMINDER in m.text and m.chat_id != BOSS)


@pytest.fixture
async def office(telegram: FakeTelegram, storage: Storage, criteria, tmp_path: Path) -> AsyncIterator[None]:
    coordinators = Coordinators.parse(str(BOSS))
    interview = Interview(storage, criteria, data_dir=tmp_path / "files", coordinators=coordinators)
    coordinator = Coordinator(storage, criteria, coordinators, ReminderPolicy(TZ, quiet_start=datetime.min.time(),
                                                                             quiet_end=datetime.min.time()),
                              refuse=interview.handle)
    application = build_application(Router(interview, coordinator), storage, telegram.token,
                                    f"http://127.0.0.1:{telegram.port}", rate=RATE, per_chat_rate=FAST)
    async with serving(telegram, application, office=[str(BOSS)]):
        sender = OutboxSender(storage, TelegramTransport(application.bot), rate=RATE, poll_interval=0.05)
        task = start_background(application, sender)
        yield
        await stop_background(sender, task)


async def applicants(storage: Storage, count: int, first_id: int = 20000) -> list[int]:
    ids = []
    for n in range(count):
        person = await storage.applicant("telegram", str(first_id + n), f"申报人{n}")
        app = await storage.create_application(person.id, "lyg-etdz-individual", 1)
        await storage.update_application(app.id, status="active", step="q:1.1a")
        await storage.set_profile_value(app.id, "name", f"申报人{n}", None)
        ids.append(first_id + n)
    return ids


async def test_a_non_coordinator_learns_nothing_from_any_coordinator_command_or_button(
    office, telegram: FakeTelegram, storage: Storage
) -> None:
    victim = Phone(telegram, 1001, "王芳")
    await victim.type("/start")
    await victim.tap(say("btn_consent_yes"))
    await victim.type(PROFILE["name"] + "王芳")
    intruder = Phone(telegram, 1002, "好奇")
    await intruder.type("/start")
    await intruder.tap(say("btn_consent_yes"))
    intruder.text()
    await intruder.type("/nosuchcommand")
    unknown = intruder.text().replace("nosuchcommand", "X")
    victim_id = (await storage.find_applicant("telegram", "1001")).id
    for command in ("admin", "list", "list all", "deadline 2030-01-01", "remind", "export"):
        await intruder.type(f"/{command}")
        assert intruder.text().replace(command.split()[0], "X") == unknown, command
    # Forged buttons, one naming the victim: the same reply as any stale button, nothing about her.
    message = intruder.last_with_buttons()
    telegram.press(1002, message, "zz:0", "好奇", forged=True)
    await telegram.settle(1002)
    stale = intruder.text()
    for data in (f"co:d:{victim_id}", f"co:g:{victim_id}", f"co:rp:one:{victim_id}", "co:l:all:0", "co:x", "co:dl",
                 "co:r", "co:rp:unsubmitted", "co:rc:unsubmitted:0000", "co:m"):
        telegram.press(1002, intruder.last_with_buttons(), data, "好奇", forged=True)
        await telegram.settle(1002)
        reply = intruder.text()
        assert reply == stale, data
        assert "王芳" not in reply
    assert await storage.setting("deadline") is None
    assert await storage.due_messages() == [] and await storage.finished_unreported_broadcasts() == []
    assert telegram.to(BOSS) == []


async def test_the_office_sees_progress_and_an_applicant_and_sets_the_deadline(
    office, telegram: FakeTelegram, storage: Storage
) -> None:
    await applicants(storage, 11)
    boss = Phone(telegram, BOSS, "办公室")
    await boss.type("/admin")
    assert "共 11 人" in boss.text()
    await boss.tap(say("co_btn_list"))
    page = boss.text()
    assert say("co_list_head", filter=say("co_filter_all"), count=11, page=1, pages=2) in page
    await boss.tap(say("co_btn_next"))
    page = boss.text()
    assert said("co_list_head", filter=say("co_filter_all"), count=11, page=2, pages=2) in page
    assert sorted(boss.labels()[:3]) == ["10", "11", "9"]  # numbered on from the first page
    ninth = next(line for line in page.splitlines() if line.startswith("9. ")).removeprefix("9. ").split("｜")[0]
    await boss.tap("9")
    detail = boss.text()
    assert detail.startswith(said("co_detail", name=ninth)) and "已答 0/39 题" in detail
    assert say("co_btn_remind_one") in boss.labels()
    await boss.type("/deadline 2099-12-31 17:00")
    assert "2099-12-31 17:00" in boss.text()
    assert (await storage.setting("deadline")).startswith("2099-12-31T17:00")
    await boss.type("/deadline 2001-01-01")
    assert messages()["co_deadline_past"].split("{deadline}")[1] in boss.text()
    await boss.type("/deadline 明天")
    assert say("co_deadline_invalid") in boss.text()


async def test_a_reminder_to_200_applicants_despite_429s_and_5_who_blocked_the_bot(
    office, telegram: FakeTelegram, storage: Storage
) -> None:
    chats = await applicants(storage, 200)
    blocked = set(chats[7:200:40])
    telegram.blocked |= blocked
    for chat in (chats[10], chats[100], chats[150]):
        telegram.fail_next("sendMessage", chat, 429, "Too Many Requests: retry after 1", retry_after=1)
    boss = Phone(telegram, BOSS, "办公室")
    await boss.type("/remind")
    await boss.tap(say("co_btn_remind_unsubmitted", count=200))
    preview = boss.text()
    assert said("co_remind_preview", count=200) in preview and REMINDER in preview
    started = time.monotonic()
    await boss.tap(say("co_btn_send", count=200))
    assert say("co_remind_queued", count=200) in boss.text()
    report = await telegram.wait_for(BOSS, lambda m: REPORT in m.text, limit=60)
    took = time.monotonic() - started
    assert say("broadcast_report", sent=195, blocked=5, failed=0, uncertain=0) in report.text
    delivered = reminders_to(telegram)
    assert set(delivered) == set(chats) - blocked and set(delivered.values()) == {1}
    # Each reminder opens the interview where the applicant left off.
    first = next(m for m in telegram.sent if m.chat_id == chats[0])
    assert first.buttons[0][0]["callback_data"] == "here"
    # Within the pace: never more than RATE a second overall (50 ms for a loaded machine's jitter).
    assert paced(sorted(m.at for m in telegram.sent if REMINDER in m.text and m.chat_id != BOSS))
    assert took >= 195 / RATE
    # Blocked applicants are marked, so the overview shows it.
    marked = [await storage.find_applicant("telegram", str(c)) for c in sorted(blocked)]
    assert all(person.blocked_at for person in marked)


def paced(times: list[float], rate: float = RATE) -> bool:
    """No second holds more than `rate` of these moments."""
    n = int(rate)
    return all(later - earlier >= 1.0 - 0.05 for earlier, later in zip(times, times[n:], strict=False))


@pytest.mark.slow
async def test_a_coordinator_hears_of_each_submission(office, telegram: FakeTelegram, storage: Storage,
                                                      criteria) -> None:
    phone = Phone(telegram, 3001, "赵敏")
    await complete_interview(phone, criteria)
    await telegram.until(lambda: any(said("co_submitted_notice") in m.text for m in telegram.to(BOSS)))
    notice = next(m for m in telegram.to(BOSS) if said("co_submitted_notice") in m.text)
    assert said("co_submitted_notice", name="赵敏") in notice.text
    assert notice.buttons[0][0]["callback_data"].startswith("co:d:")


async def test_the_office_sees_its_commands_in_the_menu_and_applicants_do_not(office, telegram: FakeTelegram) -> None:
    everyone = {c["command"] for c in telegram.commands}
    boss = {c["command"] for c in telegram.chat_commands[BOSS]}
    assert COMMANDS <= boss and not COMMANDS & everyone
    assert everyone <= boss  # the office can still use the bot as an applicant would


async def test_reminders_sent_while_applicants_type_leave_room_for_their_replies_within_the_pace(
    office, telegram: FakeTelegram, storage: Storage
) -> None:
    await applicants(storage, 100)
    typists = await applicants(storage, 10, first_id=21000)
    boss = Phone(telegram, BOSS, "办公室")
    await boss.type("/remind")
    await boss.tap(say("co_btn_remind_unsubmitted", count=110))
    await boss.tap(say("co_btn_send", count=110))
    for round_ in range(15):
        for uid in typists:
            telegram.send_text(uid, f"第{round_}段：本人负责的工序合格率持续提升。", "写")
        await asyncio.sleep(0.03)
    await telegram.wait_for(BOSS, lambda m: REPORT in m.text, limit=60)
    confirmed = (said("saved_first", id="1.1a"), said("saved_appended", id="1.1a"))
    await telegram.until(lambda: sum(1 for m in telegram.sent
                                     if m.chat_id in typists and m.text.startswith(confirmed)) == 150,
                         what="every answer confirmed")
    # Replies and reminders together, as Telegram counts them: never more than the pace allows in any
    # second (the old limiter let a second's worth through at once after a pause).
    assert paced(sorted(m.at for m in telegram.sent))
    reminded = reminders_to(telegram)
    assert len(reminded) == 110 and set(reminded.values()) == {1}
