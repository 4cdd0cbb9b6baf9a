"""Storage keeps every answer, even when writes collide, processes die, or the schema moves on."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from bot.storage import MIGRATIONS, SCHEMA_VERSION, Outgoing, Snapshot, Storage, StorageError
from bot.storage.migrations import statements
from tests.conftest import FakeApplicant, application_of


async def test_a_new_database_is_in_wal_mode_with_foreign_keys_and_a_schema_version(storage, db_path) -> None:
    assert await storage.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    with sqlite3.connect(db_path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    applicant = await storage.applicant("test", "1")
    application = await storage.create_application(applicant.id, "x", 1)
    with pytest.raises(sqlite3.IntegrityError):
        await storage.append_answer(application.id + 99, "1.1a", "no such application")


async def test_a_database_from_a_newer_version_is_refused_not_damaged(db_path) -> None:
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="请升级 award-bot"):
        await Storage.open(db_path)


async def test_opening_an_existing_database_applies_no_migration_twice(db_path) -> None:
    first = await Storage.open(db_path)
    applicant = await first.applicant("test", "1", "甲")
    application = await first.create_application(applicant.id, "x", 1)
    await first.append_answer(application.id, "1.1a", "保留我")
    await first.close()
    second = await Storage.open(db_path)
    assert await second.answer(application.id, "1.1a") == "保留我"
    await second.close()


async def test_an_answer_is_on_disk_when_the_applicant_is_told_it_is_saved(applicant, db_path) -> None:
    await applicant.reach_questions()
    await applicant.say("这条回答必须已经落盘")
    assert "已保存" in applicant.text
    # Another process (say, a coordinator's export) sees it at once: it was committed.
    with sqlite3.connect(db_path) as other:
        rows = other.execute("SELECT text FROM answers WHERE question_id = '1.1a'").fetchall()
    assert rows == [("这条回答必须已经落盘",)]


async def test_one_applicants_failed_write_never_undoes_anothers_answer(storage) -> None:
    good = await storage.create_application((await storage.applicant("test", "good")).id, "x", 1)

    async def failing_write() -> None:
        # A write that fails half-way (here: a broken reference) and is rolled back.
        async with storage._tx() as db:
            await db.execute("INSERT INTO answers VALUES (?, '1.1a', 'half', 'now')", (good.id,))
            await asyncio.sleep(0)  # give the other writers every chance to interleave
            await db.execute("INSERT INTO answers VALUES (999999, '1.1a', 'bad', 'now')")

    async def good_write(n: int) -> None:
        await storage.append_answer(good.id, "1.2a", f"第{n}段")

    results = await asyncio.gather(failing_write(), *[good_write(n) for n in range(20)],
                                   return_exceptions=True)
    assert isinstance(results[0], sqlite3.IntegrityError)
    assert all(r is None for r in results[1:])
    assert await storage.answer(good.id, "1.1a") == ""  # the failed transaction left nothing
    assert await storage.answer(good.id, "1.2a") == "\n".join(f"第{n}段" for n in range(20))
    assert len(await storage.history(good.id, "1.2a")) == 20


async def test_two_applicants_answering_at_once_each_keep_their_own(storage, criteria) -> None:
    from bot.flows.dispatch import Dispatcher
    from bot.flows.interview import Interview

    dispatcher = Dispatcher(Interview(storage, criteria).handle)
    people = [FakeApplicant(dispatcher, str(n)) for n in range(8)]
    await asyncio.gather(*[p.consent() for p in people])
    await asyncio.gather(*[p.fill_profile() for p in people])
    await asyncio.gather(*[p.say(f"申报人{p.sender.user_id}的回答") for p in people])
    for person in people:
        app = await application_of(storage, person)
        assert await storage.answers(app.id) == {"1.1a": f"申报人{person.sender.user_id}的回答"}


async def test_an_application_with_two_answers_and_a_certificate_reads_back_whole_in_one_snapshot(storage) -> None:
    person = await storage.applicant("test", "s", "甲")
    app = await storage.create_application(person.id, "x", 1)
    empty = await storage.snapshot(app.id)
    assert empty == Snapshot(app, {}, {}, {})  # nothing yet is still the application
    await storage.set_profile_value(app.id, "name", "王芳")
    await storage.append_answer(app.id, "1.1a", "负责产线质量改进")
    await storage.append_answer(app.id, "7.1a", "一次交检合格率提升到99.2%")
    await storage.replace_answer(app.id, "7.2a", "")  # emptied: not an answer
    certificate = {"mime_type": "image/jpeg", "size": 3, "sha256": "ab", "path": "/f/ab.jpg"}
    await storage.add_attachment(app.id, "7.1a", file_name="证书.jpg", **certificate)
    removed = await storage.add_attachment(app.id, "7.1a", file_name="错发的.jpg", **certificate)
    assert await storage.remove_attachment(app.id, removed) is not None
    moved = await storage.update_application(app.id, status="active", step="q:7.1a")

    snapshot = await storage.snapshot(app.id)
    answers = {"1.1a": "负责产线质量改进", "7.1a": "一次交检合格率提升到99.2%"}
    assert snapshot == Snapshot(moved, {"name": "王芳"}, answers, {"7.1a": 1})
    # The same as each of the separate reads says.
    assert snapshot.application == await storage.application(person.id)
    assert snapshot.profile == await storage.profile(app.id)
    assert snapshot.answers == await storage.answers(app.id)
    assert snapshot.files == await storage.attachment_counts(app.id) == {"7.1a": 1}
    with pytest.raises(LookupError):
        await storage.snapshot(app.id + 99)


async def test_moving_an_application_returns_it_as_written(storage) -> None:
    app = await storage.create_application((await storage.applicant("test", "u")).id, "x", 1)
    active = await storage.update_application(app.id, status="active", step="q:1.1a")
    assert (active.status, active.step, active.mode, active.submitted_at) == ("active", "q:1.1a", "", None)
    submitted = await storage.update_application(app.id, status="submitted", mode="")
    assert (submitted.status, submitted.step) == ("submitted", "q:1.1a") and submitted.submitted_at
    offered = await storage.update_application(app.id, offered='[["好"]]')
    assert offered == await storage.application(app.id) and offered.offered == '[["好"]]'
    assert offered.submitted_at == submitted.submitted_at  # fields left out stay as they were
    with pytest.raises(LookupError):
        await storage.update_application(app.id + 99, mode="")


def test_a_migration_splits_into_statements_where_sqlite_says_they_end() -> None:
    script = """
        CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
        -- A note; with a semicolon in this comment.
        INSERT INTO notes (text) VALUES ('第一条；第二条; 第三条');
        CREATE TRIGGER notes_kept AFTER DELETE ON notes BEGIN
            INSERT INTO notes (text) VALUES ('deleted: ' || old.text);
        END;
        UPDATE notes SET text = text || ';' WHERE id = 1
    """
    found = statements(script)
    assert len(found) == 4
    assert found[1].endswith("INSERT INTO notes (text) VALUES ('第一条；第二条; 第三条')")
    assert found[2].startswith("CREATE TRIGGER") and found[2].endswith("END")
    db = sqlite3.connect(":memory:")
    for statement in found:
        db.execute(statement)
    assert db.execute("SELECT text FROM notes").fetchall() == [("第一条；第二条; 第三条;",)]
    db.execute("DELETE FROM notes")
    assert db.execute("SELECT text FROM notes").fetchall() == [("deleted: 第一条；第二条; 第三条;",)]
    assert statements("") == statements(" ;\n ; ") == []


async def test_documents_are_numbered_and_the_latest_is_found(storage) -> None:
    application = await storage.create_application((await storage.applicant("test", "d")).id, "x", 1)
    assert await storage.latest_document(application.id) is None
    assert await storage.add_document(application.id, "draft", "a.docx", "0" * 64) == 1
    assert await storage.add_document(application.id, "final", "b.docx", "1" * 64) == 2
    latest = await storage.latest_document(application.id)
    assert (latest.version, latest.kind, latest.path) == (2, "final", "b.docx")


async def test_the_outbox_queues_once_per_key_and_hands_out_due_messages(storage) -> None:
    applicant = await storage.applicant("test", "o")

    def reminder(text: str, **extra: str) -> Outgoing:
        return Outgoing("test", "o", "reminder", {"text": text}, applicant_id=applicant.id, **extra)

    assert await storage.enqueue(reminder("提醒", dedupe_key="r:o:2026-11-27"))
    assert not await storage.enqueue(reminder("提醒", dedupe_key="r:o:2026-11-27"))
    assert await storage.enqueue(reminder("以后", not_before="2999-01-01T00:00:00+00:00"))
    due = await storage.next_due()
    assert due is not None and due.payload == {"text": "提醒"} and due.recipient == "o"
    assert await storage.claim(due.id) and not await storage.claim(due.id)
    # A crash while sending: on restart the message is uncertain, and never sent again.
    assert await storage.recover_interrupted() == 1
    assert await storage.next_due() is None


async def test_a_broadcast_is_queued_whole_and_reported_once_nothing_is_left(storage) -> None:
    people = [await storage.applicant("test", str(n)) for n in range(3)]
    messages = [Outgoing("test", p.external_id, "reminder", {"text": "提醒"}, applicant_id=p.id,
                         dedupe_key=f"b1:{p.id}") for p in people]
    broadcast, queued = await storage.create_broadcast("unsubmitted", messages, coordinator=("test", "boss"))
    assert queued == 3 and await storage.finished_unreported_broadcasts() == []
    while (due := await storage.next_due()) is not None:
        await storage.claim(due.id)
        await storage.mark_message(due.id, "blocked" if due.recipient == "1" else "sent")
    assert await storage.outbox_counts(broadcast) == {"sent": 2, "blocked": 1}
    assert await storage.finished_unreported_broadcasts() == [(broadcast, "test", "boss")]
    await storage.mark_reported(broadcast)
    assert await storage.finished_unreported_broadcasts() == []


async def test_a_file_that_is_not_a_database_is_refused_with_a_clear_message(tmp_path) -> None:
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("这不是数据库" * 100, encoding="utf-8")
    with pytest.raises(StorageError, match="不是本程序可用的 SQLite 数据库"):
        await Storage.open(not_a_db)
    with pytest.raises(StorageError, match="无法打开数据库"):
        await Storage.open(tmp_path)  # a folder
    assert not_a_db.read_text(encoding="utf-8").startswith("这不是数据库")


async def test_a_database_from_the_first_release_is_upgraded_and_keeps_its_documents(db_path) -> None:
    with sqlite3.connect(db_path) as db:
        db.executescript(MIGRATIONS[0][1])
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO applicants (channel, external_id, display_name, created_at, last_active_at) "
                   "VALUES ('test', '1', '甲', '2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00')")
        db.execute("INSERT INTO applications (applicant_id, criteria_id, criteria_version, status, step, mode, "
                   "created_at, updated_at) VALUES (1, 'x', 1, 'submitted', 'end', '', "
                   "'2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00')")
        db.execute("INSERT INTO documents (application_id, version, kind, path, sha256, created_at) "
                   "VALUES (1, 1, 'final', '/old/final.docx', 'abc', '2026-11-01T00:00:00+00:00')")
    storage = await Storage.open(db_path)
    try:
        assert await storage.schema_version() == SCHEMA_VERSION
        old = await storage.latest_document(1)
        assert old is not None and old.path == "/old/final.docx" and old.pdf_path is None
        assert await storage.add_document(1, "final", "/new.docx", "def", "/new.pdf") == 2
        assert (await storage.latest_document(1)).pdf_path == "/new.pdf"
    finally:
        await storage.close()


async def test_a_database_of_the_last_release_keeps_every_row_and_reference_when_ids_become_unique(db_path) -> None:
    # Version 6 (before ids were made never to be reused): an applicant with an answer, a file, a
    # document and a reminder; applicant 2 was deleted, so a plain rowid would hand out 2 again.
    with sqlite3.connect(db_path) as db:
        for _name, script in MIGRATIONS[:6]:
            db.executescript(script)
        db.execute("PRAGMA user_version = 6")
        stamp = "2026-11-01T00:00:00+00:00"
        db.execute("INSERT INTO applicants VALUES (1, 'test', '1', '甲', ?, ?, NULL)", (stamp, stamp))
        db.execute("INSERT INTO applications (id, applicant_id, criteria_id, criteria_version, status, step, mode, "
                   "created_at, updated_at) VALUES (1, 1, 'x', 1, 'active', 'q:1.1a', '', ?, ?)", (stamp, stamp))
        db.execute("INSERT INTO answers VALUES (1, '1.1a', '旧的回答', ?)", (stamp,))
        db.execute("INSERT INTO answer_revisions (application_id, question_id, text, action, created_at) "
                   "VALUES (1, '1.1a', '旧的回答', 'append', ?)", (stamp,))
        db.execute("INSERT INTO attachments (application_id, question_id, file_name, mime_type, size, sha256, path, "
                   "created_at) VALUES (1, '7.4a', 'a.jpg', 'image/jpeg', 3, 'ab', '/f/ab.jpg', ?)", (stamp,))
        db.execute("INSERT INTO outbox (channel, recipient, applicant_id, kind, payload, not_before, created_at) "
                   "VALUES ('test', '1', 1, 'reminder', '{\"text\": \"提醒\"}', ?, ?)", (stamp, stamp))
        # The office holds a 查看详情 button for applicant 5, who erased their data before the upgrade,
        # and an erasure notice of that version still names someone.
        notice = json.dumps({"text": "📥 新提交：王芳（某公司）", "buttons": [[["查看详情", "co:d:5"]]]},
                            ensure_ascii=False)
        db.execute("INSERT INTO outbox (channel, recipient, kind, payload, not_before, created_at) "
                   "VALUES ('test', 'boss', 'notice', ?, ?, ?)", (notice, stamp, stamp))
        erased = json.dumps({"text": "🗑 申报人 李四（某公司）删除了自己的全部申报数据。"}, ensure_ascii=False)
        db.execute("INSERT INTO outbox (channel, recipient, kind, payload, status, not_before, created_at) "
                   "VALUES ('test', 'boss', 'notice', ?, 'sent', ?, ?)", (erased, stamp, stamp))
    storage = await Storage.open(db_path)
    try:
        assert await storage.schema_version() == SCHEMA_VERSION
        assert await storage.answers(1) == {"1.1a": "旧的回答"}
        assert [r.text for r in await storage.history(1, "1.1a")] == ["旧的回答"]
        assert [a.file_name for a in await storage.attachments(1)] == ["a.jpg"]
        assert len(await storage.database_id()) == 32
        assert "李四" not in str(await storage._fetchall("SELECT payload FROM outbox"))
        newcomer = await storage.applicant("test", "3")
        assert newcomer.id == 6  # after every id the office may still hold a button for
        await storage.delete_applicant(newcomer.id, {"text": "erased"})
        assert (await storage.applicant("test", "4")).id == 7  # 6 is never given again
        # Deleting the old applicant still cascades to everything of theirs.
        await storage.delete_applicant(1, {"text": "erased"})
        for table in ("applications", "answers", "answer_revisions", "attachments"):
            assert (await storage._fetchall(f"SELECT COUNT(*) FROM {table}"))[0][0] == 0, table
        assert (await storage._fetchall("SELECT COUNT(*) FROM outbox WHERE applicant_id = 1"))[0][0] == 0
        # The old notice about applicant 5 is now known to be about them: their erasure would scrub it.
        assert [tuple(r) for r in await storage._fetchall("SELECT subject_id FROM outbox WHERE kind = 'notice'")] \
            == [(5,), (None,)]
        assert await storage._fetchall("PRAGMA foreign_key_check") == []
    finally:
        await storage.close()


async def test_many_edits_of_a_long_answer_grow_the_database_by_what_changed_not_by_copies(db_path) -> None:
    storage = await Storage.open(db_path)
    try:
        person = await storage.applicant("test", "long")
        app = await storage.create_application(person.id, "x", 1)
        parts = [f"第{n}段：" + "本人负责的产线一次交检合格率逐年提升。" * 200 for n in range(12)]  # ~48,000 字
        for n, part in enumerate(parts):
            await storage.append_answer(app.id, "7.1a", part, f"m{n}")
        await storage._write("PRAGMA wal_checkpoint(TRUNCATE)")
        before = db_path.stat().st_size
        for n in range(200):  # a typo fixed again and again in one message, as Telegram lets anyone do
            await storage.edit_message(app.id, f"m{n % 12}", parts[n % 12] + f"（第{n}次修改）")
        await storage._write("PRAGMA wal_checkpoint(TRUNCATE)")
        grown = db_path.stat().st_size - before
        assert grown < 2_000_000, f"{grown:,} bytes for 200 edits (29 MB with a full copy per edit)"
        # Every version is still there, whole.
        history = await storage.history(app.id, "7.1a")
        assert len(history) == 12 + 200
        assert history[11].text == "\n".join(parts)
        assert history[12].text == "\n".join([parts[0] + "（第0次修改）", *parts[1:]])
        assert history[-1].text == await storage.answer(app.id, "7.1a")
    finally:
        await storage.close()


async def test_two_programs_opening_a_new_database_at_once_both_start(tmp_path) -> None:
    # award-bot run and award-bot console started together on a database not yet made: each read
    # version 0, and the second ran a migration the first had just committed (duplicate column).
    for n in range(10):
        path = tmp_path / f"award-{n}.db"
        first, second = await asyncio.gather(Storage.open(path), Storage.open(path))
        assert await first.schema_version() == await second.schema_version() == SCHEMA_VERSION
        await first.close()
        await second.close()
