"""The terminal channel: a whole application typed (or piped) into `award-bot console`."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import sqlite3
from typing import TextIO

from bot.console import Console
from bot.flows.dispatch import Dispatcher
from bot.flows.events import Sender
from bot.flows.interview import Interview
from tests.conftest import ROOT, award_bot, jpeg

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
    assert "📎 申报书-王芳-第1版.docx（文件保存在：" in out  # its name as it would be sent
    assert "关于刚才" not in out  # a complete example application: no advice anywhere
    assert out.rstrip().endswith("再见！")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM applications").fetchone() == ("submitted",)
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone() == (39,)


def test_the_same_console_user_resumes_on_a_later_run(tmp_path) -> None:
    env = {"AWARD_DB": str(tmp_path / "award.db")}
    assert award_bot("console", "--user", "zl", stdin="#1\n赵六\n1\n", env=env).returncode == 0
    later = award_bot("console", "--user", "zl", env=env)
    assert "欢迎回来" in later.stdout and "请填写：民族" in later.stdout


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


def _terminal(fd: int) -> TextIO:
    """The console's side of a pseudo-terminal, as a person's terminal looks to it (isatty())."""
    return open(fd, encoding="utf-8", closefd=False)


async def _application_id(storage, user: str = "u") -> int:
    found = await storage.find_applicant("console", user)
    return (await storage.application(found.id)).id


async def _consented_console(storage, criteria, out: io.StringIO, user: str = "u") -> Console:
    console = Console(Dispatcher(Interview(storage, criteria).handle), Sender("console", user), out)
    await console.send("/start")
    await console.send("#1")
    await console.send("/jump 7.4a")
    return console


async def at_a_terminal(console: Console, *typed: bytes) -> None:
    """Run the console on a pseudo-terminal and type (or paste) each chunk a moment apart, then Ctrl+D."""
    master, slave = pty.openpty()
    try:
        with _terminal(slave) as terminal:
            running = asyncio.create_task(console.run(terminal, opening="/where"))
            for chunk in typed:
                await asyncio.sleep(0.3)
                os.write(master, chunk)
            await asyncio.sleep(0.5)
            os.write(master, b"\x04")  # Ctrl+D at the start of a line: the end of input
            await asyncio.wait_for(running, 10)
    finally:
        os.close(master)
        os.close(slave)


async def test_a_paste_with_blank_lines_at_a_terminal_is_one_answer(storage, criteria) -> None:
    out = io.StringIO()
    console = await _consented_console(storage, criteria, out)
    await at_a_terminal(console, "第一段：2023年获省级劳动模范。\n\n第二段：2024年获开发区质量标兵。\n".encode())
    shown = out.getvalue()
    assert "没有收到文字内容" not in shown
    assert shown.count("已保存 7.4a 的回答") == 1 and "已补充" not in shown
    app_id = await _application_id(storage)
    assert await storage.answer(app_id, "7.4a") == "第一段：2023年获省级劳动模范。\n\n第二段：2024年获开发区质量标兵。"


def test_blank_lines_in_a_piped_script_are_skipped_quietly(tmp_path) -> None:
    result = award_bot("console", "--user", "piped", stdin="#1\n\n\n王芳\n\n/quit\n这一行不会被读到\n",
                       env={"AWARD_DB": str(tmp_path / "award.db")})
    assert result.returncode == 0, result.stderr
    assert "没有收到文字内容" not in result.stdout
    assert "已记下姓名：王芳" in result.stdout and "不会被读到" not in result.stdout.split("> /quit")[-1]
    assert result.stdout.rstrip().endswith("再见！")


async def test_a_file_is_attached_from_the_terminal_and_help_says_how(storage, criteria, tmp_path) -> None:
    out = io.StringIO()
    console = await _consented_console(storage, criteria, out)
    certificate = tmp_path / "劳模 证书.jpg"
    certificate.write_bytes(jpeg("certificate"))
    await console.send(f'/attach "{certificate}" 省级劳动模范证书')
    assert "已收到" in out.getvalue()
    app_id = await _application_id(storage)
    [kept] = await storage.attachments(app_id, "7.4a")
    assert kept.caption == "省级劳动模范证书" and kept.mime_type == "image/jpeg"
    await console.send("/attach /no/such/file.jpg")
    assert "找不到文件 /no/such/file.jpg" in out.getvalue()
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    await console.send(f"/attach {fake}")
    assert "fake.png" in out.getvalue().split("找不到文件")[-1]  # refused, by name
    assert len(await storage.attachments(app_id, "7.4a")) == 1
    await console.send("/help")
    assert "/attach 文件路径 说明" in out.getvalue() and "/quit 或 Ctrl+D" in out.getvalue()


async def test_a_marked_paste_whose_last_line_waits_for_enter_is_still_one_answer(storage, criteria) -> None:
    out = io.StringIO()
    console = await _consented_console(storage, criteria, out)
    await at_a_terminal(console, "\x1b[200~第一段。\n\n第二段。\x1b[201~".encode(), b"\n")
    assert out.getvalue().count("已保存 7.4a 的回答") == 1
    assert await storage.answer(await _application_id(storage), "7.4a") == "第一段。\n\n第二段。"


async def test_a_line_the_terminal_cut_short_is_not_saved_and_the_applicant_is_told(storage, criteria) -> None:
    out = io.StringIO()
    console = await _consented_console(storage, criteria, out)
    await at_a_terminal(console, ("很长的一段。" * 300 + "\n").encode())
    assert "这一行太长了" in out.getvalue()
    assert await storage.answer(await _application_id(storage), "7.4a") == ""


async def test_attach_explains_a_folder_an_unknown_home_and_reads_a_photo_without_extension(
        storage, criteria, tmp_path) -> None:
    out = io.StringIO()
    console = await _consented_console(storage, criteria, out)
    await console.send(f"/attach {tmp_path}")
    assert "是一个文件夹" in out.getvalue()
    await console.send("/attach ~nosuchuser-award/a.jpg")
    assert "读不了文件 ~nosuchuser-award/a.jpg" in out.getvalue()
    photo = tmp_path / "IMG_0001"
    photo.write_bytes(jpeg("no extension"))
    await console.send(f"/attach {photo} 证书")
    [kept] = await storage.attachments(await _application_id(storage), "7.4a")
    assert kept.mime_type == "image/jpeg" and kept.caption == "证书"
