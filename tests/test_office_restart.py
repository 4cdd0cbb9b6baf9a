"""The office's bot as the office runs it, `award-bot run` in a process of its own, stopped and started again:
killed in the middle of a broadcast, and restarted with another coordinator."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

from bot.reminders import ReminderPolicy, audience_rows, manual_messages
from bot.storage import Storage
from bot.wording import say
from tests.fake_telegram import FakeTelegram
from tests.telegram_fixtures import BOSS, REPORT, bot_process, polling, stop
from tests.test_office_telegram import TZ, applicants, reminders_to


async def test_a_crash_in_the_middle_of_a_broadcast_sends_nothing_twice_and_misses_no_one(
    telegram: FakeTelegram, criteria, tmp_path: Path
) -> None:
    storage = await Storage.open(tmp_path / "award.db")
    chats = await applicants(storage, 60)
    policy = ReminderPolicy(TZ, quiet_start=datetime.min.time(), quiet_end=datetime.min.time())
    now = datetime.now(UTC)
    rows = audience_rows(await storage.applicant_rows(), "unsubmitted", policy, now)
    await storage.create_broadcast("unsubmitted", manual_messages(rows, criteria, None, policy, now, "crash"),
                                   coordinator=("telegram", str(BOSS)))
    await storage.close()

    # The 25th reminder reaches Telegram, and the bot is killed before it hears back.
    telegram.hold_at = 25
    first = bot_process(telegram, tmp_path)
    try:
        await asyncio.wait_for(telegram.held.wait(), 60)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    telegram.hold_at = None
    delivered_before = len(telegram.sent)

    second = bot_process(telegram, tmp_path)
    try:
        await telegram.wait_for(BOSS, lambda m: REPORT in m.text, limit=60)
    finally:
        code, errors = await stop(second)
    assert delivered_before == 25
    delivered = reminders_to(telegram)
    assert set(delivered) == set(chats), "someone was missed"
    assert set(delivered.values()) == {1}, [c for c, n in delivered.items() if n > 1]
    # The one caught in flight was delivered, but the bot cannot know: it says so, and did not repeat it.
    report = next(m for m in telegram.to(BOSS) if REPORT in m.text)
    assert say("broadcast_report", sent=59, blocked=0, failed=0, uncertain=1) in report.text
    assert code == 0, errors[-2000:]


async def test_a_coordinator_taken_off_the_list_loses_the_office_menu_at_the_next_start(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    # The bot remembers whom it gave the office's menu (in its database): restarted with another
    # coordinator, it takes the menu away from the one no longer on the list.
    first = bot_process(telegram, tmp_path)
    try:
        await polling(telegram)  # the menus are set before
        assert BOSS in telegram.chat_commands and telegram.commands
    finally:
        code, errors = await stop(first)
    assert code == 0, errors[-2000:]
    second = bot_process(telegram, tmp_path, AWARD_COORDINATORS="9001")
    try:
        await telegram.until(lambda: 9001 in telegram.chat_commands, what="the new coordinator's menu")
        await polling(telegram, since=len(telegram.calls))
    finally:
        code, errors = await stop(second)
    assert code == 0, errors[-2000:]
    assert BOSS not in telegram.chat_commands and 9001 in telegram.chat_commands
    assert telegram.commands  # everyone's menu stays
