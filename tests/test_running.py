"""`award-bot run` as the office runs it, a process of its own: its log, one per database, a rival poller."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

from aiohttp import ClientSession

from bot.wording import say
from tests.conftest import ROOT, jpeg
from tests.fake_telegram import FakeTelegram
from tests.telegram_fixtures import Phone, polling, stop


def start_bot(telegram: FakeTelegram, folder: Path, **env: str) -> subprocess.Popen:
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": telegram.token,
                   "TELEGRAM_API_URL": f"http://127.0.0.1:{telegram.port}", "AWARD_DB": str(folder / "award.db"),
                   "AWARD_PDF": "false", "AWARD_CHAT_RATE": "50", **env}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=environment, cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_at_debug_level_the_log_holds_no_answer_file_name_caption_or_token(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    bot = start_bot(telegram, tmp_path, AWARD_LOG_LEVEL="DEBUG")
    try:
        await polling(telegram)
        phone = Phone(telegram, 4101, "申报人")
        await phone.type("/start")
        await phone.tap(say("btn_consent_yes"))
        await phone.type("姓名机密MARK-NAME")
        await phone.type("/jump 7.4a")
        await phone.type("回答机密MARK-ANSWER：2024年获评省劳动模范。")
        telegram.send_document(4101, "cert", jpeg("certificate"), "文件名机密MARK-FILE.jpg", "image/jpeg",
                               caption="说明机密MARK-CAPTION", name="申报人")
        await telegram.settle(4101)
        draft = asyncio.ensure_future(telegram.wait_for(4101, lambda m: m.document is not None))
        await phone.type("/draft")
        await draft
    finally:
        code, log = await stop(bot)
    assert code == 0, log[-2000:]
    assert "DEBUG" in log or "INFO" in log  # it did log
    for secret in ("MARK-NAME", "MARK-ANSWER", "MARK-FILE", "MARK-CAPTION", telegram.token, "TEST-TOKEN"):
        assert secret not in log, secret


async def test_a_second_bot_on_the_same_database_refuses_to_start(telegram: FakeTelegram, tmp_path: Path) -> None:
    first = start_bot(telegram, tmp_path)
    try:
        await polling(telegram)
        second = start_bot(telegram, tmp_path)
        _, errors = await asyncio.to_thread(second.communicate, timeout=30)
        assert second.returncode == 1 and "同一个数据库只能运行一个" in errors.decode()
        assert "Traceback" not in errors.decode()
    finally:
        code, log = await stop(first)
    assert code == 0, log[-2000:]


async def test_when_another_program_polls_the_same_bot_it_stops_cleanly_and_says_why(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    telegram.conflict = True
    bot = start_bot(telegram, tmp_path)
    try:
        code = await asyncio.wait_for(asyncio.to_thread(bot.wait), 30)
    finally:
        if bot.poll() is None:
            bot.kill()
    log = bot.stderr.read().decode() if bot.stderr else ""
    assert code == 1 and "409 Conflict" in log and "只运行一个 award-bot run" in log
    assert "Traceback" not in log
    assert sum(1 for method, _ in telegram.calls if method == "getUpdates") <= 3  # no endless retries


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def page(port: int, limit: float = 30) -> str:
    deadline = time.monotonic() + limit
    async with ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/") as response:
                    return await response.text()
            except OSError:
                assert time.monotonic() < deadline, "the web page never answered"
                await asyncio.sleep(0.1)


async def test_with_a_web_port_one_run_serves_telegram_and_the_web_page_on_one_database(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    bot = start_bot(telegram, tmp_path, AWARD_WEB_PORT=str(port))
    try:
        await polling(telegram)
        assert say("web_btn_start") in await page(port)
        phone = Phone(telegram, 4201, "申报人")
        await phone.type("/start")
        assert "同意并开始" in str(phone.last_with_buttons().buttons)
    finally:
        code, log = await stop(bot)
    assert code == 0, log[-2000:]


def start_web(folder: Path, port: int) -> subprocess.Popen:
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "AWARD_DB": str(folder / "award.db"),
                   "AWARD_PDF": "false"}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "web", "--port", str(port)], env=environment,
                            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_award_bot_web_alone_needs_no_token_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    web = start_web(tmp_path, port)
    try:
        assert say("web_btn_start") in await page(port)
    finally:
        code, log = await stop(web)
    assert code == 0, log[-2000:]
