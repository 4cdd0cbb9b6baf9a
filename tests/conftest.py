"""Shared fixtures: a real database in a temporary folder and a fake applicant who taps and types."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from PIL import Image, PngImagePlugin
from pypdf import PdfWriter

from bot.criteria import Criteria, load_criteria
from bot.flows.dispatch import Dispatcher
from bot.flows.events import Button, ButtonPress, Command, EditedText, Event, Reply, Sender, Text
from bot.flows.interview import Interview
from bot.storage import Application, Storage
from tests.fake_telegram import FakeTelegram

# Where PYTHONDONTWRITEBYTECODE is set (this machine sets it), pytest rewrites the asserts of every
# test module afresh in every worker on every run: about 3.5 s of CPU a worker. Their compiled
# form is kept in tests/__pycache__ (ignored by git) from now on.
sys.dont_write_bytecode = False

ROOT = Path(__file__).resolve().parent.parent

CHECKOUT_DATA = ROOT / "data"  # where the bot keeps its database and files when run from the checkout


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_data_existed] = CHECKOUT_DATA.exists()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # The tests write only into temporary folders: the suite once filled the checkout's data/ with
    # documents and a LibreOffice profile, and an office's real data may live there.
    if not session.config.stash.get(_data_existed, True) and CHECKOUT_DATA.exists():
        print(f"\nFAILED: the tests wrote into {CHECKOUT_DATA}; they must use temporary folders only")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_data_existed = pytest.StashKey[bool]()

# A fast clock for Telegram's one-message-a-second-per-chat pace: the bots under test pace each chat
# at 50 a second, and tests of pacing scale the fake server's strict limit to match.
CHAT_RATE = 50.0


def jpeg(marker: str = "", size: tuple[int, int] = (16, 12)) -> bytes:
    """A small, whole JPEG photo; `marker` makes it unique (in a comment segment)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (180, 40, 40)).save(buffer, "JPEG", comment=marker.encode())
    return buffer.getvalue()


