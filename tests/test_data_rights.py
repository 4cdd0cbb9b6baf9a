"""An applicant's data: all of it on request, erased on request; and backups of the live database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from bot.flows.coordinator import Coordinators
from bot.flows.events import FileReceived
from bot.flows.interview import Interview
from bot.storage import Storage, StorageError, backup_database
from tests.conftest import FakeApplicant, answer_for, application_of, award_bot


def interview_for(storage: Storage, criteria, tmp_path: Path) -> Interview:
    return Interview(storage, criteria, documents_dir=tmp_path / "docs",
                     coordinators=Coordinators.parse("test:boss"))


async def test_mydata_sends_everything_stored_about_the_applicant_and_nothing_of_others(
    storage: Storage, criteria, tmp_path: Path
) -> None:
    interview = interview_for(storage, criteria, tmp_path)
    me, other = FakeApplicant(interview, "m1", "我"), FakeApplicant(interview, "m2", "别人")
    await me.reach_questions()
    await me.say(answer_for("1.1a"))
    await me.command("rewrite")
    await me.say("重写后的回答，比原来更具体。")
    await other.reach_questions()
    await other.say("别人的秘密回答")
    [reply] = [r for r in await me.command("mydata") if r.document is not None]
    assert reply.document_name == "我的申报数据.json"
    data = json.loads(reply.document.read_text(encoding="utf-8"))
    [app] = data["applications"]
    assert {a["question_id"]: a["text"] for a in app["answers"]} == {"1.1a": "重写后的回答，比原来更具体。"}
    assert [h["text"] for h in app["answer_history"]] == [answer_for("1.1a"), "重写后的回答，比原来更具体。"]
    assert {p["field"] for p in app["profile"]} >= {"name", "unit", "phone"}
    assert data["applicant"]["external_id"] == "m1"
    assert "别人的秘密回答" not in reply.document.read_text(encoding="utf-8")


async def test_delete_asks_first_then_erases_everything_and_tells_the_office(
    storage: Storage, criteria, tmp_path: Path
) -> None:
    interview = interview_for(storage, criteria, tmp_path)
    me, other = FakeApplicant(interview, "d1", "我"), FakeApplicant(interview, "d2", "别人")
    for person in (me, other):
        await person.reach_questions()
        await person.command("jump", "7.4a")
    # Both sent the same certificate: the shared file must survive the first one's erasure.
    shared = tmp_path / "attachments" / "same.jpg"
    shared.parent.mkdir()
    shared.write_bytes(b"\xff\xd8\xff" + b"x" * 10)
    mine_only = tmp_path / "attachments" / "mine.jpg"
    mine_only.write_bytes(b"\xff\xd8\xff" + b"y" * 10)
    for person, files in ((me, (shared, mine_only)), (other, (shared,))):
        for n, path in enumerate(files):
            await person._send(FileReceived(person.sender, path.name, "image/jpeg", 13,
                                            "s" * 63 + str(n) if path == mine_only else "a" * 64, path))
    await me.say(answer_for("7.4a"))
    await me.command("draft")
    app = await application_of(storage, me)
    documents = list((tmp_path / "docs" / str(app.id)).iterdir())
    assert documents

    await me.command("delete")
    assert "永久删除" in me.text and await storage.find_applicant("test", "d1") is not None
    await me.tap("不删除")
    assert "没有删除" in me.text
    await me.press("del:yes")  # a stale confirmation does nothing
    assert await storage.find_applicant("test", "d1") is not None

    await me.command("delete")
    await me.tap("确认永久删除")
    assert "已全部删除" in me.text
    assert await storage.find_applicant("test", "d1") is None
    with sqlite3.connect(tmp_path / "award.db") as db:
        assert db.execute("SELECT COUNT(*) FROM applications WHERE id = ?", (app.id,)).fetchone()[0] == 0
        for table in ("answers", "answer_revisions", "answer_segments", "attachments", "documents",
                      "profile_values"):
            assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE application_id = ?", (app.id,)).fetchone()[0] == 0
    assert not (tmp_path / "docs" / str(app.id)).exists()
    assert not mine_only.exists() and shared.exists()
    assert (await storage.attachments((await application_of(storage, other)).id))
    [notice] = await storage.due_messages()
    assert notice.recipient == "boss" and "删除了自己的全部申报数据" in notice.payload["text"]
    # Writing again starts over, as a new applicant.
    await me.command("start")
    assert "同意" in str([b.label for b in me.buttons])


async def test_a_backup_taken_while_the_bot_writes_is_consistent(storage: Storage, db_path: Path,
                                                                 tmp_path: Path) -> None:
    person = await storage.applicant("test", "b1")
    app = await storage.create_application(person.id, "lyg", 1)
    stop = asyncio.Event()

    async def keep_writing() -> int:
        n = 0
        while not stop.is_set():
            await storage.append_answer(app.id, "1.1a", f"第{n}段")
            n += 1
            await asyncio.sleep(0)
        return n

    writer = asyncio.create_task(keep_writing())
    await asyncio.sleep(0.2)
    counts = await asyncio.to_thread(backup_database, db_path, tmp_path / "backup.db")
    await asyncio.sleep(0.1)
    stop.set()
    written = await writer
    assert counts["applicants"] == 1 and counts["answers"] == 1
    with sqlite3.connect(tmp_path / "backup.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        [text] = copy.execute("SELECT text FROM answers").fetchone()
        parts = text.split("\n")
        # A snapshot: a prefix of what was written, complete up to its last part.
        assert 0 < len(parts) <= written and parts == [f"第{n}段" for n in range(len(parts))]
    try:
        backup_database(db_path, tmp_path / "backup.db")
        raise AssertionError("overwrote an existing backup")
    except StorageError as error:
        assert "已存在" in str(error)


def test_award_bot_backup_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "award.db"
    done = award_bot("console", "--user", "u", stdin="/start\n", env={"AWARD_DB": str(db),
                                                                     "AWARD_DATA_DIR": str(tmp_path / "d")})
    assert done.returncode == 0
    done = award_bot("backup", str(tmp_path / "copy.db"), env={"AWARD_DB": str(db)})
    assert done.returncode == 0, done.stderr
    assert "完整性检查通过" in done.stdout and (tmp_path / "copy.db").exists()
    again = award_bot("backup", str(tmp_path / "copy.db"), env={"AWARD_DB": str(db)})
    assert again.returncode == 1 and "已存在" in again.stderr
