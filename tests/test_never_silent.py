"""Never silent, never stuck, nothing left behind: whatever fails, the person gets a short reply.

Real failures where the machine allows them: a full disk is a small tmpfs (mounted only where the
tests may mount, as root in CI; skipped elsewhere), a folder that cannot be made is a file in its
way. A database that fails is a Storage whose write raises, as SQLite does on a full disk.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.flows.coordinator import Coordinator, Coordinators
from bot.flows.dispatch import Dispatcher
from bot.flows.events import FileReceived
from bot.flows.interview import Interview
from bot.flows.router import Router
from bot.pdf import PdfConverter, find_soffice
from bot.reminders import ReminderPolicy
from bot.storage import Storage
from bot.wording import say
from tests.conftest import FakeApplicant, answer_for, application_of, award_bot, jpeg, small_file_system
from tests.telegram_fixtures import said

APOLOGY = say("unexpected_error")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_file_system(tmp_path / "disk", "256k") as disk:
        yield disk


def fill(disk: Path, leave: int = 0) -> None:
    """Take the disk's free space, all but `leave` bytes."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    with open(disk / "filler", "wb") as filler:
        filler.write(b"\0" * max(0, free - leave))


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*.part")]


class FailingStorage(Storage):
    """A database that fails the next answer written, as SQLite does when the disk fills up."""

    fail_next_answer = False

    async def append_answer(self, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
        if self.fail_next_answer:
            self.fail_next_answer = False
            raise sqlite3.OperationalError("database or disk is full")
        return await super().append_answer(*args, **kwargs)


class BrokenPdf:
    def convert(self, docx: Path, pdf: Path) -> None:
        raise RuntimeError("LibreOffice died in a way nobody foresaw")


async def test_a_failed_write_gets_an_apology_and_the_next_message_is_saved(criteria, tmp_path: Path) -> None:
    storage = await FailingStorage.open(tmp_path / "award.db")
    try:
        me = FakeApplicant(Dispatcher(Interview(storage, criteria, data_dir=tmp_path / "files").handle), "n1", "陈")
        await me.reach_questions()
        await me.say(answer_for("1.1a"))
        storage.fail_next_answer = True
        await me.say("这一条碰上了磁盘已满")
        assert me.text == APOLOGY
        await me.say("这一条照常保存")
        assert said("saved_appended", id="1.1a") in me.text
        app = await application_of(storage, me)
        assert (await storage.answers(app.id))["1.1a"] == answer_for("1.1a") + "\n这一条照常保存"
    finally:
        await storage.close()


async def test_a_pdf_that_fails_in_any_way_leaves_the_docx_alone(storage: Storage, criteria, tmp_path: Path) -> None:
    me = FakeApplicant(Interview(storage, criteria, data_dir=tmp_path / "files", pdf=BrokenPdf()), "n2")  # type: ignore[arg-type]
    await me.reach_questions()
    replies = await me.command("draft")
    assert [r.document.suffix for r in replies if r.document] == [".docx"]


@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed")
async def test_a_libreoffice_profile_that_cannot_be_written_leaves_the_docx_alone(
    storage: Storage, criteria, tmp_path: Path
) -> None:
    profile = tmp_path / "libreoffice"
    profile.write_text("a file where LibreOffice's profile folder should be")
    me = FakeApplicant(Interview(storage, criteria, data_dir=tmp_path / "files", pdf=PdfConverter.find(profile)),
                       "n3")
    await me.reach_questions()
    replies = await me.command("draft")
    assert [r.document.suffix for r in replies if r.document] == [".docx"]


async def test_an_upload_that_cannot_be_stored_is_said_so_and_nothing_is_left(
    storage: Storage, criteria, tmp_path: Path
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "attachments").write_text("a file where the attachments folder should be")
    me = FakeApplicant(Interview(storage, criteria, data_dir=files), "n4")
    await me.reach_questions()
    await me.command("jump", "7.4a")
    await me._send(FileReceived(me.sender, "证书.jpg", "image/jpeg", jpeg("blocked")))
    assert say("file_not_stored", name="证书.jpg") in me.text
    assert await storage.attachments((await application_of(storage, me)).id) == []


async def test_an_upload_on_a_full_disk_is_refused_kindly_and_leaves_no_part_file(
    storage: Storage, criteria, small_disk: Path
) -> None:
    me = FakeApplicant(Interview(storage, criteria, data_dir=small_disk / "files"), "n5")
    await me.reach_questions()
    await me.command("jump", "7.4a")
    big = jpeg("big", size=(1200, 900)) + b"\0" * 300_000  # over the disk's 256 KB
    await me._send(FileReceived(me.sender, "大照片.jpg", "image/jpeg", big))
    assert say("file_not_stored", name="大照片.jpg") in me.text
    assert leftovers(small_disk) == []
    await me._send(FileReceived(me.sender, "小照片.jpg", "image/jpeg", jpeg("small")))
    assert said("file_saved", name="小照片.jpg") in me.text


async def test_mydata_and_a_draft_on_a_full_disk_get_an_apology_and_leave_nothing(
    storage: Storage, criteria, small_disk: Path
) -> None:
    me = FakeApplicant(Dispatcher(Interview(storage, criteria, data_dir=small_disk / "files").handle), "n6")
    await me.reach_questions()
    await me.say(answer_for("1.1a"))
    fill(small_disk)
    await me.command("mydata")
    assert me.text == APOLOGY
    await me.command("draft")
    assert say("document_failed") in me.text
    assert leftovers(small_disk) == []
    await me.command("where")
    assert "1.1a" in me.text  # still answering, nothing stuck


# zipfile's own clean-up of a ZIP it could not finish writing complains again when collected.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_an_export_on_a_full_disk_gets_the_office_an_apology(
    storage: Storage, criteria, small_disk: Path
) -> None:
    from zoneinfo import ZoneInfo

    from bot.export import export_all

    office = Coordinators.parse("test:boss")
    interview = Interview(storage, criteria, data_dir=small_disk / "files", coordinators=office)

    async def exporter() -> Path:
        return (await export_all(storage, criteria, small_disk / "exports", tz=ZoneInfo("Asia/Shanghai"))).zip_path

    coordinator = Coordinator(storage, criteria, office, ReminderPolicy(ZoneInfo("Asia/Shanghai")), exporter=exporter,
                              refuse=interview.handle)
    boss = FakeApplicant(Dispatcher(Router(interview, coordinator).handle), "boss")
    applicant = FakeApplicant(interview, "n7", "申报人")
    await applicant.reach_questions()
    fill(small_disk)
    await boss.command("export")
    assert boss.text == APOLOGY
    assert leftovers(small_disk) == []


