"""The terminal channel: a whole application typed (or piped) into `award-bot console`."""

from __future__ import annotations

import io
import sqlite3

from bot.console import Console
from bot.flows.dispatch import Dispatcher
from bot.flows.events import Sender
from bot.flows.interview import Interview
from tests.conftest import ROOT, award_bot

SESSION = ROOT / "examples" / "console-session.txt"


def test_a_scripted_console_session_piped_from_a_file_reaches_the_end(tmp_path) -> None:
    db = tmp_path / "award.db"
    result = award_bot("console", "--user", "wangfang", "--name", "王芳",
                       stdin=SESSION.read_text(encoding="utf-8"), env={"AWARD_DB": str(db)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "王芳，欢迎使用质量奖申报助手" in out
    assert "自评报告已答 39/39 题" in out
    assert "申报已于" in out and "提交，辛苦了" in out
    assert out.rstrip().endswith("再见！")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM applications").fetchone() == ("submitted",)
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone() == (39,)


def test_the_same_console_user_resumes_on_a_later_run(tmp_path) -> None:
    env = {"AWARD_DB": str(tmp_path / "award.db")}
    assert award_bot("console", "--user", "zl", stdin="#1\n赵六\n1\n", env=env).returncode == 0
    later = award_bot("console", "--user", "zl", env=env)
    assert "欢迎回来" in later.stdout and "请填写：出生年月" in later.stdout


async def test_buttons_are_numbered_and_a_wrong_number_is_explained(storage, criteria) -> None:
    out = io.StringIO()
    console = Console(Dispatcher(Interview(storage, criteria).handle), Sender("console", "u"), out)
    await console.send("/start")
    assert "[1] 同意并开始  [2] 不同意" in out.getvalue()
    await console.send("#5")
    assert "没有第 5 个按钮" in out.getvalue()
    await console.send("#1")
    await console.send("12")  # the name field wants text: a bare number is text, not a button
    assert "已记下姓名：12" in out.getvalue()


async def test_odd_digits_and_full_width_commands_are_understood(storage, criteria) -> None:
    out = io.StringIO()
    console = Console(Dispatcher(Interview(storage, criteria).handle), Sender("console", "u"), out)
    await console.send("/start")
    await console.send("①")  # isdigit() but not a number: sent as text, never a crash
    await console.send("#²")
    await console.send("#1")
    await console.send("／where")
    assert out.getvalue().count("请填写：姓名") == 2
    await console.send("/jump　3.2")
    assert "没有「/jump　3.2」" not in out.getvalue()
