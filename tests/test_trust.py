"""What the applicant and the office are told can be trusted: nothing is reported saved that the
database refused, no 申报书 that lost a line is sent, and a name typed with markup reaches the office
and the applicant exactly as typed.

Each test goes through what people use (the interview behind a channel's dispatcher, the console,
the outbox and its transports) and fails the database or the template for real: the database by a
trigger that refuses the write (as SQLite refuses one on a full disk), the template by a restyled
copy that prints less than it is given.
"""

from __future__ import annotations

import io
import sqlite3
import zipfile
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Bot

from bot.console import Console
from bot.document import TEMPLATE
from bot.flows.dispatch import Dispatcher
from bot.flows.events import Sender
from bot.flows.interview import Interview
from bot.mail import EMAIL, EmailTransport, parse_smtp_url
from bot.reminders import ReminderPolicy, queue_manual
from bot.sender import OutboxSender
from bot.storage import Storage
from bot.telegram import TelegramTransport
from bot.wording import say
from tests.conftest import PROFILE, FakeApplicant, answer_for, application_of
from tests.fake_telegram import FakeTelegram

APOLOGY = say("unexpected_error")
TZ = ZoneInfo("Asia/Shanghai")
NO_QUIET_HOURS = ReminderPolicy(TZ, quiet_start=time(0, 0), quiet_end=time(0, 0))


def saved_notes(question_id: str) -> list[str]:
    """The start of every reply that tells an applicant an answer was saved."""
    return [say(key, id=question_id, chars="|").split("|")[0]
            for key in ("saved_first", "saved_appended", "saved_replaced")]


def refuse_answer_writes(db_path: Path) -> None:
    """From now on the database refuses every part of an answer, as SQLite does on a full disk: the
    failure is the database's own, whichever code writes."""
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TRIGGER refuse_answers BEFORE INSERT ON answer_segments "
                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")