def test_the_console_apologises_and_reads_on_after_an_error(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "documents").write_text("a file where the documents folder should be")
    lines = ["#1", "张三", "/mydata", "/where"]
    done = award_bot("console", "--user", "u", stdin="\n".join(lines) + "\n",
                     env={"AWARD_DB": str(tmp_path / "award.db"), "AWARD_DATA_DIR": str(files)})
    assert done.returncode == 0, done.stderr
    after = done.stdout.split("> /mydata", 1)[1]
    assert APOLOGY in after and "> /where" in after and "申报表" in after.split("> /where", 1)[1]
    assert "Traceback" not in done.stdout


def test_a_files_folder_that_cannot_be_written_stops_the_start_with_a_clear_message(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file")
    env = {"AWARD_DB": str(tmp_path / "award.db"), "AWARD_DATA_DIR": str(blocked)}
    with ThreadPoolExecutor(2) as both:  # side by side: each is a Python start of its own
        started = both.submit(award_bot, "console", "--user", "u", stdin="/start\n", env=env)
        run = award_bot("run", env={**env, "TELEGRAM_BOT_TOKEN": "123:fake", "TELEGRAM_API_URL": "http://127.0.0.1:9"})
        console = started.result()
    assert console.returncode == 1 and "无法写入文件夹" in console.stderr and "Traceback" not in console.stderr
    assert run.returncode == 1 and "无法写入文件夹" in run.stderr and "Traceback" not in run.stderr
