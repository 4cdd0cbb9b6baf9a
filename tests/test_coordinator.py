"""The award office's side, straight through the flows: downloads, export, reminders, the command line."""

from __future__ import annotations

import sqlite3
import zipfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.export import export_all
from bot.flows.coordinator import Coordinator, Coordinators
from bot.flows.interview import Interview
from bot.flows.router import Router
from bot.reminders import ReminderPolicy
from bot.storage import Storage
from bot.wording import say
from tests.conftest import FakeApplicant, answer_for, award_bot

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def router(storage: Storage, criteria, tmp_path: Path) -> Router:
    coordinators = Coordinators.parse("test:boss")
    interview = Interview(storage, criteria, data_dir=tmp_path / "files", coordinators=coordinators)

    async def exporter() -> Path:
        return (await export_all(storage, criteria, tmp_path / "exports", tz=TZ)).zip_path

    # No quiet hours here, so that the test does not depend on the time of day it runs at.
    policy = ReminderPolicy(TZ, quiet_start=time(0, 0), quiet_end=time(0, 0))
    return Router(interview, Coordinator(storage, criteria, coordinators, policy, exporter=exporter,
                                         refuse=interview.handle))


async def test_the_office_downloads_an_applicants_latest_document_and_exports_everyone(
    router: Router, storage: Storage
) -> None:
    applicant = FakeApplicant(router, "a1", "王芳")
    await applicant.reach_questions()
    await applicant.say(answer_for("1.1a"))
    await applicant.command("draft")
    other = FakeApplicant(router, "a2")
    await other.reach_questions()
    boss = FakeApplicant(router, "boss", "办公室")
    await boss.command("list")
    assert "全部：2 人" in boss.text
    first = (await storage.find_applicant("test", "a1")).id
    assert f"co:d:{first}" in [b.data for b in boss.buttons]
    await boss.press(f"co:d:{first}")
    assert "已答 1/39 题" in boss.text and "第 1 版" in boss.text
    replies = await boss.tap("下载申报书")
    [file] = [r for r in replies if r.document is not None]
    assert file.document_name == "申报书-张三-第1版-草稿.docx" and file.document.exists()
    replies = await boss.command("export")
    [archive] = [r for r in replies if r.document is not None]
    with zipfile.ZipFile(archive.document) as opened:
        names = opened.namelist()
        assert "汇总.xlsx" in names
        assert any(name.endswith("张三_连云港某某精密机械有限公司_草稿.docx") for name in names)
        opened.extract("汇总.xlsx", archive.document.parent)
    sheet = openpyxl.load_workbook(archive.document.parent / "汇总.xlsx")["汇总"]
    assert sheet.max_row == 3  # the header and both applicants


async def test_reminding_one_applicant_asks_first_and_queues_once(router: Router, storage: Storage) -> None:
    applicant = FakeApplicant(router, "a1", "王芳")
    await applicant.reach_questions()
    boss = FakeApplicant(router, "boss")
    await boss.command("list")
    await boss.tap("1")
    await boss.tap("提醒此人")
    assert "将发送给 1 人" in boss.text and await storage.due_messages() == []
    confirm = boss.button("确认发送")
    await boss.press(confirm.data)
    assert boss.text == say("co_remind_queued", count=1)
    await boss.press(confirm.data)  # a second tap on the same button
    assert boss.text == say("co_remind_already")
    [queued] = await storage.due_messages()
    assert queued.recipient == "a1" and "张三" in queued.payload["text"]


def outbox_rows(db_path: Path) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT * FROM outbox ORDER BY id").fetchall()


async def test_a_send_button_for_nobody_or_a_forged_one_queues_nothing(
    router: Router, storage: Storage, db_path: Path
) -> None:
    waiting, done = FakeApplicant(router, "a1", "王芳"), FakeApplicant(router, "a2", "李四")
    for person in (waiting, done):
        await person.reach_questions()
    await done.command("finish")
    await done.tap("仍然提交")
    done_id = (await storage.find_applicant("test", "a2")).id
    before = outbox_rows(db_path)  # the submission's notice to the office
    boss = FakeApplicant(router, "boss")
    replies = {}
    for data in ("co:rc:everyone-ever:0000", f"co:rc:one:{done_id}:0001", "co:rc:one:999999:0002",
                 "co:rc:one:-1:0003", "co:rc:one::0004", "co:rc:inactive:0005"):
        await boss.press(data)
        replies[data] = boss.text
    assert outbox_rows(db_path) == before
    assert replies == dict.fromkeys(replies, say("co_remind_nobody"))


