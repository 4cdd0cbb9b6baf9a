"""Reminders and 退回修改 notices by e-mail, against a real SMTP server (aiosmtpd) in the test process.

Each e-mail is an outbox message of its own: the same rules as the chat's (quiet hours, nothing after
submission, one automatic reminder a day, exactly once across restarts), and the office hears of an
address the server refused.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import sqlite3
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.config import ConfigError, Settings, load_settings
from bot.criteria import Criteria
from bot.mail import (
    EMAIL,
    RETURNED,
    EmailTransport,
    SmtpConfig,
    copy_of,
    email_report,
    parse_smtp_url,
    plausible_address,
    report_counts,
)
from bot.reminders import (
    AUTOMATIC,
    MANUAL,
    ReminderPolicy,
    audience_rows,
    manual_messages,
    plan_automatic,
    queue_automatic,
    reminder_gate,
)
from bot.sender import OutboxSender
from bot.storage import OutboxMessage, Outgoing, Storage
from bot.web.mail_links import email_transport, personal_links
from bot.web.serve import RoutedTransport
from bot.web.store import WebStore
from tests.conftest import award_bot

TZ = ZoneInfo("Asia/Shanghai")
AWAKE = ReminderPolicy(TZ, quiet_start=clock(0, 0), quiet_end=clock(0, 0))  # no quiet hours
BASE = "https://award.example.cn"
AWARD = "连云港经济技术开发区质量奖个人奖"


# -- the mail server ---------------------------------------------------------------------------


class Inbox:
    """What the SMTP server received, and how it behaves: refusing some addresses, slow on data."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], EmailMessage]] = []
        self.refuse: set[str] = set()
        self.data_delay = 0.0
        self.connections = 0
        self.logins: list[tuple[bytes, bytes]] = []
        self.raw: list[bytes] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), mail))
        self.raw.append(envelope.content)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [mail for _from, rcpt, mail in self.mails if address in rcpt]


class MailServer:
    def __init__(self, inbox: Inbox, port: int, **options: Any) -> None:
        self.inbox, self.port, self.options = inbox, port, options
        self.server: asyncio.Server | None = None
        self.sessions: list[SmtpServer] = []

    async def start(self, *, implicit: ssl.SSLContext | None = None) -> None:
        def factory() -> SmtpServer:
            self.inbox.connections += 1
            session = SmtpServer(self.inbox, hostname="localhost", **self.options)
            self.sessions.append(session)
            return session

        self.server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", self.port,
                                                                     ssl=implicit, reuse_address=True)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for session in self.sessions:  # hang up on connections still open, as a restarted server does
                if session.transport is not None:
                    session.transport.close()
            self.sessions.clear()
            await self.server.wait_closed()
            self.server = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def server(inbox: Inbox) -> AsyncIterator[MailServer]:
    running = MailServer(inbox, free_port())
    await running.start()
    yield running
    await running.stop()


def smtp(port: int, **changes: Any) -> SmtpConfig:
    """The transport's settings for the local server, with short timeouts."""
    config = parse_smtp_url(f"smtp://127.0.0.1:{port}", "award@example.cn")
    return replace(config, **{"sender_name": AWARD, "connect_timeout": 2.0, "send_timeout": 2.0, **changes})


class Phone:
    """The chat channels (Telegram, the web page): records what they were given."""

    def __init__(self) -> None:
        self.got: list[OutboxMessage] = []

    async def __call__(self, message: OutboxMessage) -> None:
        self.got.append(message)


def sender_for(storage: Storage, mail: EmailTransport, phone: Phone,
               policy: ReminderPolicy = AWAKE) -> OutboxSender:
    routes = {"telegram": phone, "web": phone, EMAIL: mail}
    return OutboxSender(storage, RoutedTransport(routes), per_chat_interval=0, gate=reminder_gate(storage, policy))


# -- the applicants --------------------------------------------------------------------------


async def applicant(storage: Storage, channel: str, user: str, name: str, email: str = "") -> int:
    person = await storage.applicant(channel, user, name)
    app = await storage.create_application(person.id, "lyg-etdz-individual", 1)
    await storage.update_application(app.id, status="active", step="q:1.1a")
    await storage.set_profile_value(app.id, "name", name, None)
    if email:
        await storage.set_profile_value(app.id, "email", email, None)
    return person.id


