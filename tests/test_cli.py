"""The award-bot command as its users meet it: settings, help, errors and the office's verbs, in plain words."""

from __future__ import annotations

import asyncio
import io
import logging
import math
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.cli import main
from bot.config import EXAMPLES, Settings
from bot.criteria import Criteria
from bot.remind_report import reminder_report
from bot.reminders import DEADLINE_SETTING
from bot.storage import Storage
from tests.conftest import award_bot

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., int]]:
    """`award-bot ARGS` in this process: quicker than a child process, and put back as it was afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    umask = os.umask(0o077)
    os.umask(umask)
    for name in list(os.environ):
        if name.startswith(("AWARD_", "TELEGRAM_")):
            monkeypatch.delenv(name)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)  # no .env of the checkout; anything written unasked would show up here

    def run(*args: str) -> int:
        try:
            return main(list(args))
        except SystemExit as stop:  # argparse's --help and its errors
            return int(stop.code or 0)

    yield run
    root.handlers[:] = handlers
    root.setLevel(level)
    os.umask(umask)


def make_database(path: Path, *names: str) -> Path:
    """A database with an applicant per name, on a question of the interview, last active now."""

    async def fill() -> None:
        storage = await Storage.open(path)
        for number, name in enumerate(names, start=1):
            person = await storage.applicant("telegram", str(700 + number), name)
            app = await storage.create_application(person.id, "lyg-etdz-individual", 1)
            await storage.update_application(app.id, status="active", step="q:1.1a")
            await storage.set_profile_value(app.id, "name", name, None)
        await storage.close()

    asyncio.run(fill())
    return path


# -- 1. configuration errors ------------------------------------------------------------------

BAD = {
    "AWARD_DEADLINE": "2026-13-45",
    "AWARD_TIMEZONE": "Beijing",
    "AWARD_QUIET_HOURS": "9pm-8am",
    "AWARD_REMIND_DAYS": "7,3,0",
    "AWARD_COORDINATORS": "123456789,@wang_office",
    "AWARD_SEND_RATE": "0",
    "AWARD_CHAT_RATE": "fast",
    "AWARD_INACTIVE_DAYS": "一周",
    "AWARD_REMINDER_CHECK_SECONDS": "5",
    "AWARD_PDF": "maybe",
    "AWARD_LOG_LEVEL": "DEBGU",
    "AWARD_WEBHOOK_URL": "http://award.example.cn/tg",
}


def test_an_office_that_mistypes_the_deadline_is_told_which_setting_and_how_to_write_it(tmp_path: Path) -> None:
    done = award_bot("check", "1.1a", env={"AWARD_DEADLINE": "2026-13-45"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "配置错误：AWARD_DEADLINE=2026-13-45 不是有效的截止时间，例如 2026-12-31 或 2026-12-31 17:00"
        "（只写日期表示当天 23:59） (AWARD_DEADLINE: expected a deadline like 2026-12-31 17:00)"
    ]


@pytest.mark.parametrize("name", sorted(BAD))
def test_every_checked_setting_says_its_name_the_value_given_and_a_good_one(
    name: str, cli: Callable[..., int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, BAD[name])
    assert cli("check", "1.1a") == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"配置错误：{name}={BAD[name]} ")
    assert EXAMPLES[name] in line and f"({name}: " in line
    assert "validation error" not in line and "pydantic" not in line


def test_several_bad_settings_get_a_line_each(
    cli: Callable[..., int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in BAD.items():
        monkeypatch.setenv(name, value)
    assert cli("check", "1.1a") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert sorted(line.split("=")[0].removeprefix("配置错误：") for line in lines) == sorted(BAD)
    # A coordinator given by @username is named, so the office knows which entry to fix.
    assert any("@wang_office 不是申报办公室成员的写法" in line for line in lines)


def test_every_checked_setting_has_an_example_and_every_example_is_accepted() -> None:
    checked = {info.alias for info in Settings.model_fields.values()
               if info.metadata or info.annotation in (int, float, bool)}
    validated = {field for decorator in Settings.__pydantic_decorators__.field_validators.values()
                 for field in decorator.info.fields}
    checked |= {Settings.model_fields[field].alias for field in validated}
    assert checked == set(EXAMPLES)
    Settings(**EXAMPLES)  # the examples are good values


def test_the_send_rate_goes_above_telegram_s_30_or_off_on_purpose() -> None:
    # Paid broadcasts allow up to 1,000 a second; a benchmark or a pacing proxy wants none at all.
    assert Settings(AWARD_SEND_RATE="100").send_rate == 100
    assert Settings(AWARD_SEND_RATE="unlimited").send_rate == math.inf
    assert Settings(AWARD_SEND_RATE=" Unlimited ").send_rate == math.inf
    for wrong in ("0", "-5", "fast"):
        with pytest.raises(ValidationError):
            Settings(AWARD_SEND_RATE=wrong)


# -- 2. --db for the office's verbs -----------------------------------------------------------------


@pytest.mark.parametrize("verb", [["backup", "copy.db"], ["export", "-o", "out"], ["remind", "--dry-run"]])
def test_a_mistyped_database_is_said_plainly_and_no_empty_one_is_made(
    verb: list[str], cli: Callable[..., int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    typo = tmp_path / "awrad.db"
    assert cli(*verb, "--db", str(typo)) == 1
    err = capsys.readouterr().err
    assert f"找不到数据库 {typo}" in err and "--db" in err and "AWARD_DB" in err
    assert not typo.exists() and list(Path.cwd().iterdir()) == []


def test_export_remind_and_backup_work_on_the_database_given_with_db(
    cli: Callable[..., int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = make_database(tmp_path / "office" / "award.db", "钱七")
    assert cli("remind", "--dry-run", "--db", str(db)) == 0
    assert "截止时间：未设置" in capsys.readouterr().out
    assert cli("export", "-o", str(tmp_path / "out"), "--db", str(db)) == 0
    assert "钱七" in capsys.readouterr().err  # no 申报书 yet: said so
    assert len(list((tmp_path / "out").glob("*.zip"))) == 1
    assert cli("backup", str(tmp_path / "copy.db"), "--db", str(db)) == 0
    assert "1 位申报人" in capsys.readouterr().out
    assert list(Path.cwd().iterdir()) == []  # nothing in the current folder: no data/award.db made


# -- 3. remind --dry-run: where the deadline comes from, and the quiet hours --------------------------


async def report_lines(db: Path, criteria: Criteria, now: datetime, **env: str) -> str:
    settings = Settings(AWARD_DB=str(db), AWARD_DATA_DIR=str(db.parent / "files"), **env)
    storage = await Storage.open(db)
    try:
        report = await reminder_report(settings, storage, criteria, now)
    finally:
        await storage.close()
    return "\n".join(report.lines)


async def test_in_quiet_hours_the_dry_run_says_who_is_reminded_when_they_end(
    tmp_path: Path, criteria: Criteria
) -> None:
    db = tmp_path / "award.db"
    await asyncio.to_thread(make_database, db, "钱七")
    late = datetime(2030, 6, 1, 23, 0, tzinfo=SHANGHAI)  # the applicant's last message was years before
    text = await report_lines(db, criteria, late)
    assert "现在是 2030-06-01 23:00（Asia/Shanghai）" in text
    assert "截止时间：未设置" in text and "/deadline" in text and "AWARD_DEADLINE" in text
    assert "现在是休息时间（21:00-08:00），不发自动提醒。休息时间在 2030-06-02 08:00 结束，那时会提醒：" in text
    assert "钱七（—）：" in text and "天未活动" in text
    assert "没有需要提醒的人" not in text


async def test_the_dry_run_says_the_deadline_comes_from_award_deadline(tmp_path: Path, criteria: Criteria) -> None:
    db = tmp_path / "award.db"
    await asyncio.to_thread(make_database, db, "钱七")
    morning = datetime(2030, 6, 1, 10, 0, tzinfo=SHANGHAI)
    text = await report_lines(db, criteria, morning, AWARD_DEADLINE="2030-06-03")
    assert "截止时间：2030-06-03 23:59，来自 AWARD_DEADLINE=2030-06-03" in text
    assert "休息时间" not in text
    assert "钱七（—）：离截止还有 3 天，已答 0/39 题" in text


async def test_a_deadline_set_with_slash_deadline_is_named_as_the_office_s_and_wins(
    tmp_path: Path, criteria: Criteria
) -> None:
    db = tmp_path / "award.db"
    await asyncio.to_thread(make_database, db)
    storage = await Storage.open(db)
    await storage.set_setting(DEADLINE_SETTING, datetime(2030, 7, 1, 17, 0, tzinfo=SHANGHAI).isoformat())
    await storage.close()
    early = datetime(2030, 6, 1, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
    text = await report_lines(db, criteria, early, AWARD_DEADLINE="2030-06-03")
    assert "截止时间：2030-07-01 17:00，由申报办公室在机器人里用 /deadline 设置" in text
    assert "AWARD_DEADLINE=2030-06-03 现在不起作用" in text
    assert "现在没有需要提醒的人。" in text


async def test_in_quiet_hours_with_nobody_due_the_dry_run_says_so(tmp_path: Path, criteria: Criteria) -> None:
    db = tmp_path / "award.db"
    await asyncio.to_thread(make_database, db)
    text = await report_lines(db, criteria, datetime(2030, 6, 1, 7, 30, tzinfo=SHANGHAI),
                              AWARD_QUIET_HOURS="22:00-08:00", AWARD_DEADLINE="2030-01-01")
    assert "截止时间已经过了，不再发自动提醒。" in text
    assert "休息时间在 2030-06-01 08:00 结束，那时也没有需要提醒的人。" in text


def test_remind_dry_run_from_the_command_line_names_the_deadline_setting(tmp_path: Path) -> None:
    db = make_database(tmp_path / "award.db", "钱七")
    done = award_bot("remind", "--dry-run", "--db", str(db),
                     env={"AWARD_DEADLINE": "2099-12-31", "AWARD_QUIET_HOURS": "", "AWARD_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "截止时间：2099-12-31 23:59，来自 AWARD_DEADLINE=2099-12-31" in done.stdout
    assert "现在没有需要提醒的人。" in done.stdout  # 钱七 was active just now
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


# -- 4. check at a terminal ---------------------------------------------------------------------------


class Keyboard(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stdin, told", [(Keyboard, True), (io.StringIO, False)])
def test_check_at_a_terminal_says_it_waits_for_the_answer_and_how_to_end_it(
    stdin: type[io.StringIO], told: bool, cli: Callable[..., int], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", stdin("2023年合格率96%，2024年98%。\n"))
    assert cli("check", "7.1c") == 0
    out, err = capsys.readouterr()
    if told:
        assert "从标准输入读取" in err and "Ctrl+D" in err
    else:
        assert err == ""  # a script piping an answer in gets nothing but the JSON
    assert '"code"' in out


# -- 5. demo without -o -------------------------------------------------------------------------------


def test_demo_without_o_writes_into_a_new_temporary_folder_and_says_where(
    cli: Callable[..., int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert cli("demo", "--no-pdf") == 0
    out = capsys.readouterr().out
    [folder] = tmp_path.glob("award-bot-demo-*")
    assert f"临时文件夹 {folder}" in out and f"{folder / 'sample.docx'}: 39/39 题" in out
    assert (folder / "sample.docx").stat().st_size > 50_000
    assert list(Path.cwd().iterdir()) == []


# -- 6. help and argparse's errors in Chinese ---------------------------------------------------------

VERBS = ["console", "run", "check", "render", "demo", "export", "remind", "backup", "criteria", "criteria validate"]


def test_help_is_in_chinese_for_the_command_and_every_verb(
    cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("--help") == 0
    top = capsys.readouterr().out
    assert top.startswith("用法：award-bot") and "命令" in top and "显示这段说明后退出" in top
    assert all(verb.split()[0] in top for verb in VERBS)
    for verb in VERBS:
        assert cli(*verb.split(), "--help") == 0
        text = capsys.readouterr().out
        assert text.startswith(f"用法：award-bot {verb}"), verb
        for english in ("usage:", "options:", "positional arguments", "show this help message"):
            assert english not in text, (verb, english)
    assert cli("export", "--help") == 0
    assert "--db PATH" in capsys.readouterr().out
    assert cli("remind", "--help") == 0
    assert "数据库文件（默认 $AWARD_DB 或 data/award.db）" in capsys.readouterr().out


@pytest.mark.parametrize("args, hint", [
    (["exprot"], "没有「exprot」这一项，可选：console, run,"),
    (["render", "answers.json"], "缺少 -o/--output"),
    (["check"], "缺少 QUESTION_ID"),
    (["check", "1.1a", "--attachments", "两个"], "--attachments 的值「两个」不对"),
    (["backup", "copy.db", "--verbose"], "不认识 --verbose"),
])
def test_a_mistyped_command_line_shows_the_usage_and_a_chinese_hint(
    args: list[str], hint: str, cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith("用法：award-bot") and f"错误：{hint}" in err and "--help 查看说明" in err


# -- 7. the office at the terminal --------------------------------------------------------------------


def test_a_coordinator_at_the_console_gets_the_office_desk_not_the_consent(tmp_path: Path) -> None:
    env = {"AWARD_DB": str(tmp_path / "award.db"), "AWARD_COORDINATORS": "console:office"}
    office = award_bot("console", "--user", "office", env=env)
    assert office.returncode == 0, office.stderr
    assert "申报办公室" in office.stdout and "申报进度" in office.stdout
    assert "同意并开始" not in office.stdout
    applicant = award_bot("console", "--user", "wang", env=env)
    assert "同意并开始" in applicant.stdout