def allow_answer_writes(db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        db.execute("DROP TRIGGER refuse_answers")


# -- an answer whose write fails is never reported as saved ---------------------------------------------


async def test_an_answer_the_database_refuses_gets_an_apology_never_a_saved(
    storage: Storage, db_path: Path, criteria, tmp_path: Path
) -> None:
    # As Telegram and the web page hand it over: the interview behind the channels' dispatcher.
    me = FakeApplicant(Dispatcher(Interview(storage, criteria, data_dir=tmp_path / "files").handle), "t1", "陈")
    await me.reach_questions()
    refuse_answer_writes(db_path)
    await me.say(answer_for("1.1a"))
    assert me.text == APOLOGY
    assert not any(note in me.text for note in saved_notes("1.1a"))
    app = await application_of(storage, me)
    assert await storage.answers(app.id) == {}
    # Nothing half-kept either: once the database takes writes again, the answer is the first one.
    allow_answer_writes(db_path)
    await me.say(answer_for("1.1a"))
    assert me.text.startswith(saved_notes("1.1a")[0])
    assert await storage.answers(app.id) == {"1.1a": answer_for("1.1a")}


async def test_the_console_says_a_refused_answer_was_not_saved_and_reads_on(
    storage: Storage, db_path: Path, criteria, tmp_path: Path
) -> None:
    out = io.StringIO()
    console = Console(Dispatcher(Interview(storage, criteria, data_dir=tmp_path / "files").handle),
                      Sender("console", "u"), out, echo=True)
    for line in ("/start", "#1", "/jump 1.1a"):
        await console.send(line)
    assert "1.1a" in out.getvalue()
    refuse_answer_writes(db_path)
    await console.send("我坚持每天班前会讲质量。")
    await console.send("/where")
    after = out.getvalue().split("> 我坚持每天班前会讲质量。", 1)[1]
    reply, where = after.split("> /where", 1)
    assert reply.strip() == APOLOGY
    assert not any(note in after for note in saved_notes("1.1a"))
    assert "1.1a" in where  # still on the question, nothing stuck


# -- a 申报书 that lost a line is never sent -----------------------------------------------------------


def template_printing_first_paragraphs(folder: Path) -> Path:
    """The shipped template restyled so that it prints only the first paragraph of each answer."""
    template = folder / "first-paragraphs.docx"
    tag = b"for line in question.lines %}"
    with zipfile.ZipFile(TEMPLATE) as source, zipfile.ZipFile(template, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                assert tag in data
                data = data.replace(tag, b"for line in question.lines[:1] %}")
            target.writestr(item, data)
    return template


async def test_a_document_that_lost_a_paragraph_is_never_sent_as_a_draft_or_on_submission(
    storage: Storage, criteria, tmp_path: Path
) -> None:
    files = tmp_path / "files"
    interview = Interview(storage, criteria, data_dir=files, template=template_printing_first_paragraphs(tmp_path))
    me = FakeApplicant(interview, "d1", "王芳")
    await me.reach_questions()
    await me.say("第一段：我坚持每天班前会讲质量。")
    await me.say("第二段：2024年起推行自检互检，问题闭环率由85%提升至98%。")
    replies = await me.command("draft")
    assert [r.document for r in replies if r.document is not None] == []
    assert me.text == say("document_failed")
    # On submission the submission stands, and the incomplete document is not sent either.
    await me.command("finish")
    replies = await me.tap("仍然提交")
    assert [r.document for r in replies if r.document is not None] == []
    assert say("document_failed_submitted") in me.text
    assert (await application_of(storage, me)).status == "submitted"
    assert sorted(p.name for p in files.rglob("*") if p.suffix in (".docx", ".pdf")) == []


# -- names typed with markup reach everyone as typed -------------------------------------------------------

MARKUP_NAME = "<b>王</b>&"
MARKUP_UNIT = "A<B&C精密机械"
OFFICE = ("telegram", "9000")


async def markup_applicant(storage: Storage, criteria, tmp_path: Path) -> FakeApplicant:
    """A Telegram applicant whose 姓名 and 工作单位 carry markup, with the 申报表 filled in."""
    interview = Interview(storage, criteria, data_dir=tmp_path / "files", coordinators=[OFFICE])
    me = FakeApplicant(interview, "7001")
    me.sender = Sender("telegram", "7001", "<i>网名</i>")
    await me.consent()
    await me.fill_profile({**PROFILE, "name": MARKUP_NAME, "unit": MARKUP_UNIT})
    profile = await storage.profile((await application_of(storage, me)).id)
    assert (profile["name"], profile["unit"]) == (MARKUP_NAME, MARKUP_UNIT)
    return me


async def test_a_reminder_and_a_submission_notice_show_a_name_with_markup_as_typed(
    storage: Storage, criteria, telegram: FakeTelegram, tmp_path: Path
) -> None:
    me = await markup_applicant(storage, criteria, tmp_path)
    async with Bot(telegram.token, base_url=telegram.base_url) as bot:
        sender = OutboxSender(storage, TelegramTransport(bot), per_chat_interval=0)
        # The office reminds everyone who has not submitted; then the applicant submits.
        _, queued = await queue_manual(storage, criteria, NO_QUIET_HOURS, None, "unsubmitted", "n1", OFFICE,
                                       datetime.now(UTC))
        assert queued == 1
        assert await sender.send_due() == 1
        await me.command("finish")
        await me.tap("仍然提交")
        await sender.send_due()
    [reminder] = telegram.to(7001)
    notice = say("co_submitted_notice", name=MARKUP_NAME, unit=MARKUP_UNIT, when="|").split("|")[0]
    # What Telegram shows (the fake server parses the HTML as Telegram does): the characters typed,
    # neither bold nor cut at the "&".
    assert reminder.parse_mode == "HTML" and MARKUP_NAME in reminder.text
    assert [m.parse_mode for m in telegram.to(9000) if m.text.startswith(notice)] == ["HTML"]


async def test_an_email_reminder_shows_a_name_with_markup_as_typed(
    storage: Storage, criteria, tmp_path: Path
) -> None:
    await markup_applicant(storage, criteria, tmp_path)
    await queue_manual(storage, criteria, NO_QUIET_HOURS, None, "unsubmitted", "n1", OFFICE, datetime.now(UTC),
                       email=True)
    [mail] = [m for m in await storage.due_messages() if m.channel == EMAIL]
    assert mail.recipient == PROFILE["email"]
    transport = EmailTransport(parse_smtp_url("smtp://localhost:25", "award@example.com"))
    body = transport.compose(mail, None).get_content()
    assert MARKUP_NAME in body
