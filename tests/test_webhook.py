"""Webhook mode (#18): `award-bot run` with AWARD_WEBHOOK_URL receives updates on the web server's port.

The local Bot API server (tests/fake_telegram.py) POSTs each update to the URL given in setWebhook,
with its secret token, one after another, as Telegram does. A request without the token is refused
and handled never; an update is handled once; one received but not handled when the bot was killed
is handled at the next start.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
from pathlib import Path

import pytest

from bot.wording import say
from tests.conftest import award_bot
from tests.fake_telegram import FakeTelegram
from tests.telegram_fixtures import bot_process, stop

USER = 7001


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(telegram: FakeTelegram, folder: Path, port: int):
    return bot_process(telegram, folder, AWARD_WEBHOOK_URL=f"http://127.0.0.1:{port}/tg", AWARD_WEB_PORT=str(port))


async def test_updates_come_by_webhook_with_the_secret_once_each_and_survive_a_kill(
        telegram: FakeTelegram, tmp_path: Path) -> None:
    port = free_port()
    process = start(telegram, tmp_path, port)
    try:
        await telegram.until(lambda: telegram.webhook is not None, 30, "setWebhook")
        assert telegram.webhook is not None and telegram.webhook[0] == f"http://127.0.0.1:{port}/tg"
        assert not any(method == "getUpdates" for method, _ in telegram.calls)  # no polling beside it

        # Someone who guessed the address but not the secret gets nothing handled.
        telegram.send_text(USER, "/start", "王芳")
        update = telegram._delivered[telegram.last_update_id]
        await telegram.until(lambda: any(say("btn_consent_yes") in str(m.buttons) for m in telegram.to(USER)), 30,
                             "the welcome")
        welcomes = len(telegram.to(USER))
        forged = dict(update, update_id=update["update_id"] + 1000)
        assert await telegram.post_to_webhook(forged, secret="guessed") == 403
        assert await telegram.post_to_webhook(forged, secret="") == 403
        assert await telegram.post_to_webhook(forged, secret="密钥") == 403  # not a 500
        # The same update sent again (Telegram retries when an answer is lost) is handled once.
        assert await telegram.post_to_webhook(update) == 200
        await asyncio.sleep(0.5)
        assert len(telegram.to(USER)) == welcomes
        assert set(telegram.webhook_statuses) <= {200, 403}

        # Received and stored, then the bot is killed before handling it: handled at the next start.
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.wait)
        stored = dict(update, update_id=update["update_id"] + 1, message={**update["message"], "text": "/help"})
        with sqlite3.connect(tmp_path / "award.db") as db:
            db.execute("INSERT INTO webhook_inbox (update_id, payload, received_at) VALUES (?, ?, '2026-11-29')",
                       (stored["update_id"], json.dumps(stored, ensure_ascii=False)))
        before = len(telegram.to(USER))
        process = start(telegram, tmp_path, port)
        await telegram.until(lambda: len(telegram.to(USER)) > before, 30, "the stored update handled")
        code, errors = await stop(process)
        assert code == 0, errors
        with sqlite3.connect(tmp_path / "award.db") as db:
            left = db.execute("SELECT count(*) FROM webhook_inbox WHERE update_id NOT IN "
                              "(SELECT update_id FROM seen_updates)").fetchone()[0]
        assert left == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("url", ["http://award.example.cn/tg", "https://award.example.cn/api/send",
                                 "https://award.example.cn/", "https:///tg"])
def test_a_webhook_address_that_is_not_https_or_is_the_web_page_s_is_refused_in_chinese(url: str) -> None:
    # /api/send is the web page's own: Telegram's posts there would reach the web chat, never the bot.
    done = award_bot("run", "--webhook", url, env={"TELEGRAM_BOT_TOKEN": "1:x"})
    assert done.returncode == 2 and "AWARD_WEBHOOK_URL" in done.stderr and "webhook" in done.stderr


async def test_a_stored_update_older_than_telegram_keeps_any_is_never_handled_again(storage) -> None:
    # Marks of handled updates go after two days: an update stored longer could no longer be told
    # handled, and would be answered twice. None is kept past a day.
    await storage.keep_received(5, json.dumps({"update_id": 5}))
    assert await storage.first_sight("telegram", 5)
    await storage.keep_received(6, json.dumps({"update_id": 6}))
    await storage._write("UPDATE webhook_inbox SET received_at = '2026-01-01T00:00:00+00:00' WHERE update_id = 6")
    assert await storage.webhook_unhandled() == []


async def test_a_bot_restarted_without_its_webhook_still_answers_what_it_had_received(
        telegram: FakeTelegram, tmp_path: Path) -> None:
    # Stored by webhook, not handled, then the office goes back to polling: the update is not lost.
    process = bot_process(telegram, tmp_path)  # polling: makes the database
    await telegram.until(lambda: any(method == "getUpdates" for method, _ in telegram.calls), 30, "polling")
    code, errors = await stop(process)
    assert code == 0, errors
    update = {"update_id": 990001, "message": {
        "message_id": 1, "date": 1_700_000_000, "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        "from": telegram.user(USER, "王芳"), "chat": telegram.chat(USER, "王芳", "private")}}
    with sqlite3.connect(tmp_path / "award.db") as db:
        db.execute("INSERT INTO webhook_inbox (update_id, payload, received_at) VALUES (?, ?, '2026-11-29')",
                   (update["update_id"], json.dumps(update, ensure_ascii=False)))
    process = bot_process(telegram, tmp_path)
    try:
        await telegram.until(lambda: any(say("btn_consent_yes") in str(m.buttons) for m in telegram.to(USER)), 30,
                             "the welcome")
    finally:
        code, errors = await stop(process)
    assert code == 0, errors