async def web_applicant(storage: Storage, name: str, email: str) -> tuple[int, str]:
    who, _token = await WebStore(storage).add_person(name)
    return await applicant(storage, "web", who.user_id, name, email), who.user_id


def outbox(db_path: Path, channel: str = EMAIL) -> list[tuple[str, str, str, int]]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT recipient, kind, status, attempts FROM outbox WHERE channel = ? ORDER BY id",
                          (channel,)).fetchall()


def make_due(db_path: Path) -> None:
    """The clock moves on: whatever waits (quiet hours, a backoff) is due now."""
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE outbox SET not_before = ? WHERE status = 'pending'",
                   ((datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds"),))


async def office_reminds(storage: Storage, criteria: Criteria, now: datetime, policy: ReminderPolicy = AWAKE,
                         coordinator: tuple[str, str] | None = ("telegram", "900")) -> None:
    rows = audience_rows(await storage.applicant_rows(), "unsubmitted", policy, now)
    await storage.create_broadcast("unsubmitted", manual_messages(rows, criteria, None, policy, now, "n1", email=True),
                                   coordinator=coordinator)


# -- the stories -----------------------------------------------------------------------------


async def test_an_applicant_who_gave_an_email_gets_the_deadline_reminder_by_email_too_once_with_their_link(
    storage: Storage, db_path: Path, criteria: Criteria, server: MailServer, inbox: Inbox
) -> None:
    wang, wang_user = await web_applicant(storage, "王芳", "wangfang@example.cn")
    await applicant(storage, "telegram", "42", "李四")  # gave no address: the chat only
    now = datetime.now(UTC)
    deadline = now + timedelta(days=2, hours=3)
    phone = Phone()
    mail = EmailTransport(smtp(server.port), personal_links(storage, BASE))
    sender = sender_for(storage, mail, phone)

    assert await queue_automatic(storage, criteria, AWAKE, deadline, now, email=True) == 3
    await sender.send_due()
    # Planned again (the next check, or after a restart): nothing new.
    assert await queue_automatic(storage, criteria, AWAKE, deadline, now + timedelta(minutes=10), email=True) == 0
    await sender.send_due()
    await mail.close()

    assert sorted(m.recipient for m in phone.got) == sorted(["42", wang_user])
    [got] = inbox.to("wangfang@example.cn")
    assert len(inbox.mails) == 1
    assert got["Subject"] == f"{AWARD}：申报提醒"
    assert got["From"].addresses[0].addr_spec == "award@example.cn"
    # Read as mail clients read it (Python's newer parser puts a space between the name's encoded parts).
    raw_from = message_from_bytes(inbox.raw[0])["From"]
    assert str(make_header(decode_header(raw_from))) == f"{AWARD} 申报助手 <award@example.cn>"
    assert got["Auto-Submitted"] == "auto-generated"
    body = got.get_content()
    assert "王芳您好" in body and "还有 3 天截止" in body and "<" not in body
    # A fresh personal link, issued as the mail went out: it opens the applicant's own application.
    link = next(line for line in body.splitlines() if line.startswith(BASE))
    assert link.startswith(f"{BASE}/k/")
    who = await WebStore(storage).holder(link.removeprefix(f"{BASE}/k/"), "link")
    assert who is not None and who.user_id == wang_user
    assert outbox(db_path) == [("wangfang@example.cn", AUTOMATIC, "sent", 1)]
    with sqlite3.connect(db_path) as db:
        [(applicant_id,)] = db.execute("SELECT applicant_id FROM outbox WHERE channel = 'email'").fetchall()
    assert applicant_id == wang


async def test_a_telegram_applicant_gets_a_link_to_the_bot_and_a_terminal_one_none(
    storage: Storage, criteria: Criteria, server: MailServer, inbox: Inbox
) -> None:
    await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    await applicant(storage, "console", "zhao", "赵六", "zhao@example.cn")
    mail = EmailTransport(smtp(server.port), personal_links(storage, BASE, telegram_link="https://t.me/award_bot"))
    await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
    await sender_for(storage, mail, Phone()).send_due()
    await mail.close()
    [lisi] = inbox.to("lisi@example.cn")
    [zhao] = inbox.to("zhao@example.cn")
    assert "https://t.me/award_bot" in lisi.get_content()
    assert "http" not in zhao.get_content() and "申报办公室的提醒" in zhao.get_content()


async def test_in_quiet_hours_the_email_waits_for_the_morning(
    storage: Storage, db_path: Path, criteria: Criteria, server: MailServer, inbox: Inbox
) -> None:
    await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    now = datetime.now(UTC)
    await office_reminds(storage, criteria, now, coordinator=None)  # queued while it was allowed
    local = now.astimezone(TZ)
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
    night = ReminderPolicy(TZ, quiet_start=clock(start.hour, start.minute), quiet_end=clock(end.hour, end.minute))
    mail = EmailTransport(smtp(server.port))

    await sender_for(storage, mail, Phone(), night).send_due()
    assert inbox.mails == []
    assert outbox(db_path) == [("lisi@example.cn", MANUAL, "pending", 0)]  # waiting is not a failed try
    with sqlite3.connect(db_path) as db:
        [(not_before,)] = db.execute("SELECT not_before FROM outbox WHERE channel = 'email'").fetchall()
    assert datetime.fromisoformat(not_before) == night.quiet_over(now).astimezone(UTC)

    make_due(db_path)  # the morning
    await sender_for(storage, mail, Phone()).send_due()
    await mail.close()
    assert len(inbox.to("lisi@example.cn")) == 1
    assert outbox(db_path) == [("lisi@example.cn", MANUAL, "sent", 1)]


async def test_an_applicant_who_submits_while_the_email_waits_never_gets_it(
    storage: Storage, db_path: Path, criteria: Criteria, server: MailServer, inbox: Inbox
) -> None:
    lisi = await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
    app = await storage.application(lisi)
    assert app is not None
    await storage.update_application(app.id, status="submitted")
    mail = EmailTransport(smtp(server.port))
    await sender_for(storage, mail, Phone()).send_due()
    assert inbox.mails == []
    assert outbox(db_path) == [("lisi@example.cn", MANUAL, "dropped", 0)]


async def test_an_address_the_server_refuses_is_reported_as_failed_and_not_tried_again(
    storage: Storage, db_path: Path, criteria: Criteria, server: MailServer, inbox: Inbox
) -> None:
    await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    await applicant(storage, "telegram", "43", "王五", "nobody@example.cn")
    inbox.refuse.add("nobody@example.cn")
    phone = Phone()
    mail = EmailTransport(smtp(server.port))
    sender = sender_for(storage, mail, phone)
    await office_reminds(storage, criteria, datetime.now(UTC))
    await sender.send_due()
    await sender.send_due()  # the office's report, queued when the broadcast finished
    make_due(db_path)
    await sender.send_due()
    await mail.close()

    assert outbox(db_path) == [("lisi@example.cn", MANUAL, "sent", 1), ("nobody@example.cn", MANUAL, "failed", 1)]
    assert len(inbox.mails) == 1 and inbox.to("nobody@example.cn") == []
    report = phone.got[-1]
    assert report.recipient == "900" and report.kind == "report"
    # People are counted by their chat; the e-mails apart, the refused one among them.
    assert "送达 2 人" in report.payload["text"] and "失败 0 人" in report.payload["text"]
    assert "另发邮件：送达 1 封，被拒收或失败 1 封" in report.payload["text"]
    with sqlite3.connect(db_path) as db:
        [(broadcast_id,)] = db.execute("SELECT id FROM broadcasts").fetchall()
    chats, mails = await report_counts(storage, broadcast_id)
    assert chats == {"sent": 2} and mails == {"sent": 1, "failed": 1}
    assert email_report(mails) == "另发邮件：送达 1 封，被拒收或失败 1 封，不确定是否送达 0 封。"
    assert email_report({}) == ""


async def test_a_server_that_is_down_the_email_stays_pending_and_goes_when_it_is_back(
    storage: Storage, db_path: Path, criteria: Criteria, inbox: Inbox
) -> None:
    await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    port = free_port()  # nothing listens there yet
    mail = EmailTransport(smtp(port))
    await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
    await sender_for(storage, mail, Phone()).send_due()
    assert outbox(db_path) == [("lisi@example.cn", MANUAL, "pending", 1)]  # again after a backoff

    server = MailServer(inbox, port)
    await server.start()
    try:
        make_due(db_path)
        await sender_for(storage, mail, Phone()).send_due()
        await mail.close()
    finally:
        await server.stop()
    assert len(inbox.to("lisi@example.cn")) == 1
    assert outbox(db_path) == [("lisi@example.cn", MANUAL, "sent", 2)]


async def test_after_a_restart_nothing_is_sent_twice(
    storage: Storage, db_path: Path, criteria: Criteria, server: MailServer, inbox: Inbox
) -> None:
    await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    await applicant(storage, "telegram", "43", "王五", "wangwu@example.cn")
    now = datetime.now(UTC)
    deadline = now + timedelta(days=1, hours=2)
    mail = EmailTransport(smtp(server.port))
    assert await queue_automatic(storage, criteria, AWAKE, deadline, now, email=True) == 4
    # The bot stops after the first e-mail went out, and while the second was being sent.
    first = sender_for(storage, mail, Phone())
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE outbox SET not_before = '2999-01-01' WHERE recipient = 'wangwu@example.cn'")
    await first.send_due()
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE outbox SET status = 'sending', not_before = ? WHERE recipient = 'wangwu@example.cn'",
                   (now.isoformat(timespec="seconds"),))
    await mail.close()

    again = await Storage.open(db_path)  # a new process over the same database
    try:
        mail = EmailTransport(smtp(server.port))
        assert await queue_automatic(again, criteria, AWAKE, deadline, now + timedelta(minutes=10), email=True) == 0
        second = sender_for(again, mail, Phone())
        assert await again.recover_interrupted() == 1  # what the sender's run() does first
        await second.send_due()
        await mail.close()
    finally:
        await again.close()
    assert [rcpt for _from, rcpt, _mail in inbox.mails] == [["lisi@example.cn"]]
    assert outbox(db_path) == [("lisi@example.cn", AUTOMATIC, "sent", 1),
                               ("wangwu@example.cn", AUTOMATIC, "uncertain", 0)]


async def test_a_mail_server_that_takes_the_data_and_never_answers_is_uncertain_and_never_repeated(
    storage: Storage, db_path: Path, criteria: Criteria, server: MailServer, inbox: Inbox
) -> None:
    await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    inbox.data_delay = 1.0
    mail = EmailTransport(smtp(server.port, send_timeout=0.3))
    sender = sender_for(storage, mail, Phone())
    await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
    await sender.send_due()
    make_due(db_path)
    await sender.send_due()
    await mail.close()
    assert outbox(db_path) == [("lisi@example.cn", MANUAL, "uncertain", 1)]


async def test_one_connection_carries_a_burst(
    storage: Storage, criteria: Criteria, server: MailServer, inbox: Inbox
) -> None:
    for n in range(3):
        await applicant(storage, "telegram", str(40 + n), f"申报人{n}", f"p{n}@example.cn")
    mail = EmailTransport(smtp(server.port))
    await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
    await sender_for(storage, mail, Phone()).send_due()
    await mail.close()
    assert len(inbox.mails) == 3 and inbox.connections == 1


async def test_a_kept_connection_the_server_closed_is_opened_again(
    storage: Storage, criteria: Criteria, inbox: Inbox
) -> None:
    port = free_port()
    server = MailServer(inbox, port)
    await server.start()
    try:
        mail = EmailTransport(smtp(port))
        await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
        await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
        await sender_for(storage, mail, Phone()).send_due()
        await server.stop()  # restarted while the connection was kept: it hangs up
        await server.start()
        await applicant(storage, "telegram", "43", "王五", "wangwu@example.cn")
        await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
        await sender_for(storage, mail, Phone()).send_due()
        await mail.close()
    finally:
        await server.stop()
    assert [rcpt for _from, rcpt, _mail in inbox.mails] == [["lisi@example.cn"], ["wangwu@example.cn"]]
    assert inbox.connections == 2


async def test_the_returned_notice_goes_by_email_with_its_own_subject_and_key(
    storage: Storage, db_path: Path, server: MailServer, inbox: Inbox
) -> None:
    lisi = await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    notice = Outgoing("telegram", "42", RETURNED, {"text": "您的申报已退回修改：请补充 1.1a 的数据 & 证明。",
                                                   "buttons": [[["继续填写", "here"]]]},
                      applicant_id=lisi, dedupe_key=f"returned:7:{lisi}")
    copy = copy_of(notice, " lisi@example.cn ")
    assert copy.channel == EMAIL and copy.recipient == "lisi@example.cn" and copy.kind == RETURNED
    assert copy.dedupe_key == f"returned:7:{lisi}:email" and copy.applicant_id == lisi
    assert "buttons" not in copy.payload
    assert await storage.enqueue(notice) and await storage.enqueue(copy)
    assert not await storage.enqueue(copy_of(notice, "lisi@example.cn"))  # once
    mail = EmailTransport(smtp(server.port))
    await sender_for(storage, mail, Phone()).send_due()
    await mail.close()
    [got] = inbox.to("lisi@example.cn")
    assert got["Subject"] == f"{AWARD}：申报材料退回修改"
    assert "您的申报已退回修改：请补充 1.1a 的数据 & 证明。" in got.get_content()


async def test_the_returned_notice_waits_out_quiet_hours_too(
    storage: Storage, db_path: Path, server: MailServer, inbox: Inbox
) -> None:
    lisi = await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    notice = Outgoing("telegram", "42", RETURNED, {"text": "已退回"}, applicant_id=lisi, dedupe_key="returned:1")
    await storage.enqueue(copy_of(notice, "lisi@example.cn"))
    local = datetime.now(TZ)
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
    night = ReminderPolicy(TZ, quiet_start=clock(start.hour, start.minute), quiet_end=clock(end.hour, end.minute))
    await sender_for(storage, EmailTransport(smtp(server.port)), Phone(), night).send_due()
    assert inbox.mails == [] and outbox(db_path) == [("lisi@example.cn", RETURNED, "pending", 0)]


async def test_without_smtp_url_nothing_changes(
    storage: Storage, db_path: Path, criteria: Criteria, monkeypatch: pytest.MonkeyPatch
) -> None:
    await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    now = datetime.now(UTC)
    deadline = now + timedelta(days=2)
    planned = await plan_automatic(storage, criteria, AWAKE, deadline, now)
    assert [m.channel for _r, _why, m in planned] == ["telegram"]
    rows = await storage.applicant_rows()
    assert [m.channel for m in manual_messages(rows, criteria, None, AWAKE, now, "n")] == ["telegram"]
    assert await queue_automatic(storage, criteria, AWAKE, deadline, now) == 1
    assert outbox(db_path) == []
    monkeypatch.delenv("AWARD_SMTP_URL", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert not settings.email and settings.smtp() is None
    assert email_transport(settings, storage, criteria) is None


async def test_a_missing_or_unlikely_address_gets_no_email(storage: Storage, criteria: Criteria) -> None:
    await applicant(storage, "telegram", "41", "甲", "")
    await applicant(storage, "telegram", "42", "乙", "not an address")
    await applicant(storage, "telegram", "43", "丙", "bing@example.cn")
    rows = await storage.applicant_rows()
    messages = manual_messages(rows, criteria, None, AWAKE, datetime.now(UTC), "n", email=True)
    assert sorted(m.recipient for m in messages if m.channel == EMAIL) == ["bing@example.cn"]
    assert plausible_address("wang.fang+award@mail.example.com.cn")
    for bad in ("wang@", "@example.cn", "wang@example", "a b@example.cn", "wang@example.cn\r\nBcc: x@y.cn",
                "wang@@example.cn", "wang@example..cn", "王芳@example.cn"):
        assert not plausible_address(bad), bad


def test_the_smtp_url_is_read_as_written() -> None:
    config = parse_smtp_url("smtp://office%40example.cn:p%40ss%3Aword@smtp.example.cn:587")
    assert (config.host, config.port, config.username, config.password) == \
        ("smtp.example.cn", 587, "office@example.cn", "p@ss:word")
    assert config.starttls is True and not config.implicit_tls  # STARTTLS required off this machine
    assert config.sender == "office@example.cn"
    assert "p@ss" not in repr(config)
    tls = parse_smtp_url("smtps://user:pw@smtp.example.cn")
    assert tls.implicit_tls and tls.port == 465 and tls.sender == "user@smtp.example.cn"
    assert parse_smtp_url("smtp://u:p@smtp.example.cn:465").implicit_tls
    assert parse_smtp_url("smtp://localhost:1025").starttls is None  # when offered, on this machine only
    assert parse_smtp_url("smtp://127.0.0.1:1025", "award@example.cn").sender == "award@example.cn"


@pytest.mark.parametrize("url", ["http://user:secret123@smtp.example.cn", "smtp://", "smtp://:secret123@:25",
                                 "smtp://user:secret123@smtp.example.cn:99999", "smtp.example.cn:465"])
def test_a_bad_smtp_url_stops_start_up_with_a_clear_message(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWARD_SMTP_URL", url)
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None)
    [line] = error.value.lines
    assert line.startswith("配置错误：AWARD_SMTP_URL=")
    assert "不是发信服务器的地址" in line and "smtps://" in line
    assert "secret123" not in line  # the password is never shown


def test_a_bad_smtp_url_is_said_on_the_command_line() -> None:
    done = award_bot("check", "1.1a", env={"AWARD_SMTP_URL": "imap://office:secret123@mail.example.cn"})
    assert done.returncode == 2
    assert "AWARD_SMTP_URL=imap://office:***@mail.example.cn 不是发信服务器的地址" in done.stderr
    assert "secret123" not in done.stderr
    done = award_bot("check", "1.1a",
                     env={"AWARD_SMTP_URL": "smtps://a:b@smtp.example.cn", "AWARD_SMTP_FROM": "办公室"})
    assert done.returncode == 2 and "AWARD_SMTP_FROM=办公室 不是邮箱地址" in done.stderr


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_the_login_uses_the_decoded_user_and_password(
    storage: Storage, criteria: Criteria, inbox: Inbox
) -> None:
    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        inbox.logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"p@ss:word", handled=False)

    server = MailServer(inbox, free_port(), authenticator=authenticator, auth_require_tls=False, auth_required=True)
    await server.start()
    try:
        await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
        config = replace(parse_smtp_url(f"smtp://office%40example.cn:p%40ss%3Aword@127.0.0.1:{server.port}"),
                         connect_timeout=2.0, send_timeout=2.0)
        mail = EmailTransport(config)
        await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
        await sender_for(storage, mail, Phone()).send_due()
        await mail.close()
    finally:
        await server.stop()
    assert inbox.logins == [(b"office@example.cn", b"p@ss:word")]
    [(sender, _rcpt, _mail)] = inbox.mails
    assert sender == "office@example.cn"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_wrong_password_leaves_the_email_waiting_and_says_so_without_the_password(
    storage: Storage, db_path: Path, criteria: Criteria, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    server = MailServer(inbox, free_port(), authenticator=lambda *args: AuthResult(success=False, handled=False),
                        auth_require_tls=False, auth_required=True)
    await server.start()
    try:
        await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
        mail = EmailTransport(replace(parse_smtp_url(f"smtp://office:hunter22@127.0.0.1:{server.port}"),
                                      connect_timeout=2.0, send_timeout=2.0))
        await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
        with caplog.at_level(logging.DEBUG):
            await sender_for(storage, mail, Phone()).send_due()
        await mail.close()
    finally:
        await server.stop()
    assert outbox(db_path) == [("lisi@example.cn", MANUAL, "pending", 1)]
    assert "user name or password" in caplog.text and "hunter22" not in caplog.text


async def test_no_address_or_text_in_the_logs(
    storage: Storage, db_path: Path, criteria: Criteria, server: MailServer, inbox: Inbox,
    caplog: pytest.LogCaptureFixture
) -> None:
    await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
    await applicant(storage, "telegram", "43", "王五", "nobody@example.cn")
    inbox.refuse.add("nobody@example.cn")
    mail = EmailTransport(smtp(server.port), personal_links(storage, BASE))
    with caplog.at_level(logging.DEBUG):
        await office_reminds(storage, criteria, datetime.now(UTC))
        sender = sender_for(storage, mail, Phone())
        await sender.send_due()
        await sender.send_due()
        inbox.data_delay = 1.0
        await applicant(storage, "telegram", "44", "赵六", "zhao@example.cn")
        mail.config = replace(mail.config, send_timeout=0.3)
        await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
        await sender.send_due()
        await mail.close()
    assert ("nobody@example.cn", MANUAL, "failed", 1) in outbox(db_path)
    assert ("zhao@example.cn", MANUAL, "uncertain", 1) in outbox(db_path)
    # What the bot's log shows (bot/logs.py): its own records at any level, the libraries' from INFO up;
    # mail.log is the test's SMTP server, not the bot.
    shown = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records
                      if (record.name.startswith("bot") or record.levelno >= logging.INFO)
                      and not record.name.startswith("mail.log"))
    assert "refused" in shown  # the sender did say something
    for secret in ("lisi@", "nobody@", "zhao@", "example.cn", "李四", "王五", "您好", "提醒", BASE):
        assert secret not in shown, secret


# -- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command (skipped without it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    made = subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                           "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                           "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                          capture_output=True, timeout=30, check=False)
    if made.returncode != 0:
        pytest.skip("openssl could not make a test certificate")
    yield cert, key


def tls_contexts(certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = certificate
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


async def test_starttls_is_used_when_required(
    storage: Storage, criteria: Criteria, inbox: Inbox, certificate: tuple[Path, Path]
) -> None:
    server_tls, client_tls = tls_contexts(certificate)
    server = MailServer(inbox, free_port(), tls_context=server_tls, require_starttls=True)
    await server.start()
    try:
        await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
        # As for a server elsewhere: STARTTLS required, the certificate checked.
        mail = EmailTransport(replace(smtp(server.port), starttls=True, tls_context=client_tls))
        await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
        await sender_for(storage, mail, Phone()).send_due()
        await mail.close()
    finally:
        await server.stop()
    assert len(inbox.to("lisi@example.cn")) == 1


async def test_an_untrusted_certificate_sends_nothing(
    storage: Storage, db_path: Path, criteria: Criteria, inbox: Inbox, certificate: tuple[Path, Path]
) -> None:
    server_tls, _client_tls = tls_contexts(certificate)
    server = MailServer(inbox, free_port(), tls_context=server_tls, require_starttls=True)
    await server.start()
    try:
        await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
        mail = EmailTransport(replace(smtp(server.port), starttls=True, tls_context=ssl.create_default_context()))
        await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
        await sender_for(storage, mail, Phone()).send_due()
        await mail.close()
    finally:
        await server.stop()
    assert inbox.mails == []
    assert outbox(db_path) == [("lisi@example.cn", MANUAL, "pending", 1)]


async def test_implicit_tls_on_smtps(
    storage: Storage, criteria: Criteria, inbox: Inbox, certificate: tuple[Path, Path]
) -> None:
    server_tls, client_tls = tls_contexts(certificate)
    server = MailServer(inbox, free_port())
    await server.start(implicit=server_tls)
    try:
        await applicant(storage, "telegram", "42", "李四", "lisi@example.cn")
        config = parse_smtp_url(f"smtps://127.0.0.1:{server.port}", "award@example.cn")
        assert config.implicit_tls
        mail = EmailTransport(replace(config, tls_context=client_tls, connect_timeout=2.0, send_timeout=2.0))
        await office_reminds(storage, criteria, datetime.now(UTC), coordinator=None)
        await sender_for(storage, mail, Phone()).send_due()
        await mail.close()
    finally:
        await server.stop()
    assert len(inbox.to("lisi@example.cn")) == 1


async def test_the_transport_is_made_from_the_settings_with_the_awards_name_and_links(
    storage: Storage, criteria: Criteria, caplog: pytest.LogCaptureFixture
) -> None:
    wang, user = await web_applicant(storage, "王芳", "wangfang@example.cn")
    settings = Settings(_env_file=None, AWARD_SMTP_URL="smtps://office%40example.cn:pw@smtp.example.cn",
                        AWARD_WEB_BASE_URL=BASE + "/")  # type: ignore[call-arg]
    assert settings.email
    mail = email_transport(settings, storage, criteria)
    assert mail is not None and mail.link_for is not None
    assert (mail.config.host, mail.config.port, mail.config.implicit_tls) == ("smtp.example.cn", 465, True)
    assert mail.config.sender == "office@example.cn" and mail.config.sender_name == criteria.award
    due = OutboxMessage(1, EMAIL, "wangfang@example.cn", wang, None, MANUAL, {"text": "提醒"}, "pending", 0)
    link = await mail.link_for(due)
    assert link is not None and link.startswith(f"{BASE}/k/")
    who = await WebStore(storage).holder(link.rsplit("/", 1)[1], "link")
    assert who is not None and who.user_id == user
    # Without the site's public address there is nothing the reader could open: said once at start-up.
    with caplog.at_level(logging.WARNING):
        plain = Settings(_env_file=None, AWARD_SMTP_URL="smtp://127.0.0.1:25")  # type: ignore[call-arg]
        bare = email_transport(plain, storage, criteria)
    assert bare is not None and bare.config.sender == "award-bot@127.0.0.1"
    assert "AWARD_WEB_BASE_URL" in caplog.text
    assert bare.link_for is not None and await bare.link_for(due) is None
