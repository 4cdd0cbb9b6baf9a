"""The Telegram tests' shared parts: a bot run against the local Bot API server, and a phone to use it.

`serving` runs the real python-telegram-bot Application in the test's process. By default the
server hands it each update directly, into the same update queue and update processor that
polling fills (tests/fake_telegram.py, `attach`), and knows when the bot has finished with it; the
bot's own calls (replies, files, menus) still go over HTTP to the server. `polling=True` runs the
real getUpdates long poll instead, for the tests that are about the wire itself.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from string import Formatter

from telegram.ext import Application

from bot.telegram import set_menus, start_polling, stop_polling
from bot.wording import messages, say
from tests.conftest import DEFAULT_CRITERIA, PROFILE, ROOT, answer_for, jpeg
from tests.fake_telegram import FakeTelegram, Sent

BOSS = 9000  # the award office's coordinator in the office's tests
REMINDER = messages()["reminder_manual"].split("{name}")[1].split("{")[0]  # "您好，这是…申报办公室的提醒。"
REPORT = messages()["broadcast_report"].split("{")[0]  # "📬 提醒发送完毕：送达 "

# Tests that do not measure Telegram's pace send as fast as they can: the bot's limiter lets this many
# messages a second through, overall and to one chat (tests/test_pacing.py holds the bot to the real pace).
FAST = 1000.0


@asynccontextmanager
async def serving(server: FakeTelegram, application: Application, *, office: Iterable[str] = (),
                  polling: bool = False) -> AsyncIterator[Application]:
    """The application, initialised and started with its command menus, until the block ends."""
    async with application:
        if polling:
            await start_polling(application, office=office, poll_timeout=1)
            server.attach(application, feed=False)
        else:
            await application.start()
            await set_menus(application.bot, office)
            server.attach(application)
        try:
            yield application
        finally:
            server.detach()
            if polling:
                await stop_polling(application)
            else:
                await application.stop()


class Phone:
    """One applicant's Telegram app: types, taps the buttons of the newest message, reads replies.

    Each step waits until the bot has finished with it (see FakeTelegram.settle).
    """

    def __init__(self, server: FakeTelegram, user_id: int, name: str) -> None:
        self.server, self.user_id, self.name = server, user_id, name
        self.seen = 0

    async def type(self, text: str) -> int:
        message_id = self.server.send_text(self.user_id, text, self.name)
        await self.server.settle(self.user_id)
        return message_id

    @property
    def new(self) -> list[Sent]:
        """Messages that arrived since this was last read."""
        messages = self.server.to(self.user_id)
        fresh, self.seen = messages[self.seen:], len(messages)
        return fresh

    def last_with_buttons(self) -> Sent:
        return next(m for m in reversed(self.server.to(self.user_id)) if m.buttons)

    def labels(self) -> list[str]:
        return [b["text"] for row in self.last_with_buttons().buttons for b in row]

    async def tap(self, label: str) -> None:
        """Tap the button with exactly this label on the newest message that has buttons."""
        message = self.last_with_buttons()
        matches = [b["callback_data"] for row in message.buttons for b in row if b["text"] == label]
        assert len(matches) == 1, f"{len(matches)} buttons {label!r} among {self.labels()}"
        self.server.press(self.user_id, message, matches[0], self.name)
        await self.server.settle(self.user_id)

    def text(self) -> str:
        return "\n".join(m.text for m in self.new)


async def complete_interview(phone: Phone, criteria, *, with_certificate: bool = False) -> None:
    """From /start to the submitted 申报书: the 申报表 from PROFILE (with the phone's name), every question."""
    await phone.type("/start")
    await phone.tap(say("btn_consent_yes"))
    for field in DEFAULT_CRITERIA.profile:  # as FakeApplicant.fill_profile does it
        value = PROFILE.get(field.key) if field.key != "name" else phone.name
        if value is None:
            await phone.tap(say("btn_skip_field"))
        elif field.type == "table":
            for line in value.splitlines():
                await phone.type(line)
            await phone.tap(say("btn_field_done"))
        elif value in phone.labels():
            await phone.tap(value)
        else:
            await phone.type(value)
    for question in criteria.questions:
        await phone.type(f"{phone.name}：" + answer_for(question.id))
        if question.id == "7.4a" and with_certificate:
            phone.server.send_photo(phone.user_id, f"cert{phone.user_id}", jpeg(f"certificate {phone.user_id}"),
                                    caption="省级劳动模范证书", name=phone.name)
            await phone.server.settle(phone.user_id)
        await phone.tap(say("btn_next"))
    await phone.tap(say("btn_finish"))
    # Building and uploading the 申报书 takes a moment: wait for the document itself.
    document = asyncio.ensure_future(phone.server.wait_for(phone.user_id, lambda m: m.document is not None))
    await phone.tap(say("btn_finish_confirm"))
    await document


def said(key: str, /, **params: object) -> str:
    """How a reply of wording `key` begins: its text up to the first placeholder not given.

    For asserting on what the bot says without retyping it, where not every {placeholder} is known:
    said("welcome", name="赵雪梅") is "赵雪梅，欢迎使用质量奖申报助手！…" up to the next one.
    """
    begun: list[str] = []
    for literal, name, spec, conversion in Formatter().parse(messages()[key]):
        begun.append(literal)
        if name is None:
            break
        if name not in params:
            return "".join(begun)
        value = params[name]
        begun.append(format(repr(value) if conversion == "r" else value, spec or ""))
    return "".join(begun)


def wording_pattern(key: str, /, **groups: str) -> re.Pattern[str]:
    """A regular expression for any reply of wording `key`: each {placeholder} named in `groups`
    becomes a group of that name matching the given expression, any other matches anything."""
    parts: list[str] = []
    named: set[str] = set()
    for literal, name, _spec, _conversion in Formatter().parse(messages()[key]):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name not in groups:
            parts.append(".*?")
        elif name in named:
            parts.append(f"(?P={name})")
        else:
            named.add(name)
            parts.append(f"(?P<{name}>{groups[name]})")
    return re.compile("".join(parts), re.DOTALL)


# -- the bot in a process of its own ------------------------------------------------------------


def bot_process(telegram: FakeTelegram, folder: Path, **env: str) -> subprocess.Popen:
    """`award-bot run` in a process of its own, as the office runs it (BOSS its coordinator), its database and
    files in `folder`, on the local server; `env` adds to or overrides its settings."""
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": telegram.token,
                   "TELEGRAM_API_URL": f"http://127.0.0.1:{telegram.port}", "AWARD_DB": str(folder / "award.db"),
                   "AWARD_DATA_DIR": str(folder / "data"), "AWARD_PDF": "false", "AWARD_COORDINATORS": str(BOSS),
                   "AWARD_QUIET_HOURS": "", "AWARD_LOG_LEVEL": "WARNING", "AWARD_CHAT_RATE": "100", **env}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=environment, cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def stop(process: subprocess.Popen) -> tuple[int, str]:
    """SIGTERM, as the office stops the bot; its exit code and what it said on stderr. The local
    server goes on answering meanwhile: the bot's last calls on stopping are to it."""
    process.send_signal(signal.SIGTERM)
    _, errors = await asyncio.to_thread(process.communicate, timeout=30)
    return process.returncode, errors.decode()


async def polling(telegram: FakeTelegram, since: int = 0) -> None:
    """Until the bot (started after the server's `since`-th call) fetches updates."""
    await telegram.until(lambda: any(method == "getUpdates" for method, _ in telegram.calls[since:]),
                         what="polling")
