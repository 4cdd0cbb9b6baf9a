"""An applicant's evidence files: kept only when they belong to a question, seen and removed per question."""

from __future__ import annotations

import json
import os
from pathlib import Path

from docx import Document

from bot.flows.events import FileReceived
from bot.flows.interview import Interview
from bot.storage import Storage
from bot.wording import say
from tests.conftest import FakeApplicant, answer_for, application_of, jpeg, pdf
from tests.telegram_fixtures import said

STALE = said("stale_button")


def files_on_disk(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


async def test_an_applicant_sees_the_files_of_a_question_and_removes_one_sent_by_mistake(
    storage: Storage, criteria, tmp_path: Path
) -> None:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    me = FakeApplicant(interview, "f1", "周九")
    await me.reach_questions()
    await me.command("jump", "7.4a")
    await me.say(answer_for("7.4a"))
    await me._send(FileReceived(me.sender, "劳模证书.jpg", "image/jpeg", jpeg("honour"), caption="省劳模证书"))
    await me._send(FileReceived(me.sender, "身份证.jpg", "image/jpeg", jpeg("identity card")))
    assert "本题共 2 份" in me.text
    await me.tap(say("btn_files", count=2))
    assert say("files_head", id="7.4a", count=2) in me.text and "1. 劳模证书.jpg（省劳模证书）" in me.text
    assert "2. 身份证.jpg" in me.text

    await me.tap(say("btn_remove_file", n=2))
    assert say("file_remove_confirm", id="7.4a", name="身份证.jpg") in me.text
    await me.tap(say("btn_remove_file_no"))
    assert say("files_head", id="7.4a", count=2) in me.text  # back to the list, nothing removed
    await me.tap(say("btn_remove_file", n=2))
    ask_again = me.buttons
    await me.tap(say("btn_remove_file_yes"))
    assert say("file_removed", id="7.4a", name="身份证.jpg", count=1) in me.text
    assert say("btn_files", count=1) in [b.label for b in me.buttons]
    app = await application_of(storage, me)
    assert [a.file_name for a in await storage.attachments(app.id)] == ["劳模证书.jpg"]
    # The file is gone from the server; the other stays.
    assert [p.name for p in files_on_disk(tmp_path / "files" / "attachments")] == [
        Path((await storage.attachments(app.id))[0].path).name]
    # A second tap on the old confirmation changes nothing.
    await me.press(next(b.data for b in ask_again if b.label == say("btn_remove_file_yes")))
    assert STALE in me.text
    assert len(await storage.attachments(app.id)) == 1

    # The 申报书 no longer shows it; the history in /mydata keeps that it was there and removed.
    [draft] = [r for r in await me.command("draft") if r.document is not None]
    assert len(Document(str(draft.document)).inline_shapes) == 1
    [data] = [r for r in await me.command("mydata") if r.document is not None]
    history = json.loads(data.document.read_text(encoding="utf-8"))["applications"][0]["attachments"]
    assert [(a["file_name"], a["removed_at"] is not None) for a in history] == [("劳模证书.jpg", False),
                                                                              ("身份证.jpg", True)]


async def test_files_can_be_removed_only_from_the_question_one_is_on_and_only_ones_own(
    storage: Storage, criteria, tmp_path: Path
) -> None:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    me, other = FakeApplicant(interview, "f2", "我"), FakeApplicant(interview, "f3", "别人")
    for person in (me, other):
        await person.reach_questions()
        await person.command("jump", "7.4a")
    # Both sent the same certificate: each has a copy of their own, so one removing it keeps the other's.
    for person in (me, other):
        await person._send(FileReceived(person.sender, "同一份.pdf", "application/pdf", pdf("same")))
    their = (await storage.attachments((await application_of(storage, other)).id))[0]
    await me.command("files")
    await me.tap(say("btn_remove_file", n=1))
    await me.tap(say("btn_remove_file_yes"))
    assert said("file_removed", id="7.4a") in me.text
    assert Path(their.path).is_file()  # noqa: ASYNC240 - a test's look at the disk
    # Forged: removing the other applicant's file, or a file of another question, does nothing.
    await me.press(f"fy:7.4a:{their.id}")
    assert STALE in me.text and len(await storage.attachments((await application_of(storage, other)).id)) == 1
    await me.press(f"fy:1.1a:{their.id}")
    assert STALE in me.text
    # Away from a question, /files lists everything by question.
    await other.command("jump", "1.1a")
    await other.command("files")
    assert say("files_all_head", count=1) in other.text and "7.4a" in other.text


async def test_a_file_sent_before_consent_or_on_the_profile_never_reaches_the_disk(
    storage: Storage, criteria, tmp_path: Path
) -> None:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    newcomer = FakeApplicant(interview, "f4", "新人")
    await newcomer._send(FileReceived(newcomer.sender, "照片.jpg", "image/jpeg", jpeg("before consent")))
    assert "同意" in str([b.label for b in newcomer.buttons])
    await newcomer.consent()
    await newcomer._send(FileReceived(newcomer.sender, "照片.jpg", "image/jpeg", jpeg("on the profile")))
    # ... and is told so while the 申报表 stays where it was (no 目录 leading away from it).
    assert say("file_on_profile") in newcomer.text and said("profile_prompt", n=1, total=22) in newcomer.text
    assert not any(b.data.startswith("cat:") for b in newcomer.buttons)
    assert files_on_disk(tmp_path / "files") == []
    assert await storage.find_applicant("test", "f4") is not None  # agreed, but no file of theirs anywhere


async def test_files_and_documents_are_readable_by_the_bot_alone(storage: Storage, criteria, tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask: without care, files would be readable by everyone
    try:
        interview = Interview(storage, criteria, data_dir=tmp_path / "files")
        me = FakeApplicant(interview, "f5", "吴")
        await me.reach_questions()
        await me.command("jump", "7.4a")
        await me._send(FileReceived(me.sender, "证书.jpg", "image/jpeg", jpeg("private")))
        await me.command("draft")
        await me.command("mydata")
    finally:
        os.umask(old)
    found = files_on_disk(tmp_path / "files")
    assert {p.suffix for p in found} >= {".jpg", ".docx", ".json"}
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in found), [(p.name, oct(p.stat().st_mode)) for p in found]
    folders = [p for p in (tmp_path / "files").rglob("*") if p.is_dir()] + [tmp_path / "files"]
    assert all(p.stat().st_mode & 0o777 == 0o700 for p in folders)
