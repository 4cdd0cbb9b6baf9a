"""An applicant's data: all of it on request, erased on request; and backups of the live database."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path

from bot.flows.coordinator import Coordinators
from bot.flows.events import FileReceived
from bot.flows.interview import Interview
from bot.storage import Storage, StorageError, backup_database
from tests.conftest import PROFILE, FakeApplicant, answer_for, application_of, award_bot, jpeg


def interview_for(storage: Storage, criteria, tmp_path: Path) -> Interview:
    return Interview(storage, criteria, data_dir=tmp_path / "files",
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
    # Both sent the same certificate: each has a copy of their own, and the other's survives the erasure.
    shared, mine_only = jpeg("the same certificate"), jpeg("my own certificate")
    for person, files in ((me, (shared, mine_only)), (other, (shared,))):
        for n, data in enumerate(files):
            await person._send(FileReceived(person.sender, f"证书{n}.jpg", "image/jpeg", data))
    stored = {a.file_name: Path(a.path) for a in await storage.attachments((await application_of(storage, me)).id)}
    shared_file, mine_only_file = stored["证书0.jpg"], stored["证书1.jpg"]
    assert shared_file.read_bytes() == shared and mine_only_file.read_bytes() == mine_only
    [theirs] = await storage.attachments((await application_of(storage, other)).id)
    assert Path(theirs.path) != shared_file and Path(theirs.path).read_bytes() == shared  # noqa: ASYNC240
    await me.say(answer_for("7.4a"))
    await me.command("draft")
    app = await application_of(storage, me)
    documents = list((tmp_path / "files" / "documents" / str(app.id)).iterdir())
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
    assert not (tmp_path / "files" / "documents" / str(app.id)).exists()
    assert not mine_only_file.exists() and not shared_file.exists() and Path(theirs.path).exists()  # noqa: ASYNC240
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


async def test_delete_leaves_nothing_behind_in_exports_notices_or_freed_pages(
    storage: Storage, criteria, tmp_path: Path, db_path: Path
) -> None:
    from zoneinfo import ZoneInfo

    from bot.export import export_all

    interview = interview_for(storage, criteria, tmp_path)
    me, other = FakeApplicant(interview, "e1", "我"), FakeApplicant(interview, "e2", "别人")
    await me.consent()
    await me.fill_profile({**PROFILE, "unit": "机密单位甲有限公司"})
    await other.reach_questions()
    for person in (me, other):
        await person.say(answer_for("1.1a") + person.sender.user_id)
    await me.command("finish")
    await me.tap("仍然提交")  # the office is told, by name
    # Two exports hold my document and my row: the bot's own and one made on the command line.
    ours = await export_all(storage, criteria, tmp_path / "files" / "exports", tz=ZoneInfo("Asia/Shanghai"))
    by_hand = await export_all(storage, criteria, tmp_path / "office", tz=ZoneInfo("Asia/Shanghai"))
    unrelated = tmp_path / "files" / "exports" / "其他文件.txt"
    unrelated.write_text("not an export")
    my_app = (await application_of(storage, me)).id
    assert any(m.kind == "notice" and "张三" in m.payload["text"] for m in await storage.due_messages())

    await me.command("delete")
    await me.tap("确认永久删除")
    for result in (ours, by_hand):
        assert not result.zip_path.exists() and not result.xlsx_path.exists()
    assert unrelated.exists()
    # The office's notices keep no name or unit: the submission notice is dropped unsent, and the
    # erasure notice names only the application's number.
    rows = await storage._fetchall("SELECT kind, status, payload FROM outbox")
    assert all("张三" not in row["payload"] and "机密单位甲" not in row["payload"] for row in rows)
    statuses = sorted((row["status"], json.loads(row["payload"])["text"][:8]) for row in rows)
    assert statuses[0][0] == "dropped" and f"申报编号 {my_app}" in rows[-1]["payload"]
    assert "2 份导出文件也已删除" in rows[-1]["payload"]
    # SQLite overwrites what it frees, and the write-ahead log is emptied: the answer, name and unit
    # are nowhere in the database's files, while the bot still runs.
    assert (await storage._fetchall("PRAGMA secure_delete"))[0][0] == 1
    for path in (db_path, db_path.with_name(db_path.name + "-wal")):
        content = path.read_bytes() if path.exists() else b""
        for secret in (answer_for("1.1a") + "e1", "机密单位甲有限公司"):
            assert secret.encode() not in content, (path.name, secret)


async def test_an_erased_applicants_number_is_never_given_to_anyone_else(
    storage: Storage, criteria, tmp_path: Path
) -> None:
    from zoneinfo import ZoneInfo

    from bot.flows.coordinator import Coordinator
    from bot.flows.router import Router
    from bot.reminders import ReminderPolicy

    interview = interview_for(storage, criteria, tmp_path)
    office = Coordinator(storage, criteria, Coordinators.parse("test:boss"), ReminderPolicy(ZoneInfo("Asia/Shanghai")),
                         refuse=interview.handle)
    boss = FakeApplicant(Router(interview, office), "boss")
    first, second = FakeApplicant(interview, "i1", "甲"), FakeApplicant(interview, "i2", "乙")
    await first.reach_questions()
    await second.reach_questions()
    gone = await application_of(storage, second)
    gone_applicant = (await storage.find_applicant("test", "i2")).id
    await second.command("delete")
    await second.tap("确认永久删除")
    newcomer = FakeApplicant(interview, "i3", "丙")
    await newcomer.reach_questions()
    new = await application_of(storage, newcomer)
    assert new.id > gone.id and new.applicant_id > gone_applicant
    # The office's old 查看详情 button for the erased applicant shows no one else.
    await boss.press(f"co:d:{gone_applicant}")
    assert "丙" not in boss.text and "张三" not in boss.text


class EraseWhileExporting(Storage):
    """The moment an export has been recorded, before its files are written, an applicant erases."""

    victim: int | None = None

    async def record_export(self, *args, **kwargs) -> int:  # type: ignore[no-untyped-def]
        export_id = await super().record_export(*args, **kwargs)
        if self.victim is not None:
            victim, self.victim = self.victim, None
            await self.delete_applicant(victim, {"text": "erased"})
        return export_id


async def test_an_export_being_written_when_an_applicant_erases_is_made_again_without_them(
    criteria, tmp_path: Path
) -> None:
    import zipfile
    from zoneinfo import ZoneInfo

    from bot.export import export_all

    storage = await EraseWhileExporting.open(tmp_path / "award.db")
    try:
        interview = interview_for(storage, criteria, tmp_path)
        stays, goes = FakeApplicant(interview, "x1", "留下"), FakeApplicant(interview, "x2", "离开")
        for person in (stays, goes):
            await person.reach_questions()
            await person.command("draft")
        storage.victim = (await storage.find_applicant("test", "x2")).id
        gone = (await application_of(storage, goes)).id
        # Made from another folder, with a relative path, as `award-bot export -o exports/` does.
        relative = Path(os.path.relpath(tmp_path / "office"))  # noqa: ASYNC240
        result = await export_all(storage, criteria, relative, tz=ZoneInfo("Asia/Shanghai"))
        assert result.applicants == 1 and result.zip_path.is_absolute()
        with zipfile.ZipFile(result.zip_path) as archive:
            assert not any(name.startswith(f"{gone:02d}_") for name in archive.namelist())
        # The export now on record holds the applicant who stayed; erasing them removes it.
        await stays.command("delete")
        await stays.tap("确认永久删除")
        assert not result.zip_path.exists() and not result.xlsx_path.exists()
    finally:
        await storage.close()