def png(marker: str = "", size: tuple[int, int] = (16, 12)) -> bytes:
    """A small, whole PNG image; `marker` makes it unique (in a text chunk)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("marker", marker)
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 40, 180)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def pdf(marker: str = "") -> bytes:
    """A one-page PDF; `marker` makes it unique (in its metadata)."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Title": marker})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def award_bot(*args: str, stdin: str = "", env: dict[str, str] | None = None,
              cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the award-bot command as a user would, in a child process."""
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=120)

DEFAULT_CRITERIA = load_criteria()  # the shipped criteria file, whose 申报表 fill_profile fills in

# Valid 申报表 values, as an applicant would type them.
PROFILE = {
    "name": "张三",
    "gender": "男",
    "ethnicity": "汉族",
    "birth": "1985年6月",
    "idcard": "32070319850612101X",
    "political": "中共党员",
    "education": "大学本科/工学学士",
    "unit": "连云港某某精密机械有限公司",
    "position": "质量部经理",
    "title": "高级工程师",
    "years": "12",
    "phone": "138 1234 5678",
    "email": "zhangsan@example.com",
    "experience": "2008.07—2013.12 某某机械 检验员\n2014.01至今 某某精密机械 质量部经理",
}


@contextmanager
def small_file_system(folder: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` mounted at `folder`: writing more fails with ENOSPC, as on a full disk.

    Mounting needs root (CI runs as root); elsewhere the test is skipped, and the tests that put a
    file in a folder's way cover the same code without it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("this machine does not let the tests mount a small file system")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """The local Bot API server the Telegram tests talk to (loopback only)."""
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def criteria() -> Criteria:
    return load_criteria()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "award.db"


@pytest.fixture
async def storage(db_path: Path) -> AsyncIterator[Storage]:
    store = await Storage.open(db_path)
    yield store
    await store.close()


@pytest.fixture
async def desk(storage: Storage, criteria: Criteria, tmp_path: Path) -> AsyncIterator[TestServer]:
    """The office desk in the test process, for telegram:9000 and console:王主任 (tests/office_desk.py)."""
    from tests.office_desk import desk_app  # it builds on this module

    server = desk_app(storage, criteria, tmp_path, {("telegram", "9000"), ("console", "王主任")})
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
def interview(storage: Storage, criteria: Criteria) -> Interview:
    return Interview(storage, criteria)


class FakeApplicant:
    """Plays one applicant: types messages, taps buttons by their label, remembers what came back."""

    def __init__(self, handle: Dispatcher | Interview, user_id: str, name: str = "") -> None:
        self.handle = handle.handle
        self.sender = Sender("test", user_id, name)
        self.last: list[Reply] = []
        self._message_no = 0
        self.refs: list[str] = []

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.last)

    @property
    def buttons(self) -> list[Button]:
        return [button for reply in self.last for button in reply.all_buttons]

    async def _send(self, event: Event) -> list[Reply]:
        self.last = await self.handle(event)
        for reply in self.last:
            for button in reply.all_buttons:
                assert len(button.data.encode()) <= 64, f"callback data over 64 bytes: {button.data}"
        return self.last

    async def say(self, text: str) -> list[Reply]:
        self._message_no += 1
        ref = f"{self.sender.user_id}-{self._message_no}"
        self.refs.append(ref)
        return await self._send(Text(self.sender, text, message_ref=ref))

    async def command(self, name: str, args: str = "") -> list[Reply]:
        return await self._send(Command(self.sender, name, args))

    async def press(self, data: str) -> list[Reply]:
        return await self._send(ButtonPress(self.sender, data))

    async def edit(self, ref: str, text: str) -> list[Reply]:
        return await self._send(EditedText(self.sender, text, ref))

    def button(self, label: str) -> Button:
        matches = [b for b in self.buttons if label in b.label]
        assert matches, f"no button {label!r} in {[b.label for b in self.buttons]}"
        return matches[0]

    async def tap(self, label: str) -> list[Reply]:
        return await self.press(self.button(label).data)

    async def consent(self) -> None:
        await self.command("start")
        await self.tap("同意")

    async def reach_questions(self) -> None:
        """Consent and fill in the 申报表: the applicant is then on question 1.1a."""
        await self.consent()
        await self.fill_profile()

    async def keep_or_skip(self) -> None:
        """Going over the 申报表 again: 保留原值 (or 完成本项 on a table) where a field has a value,
        跳过此项 where it has none."""
        labels = [b.label for b in self.buttons]
        for label in ("保留原值", "完成本项", "跳过此项"):
            if any(label in found for found in labels):
                await self.tap(label)
                return
        raise AssertionError(f"no way on from here: {labels}")

    async def fill_profile(self, profile: dict[str, str] = PROFILE) -> None:
        """Every field of the 申报表 in order: a value from `profile`, an optional one without skipped,
        a table one row a message, a long text then 完成本项."""
        for field in DEFAULT_CRITERIA.profile:
            value = profile.get(field.key)
            if value is None:
                await self.tap("跳过此项")
            elif field.type == "table":
                for line in value.splitlines():
                    await self.say(line)
                await self.tap("完成本项")
            elif any(b.label == value for b in self.buttons):
                await self.tap(value)
            else:
                await self.say(value)
                if field.type == "longtext":
                    await self.tap("完成本项")


async def application_of(storage: Storage, person: FakeApplicant) -> Application:
    found = await storage.find_applicant(person.sender.channel, person.sender.user_id)
    assert found is not None
    app = await storage.application(found.id)
    assert app is not None
    return app


@pytest.fixture
def applicant(interview: Interview) -> FakeApplicant:
    return FakeApplicant(interview, "1001", "张三")


def answer_for(question_id: str) -> str:
    """A distinct, realistic answer per question, so that a mix-up would show."""
    return (
        f"【{question_id}】本人在岗位上建立了日清日结的质量例会制度，2023年起每月复盘一次，"
        f"推广到全车间 6 个班组，问题闭环率由85%提升至98%。"
    )