async def test_the_inactive_filter_shows_only_the_silent(router: Router, storage: Storage, db_path: Path) -> None:
    busy, silent = FakeApplicant(router, "a1"), FakeApplicant(router, "a2")
    for person in (busy, silent):
        await person.reach_questions()
    quiet_since = (datetime.now(UTC) - timedelta(days=10)).isoformat(timespec="seconds")
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE applicants SET last_active_at = ? WHERE external_id = 'a2'", (quiet_since,))
    boss = FakeApplicant(router, "boss")
    await boss.command("list", "idle")
    assert "长期未活动：1 人" in boss.text and "（长期未活动）" in boss.text


def prepare_database(path: Path) -> None:
    import asyncio

    async def fill() -> None:
        storage = await Storage.open(path)
        person = await storage.applicant("telegram", "777", "钱七")
        app = await storage.create_application(person.id, "lyg-etdz-individual", 1)
        await storage.update_application(app.id, status="active", step="q:1.1a")
        await storage.set_profile_value(app.id, "name", "钱七", None)
        await storage.close()
        with sqlite3.connect(path) as db:
            long_ago = (datetime.now(UTC) - timedelta(days=9)).isoformat(timespec="seconds")
            db.execute("UPDATE applicants SET last_active_at = ?", (long_ago,))

    asyncio.run(fill())


def test_remind_dry_run_and_export_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "award.db"
    prepare_database(db)
    env = {"AWARD_DB": str(db), "AWARD_DATA_DIR": str(tmp_path / "data"), "AWARD_QUIET_HOURS": ""}
    done = award_bot("remind", "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert "钱七" in done.stdout and "9 天未活动" in done.stdout and "没有发送" in done.stdout
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    done = award_bot("remind", env=env)
    assert "已排队 1 条提醒" in done.stdout
    done = award_bot("export", "-o", str(tmp_path / "out"), env=env)
    assert done.returncode == 0, done.stderr
    [archive] = list((tmp_path / "out").glob("*.zip"))
    assert "汇总.xlsx" in zipfile.ZipFile(archive).namelist()
    assert "钱七" in done.stderr  # no document yet: said so


async def test_an_export_too_big_for_telegram_stays_on_the_server(router: Router, monkeypatch) -> None:
    from bot.flows import coordinator

    monkeypatch.setattr(coordinator, "UPLOAD_LIMIT", 100)  # bytes: any real export is bigger
    boss = FakeApplicant(router, "boss")
    replies = await boss.command("export")
    assert all(r.document is None for r in replies)
    assert "超过了 Telegram 50 MB 的上限" in boss.text and ".zip" in boss.text


async def test_a_name_typed_with_a_right_to_left_override_cannot_pass_for_another_in_the_office_list(
    router: Router, storage: Storage
) -> None:
    # U+202E before 芳王 displays as 王芳: in the list it would look like the real 王芳.
    spoofer = FakeApplicant(router, "a1", "\u202e芳王")
    await spoofer.consent()
    await spoofer.say("\u202e芳王")
    assert "已记下姓名：芳王" in spoofer.text
    invisible = FakeApplicant(router, "a2", "\u200b\u200f")
    await invisible.consent()
    await invisible.say("\u200b\u200b")
    assert "没有收到文字内容" in invisible.text and "请填写：姓名" in invisible.text
    boss = FakeApplicant(router, "boss")
    await boss.command("list")
    assert "芳王" in boss.text and "\u202e" not in boss.text and "\u200b" not in boss.text
    assert (await storage.find_applicant("test", "a1")).display_name == "芳王"


def test_a_coordinator_given_by_username_stops_the_bot_with_a_clear_message(tmp_path: Path) -> None:
    env = {"AWARD_DB": str(tmp_path / "award.db"), "AWARD_DATA_DIR": str(tmp_path / "data"),
           "AWARD_COORDINATORS": "123456789，@wang_office"}
    result = award_bot("remind", "--dry-run", env=env)
    assert result.returncode == 2
    assert "配置错误" in result.stderr and "'@wang_office' is not a coordinator" in result.stderr
    env["AWARD_COORDINATORS"] = "0123456789"  # would never match the user, whose id is 123456789
    assert award_bot("remind", "--dry-run", env=env).returncode == 2
    env["AWARD_COORDINATORS"] = "123456789，console:王主任"
    assert award_bot("check", "1.1a", env=env).returncode == 0  # accepted: the command runs
