"""Telegram's pace: about one message a second to a chat, with short bursts, and 30 a second overall.

The local Bot API server is made strict about each chat, as Telegram is: a burst of three, then one
message per interval; anything faster is answered 429. The clock is scaled 25 times so the suite stays
fast: the server allows one message per 0.04 s, and the bot paces chats at 25 a second.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.flows.coordinator import Coordinator, Coordinators
from bot.flows.events import Button, Reply
from bot.flows.interview import Interview
from bot.flows.router import Router
from bot.reminders import ReminderPolicy
from bot.sender import OutboxSender
from bot.storage import Storage
from bot.telegram import TelegramTransport, build_application, start_background, stop_background
from bot.telegram_limits import CAPTION_LIMIT, MESSAGE_LIMIT, PacedLimiter, pack, split_text, units
from bot.wording import say
from tests.fake_telegram import FakeTelegram
from tests.telegram_fixtures import Phone, complete_interview, said, serving

BOSS = 9100
PACE = 25.0  # messages a second to one chat: Telegram's one, on a clock 25 times as fast
TZ = ZoneInfo("Asia/Shanghai")


class QuickPdf:
    """Stands in for LibreOffice: a PDF beside each .docx, at once."""

    def convert(self, docx: Path, pdf: Path) -> None:
        pdf.write_bytes(b"%PDF-1.4\n% stands in for the real conversion\n")


@pytest.fixture
async def strict() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram(chat_limit=(3, 1 / PACE))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(strict: FakeTelegram, storage: Storage, criteria, tmp_path: Path) -> AsyncIterator[None]:
    coordinators = Coordinators.parse(str(BOSS))
    interview = Interview(storage, criteria, data_dir=tmp_path / "files", coordinators=coordinators,
                          pdf=QuickPdf())  # type: ignore[arg-type]
    policy = ReminderPolicy(TZ, quiet_start=datetime.min.time(), quiet_end=datetime.min.time())
    coordinator = Coordinator(storage, criteria, coordinators, policy, refuse=interview.handle)
    application = build_application(Router(interview, coordinator), storage, strict.token,
                                    f"http://127.0.0.1:{strict.port}", per_chat_rate=PACE)
    async with serving(strict, application, office=[str(BOSS)]):
        sender = OutboxSender(storage, TelegramTransport(application.bot), poll_interval=0.05,
                              per_chat_interval=1 / PACE)
        task = start_background(application, sender)
        yield
        await stop_background(sender, task)


@pytest.mark.slow
async def test_a_whole_application_a_review_and_the_office_draw_no_429_from_a_strict_server(
        strict: FakeTelegram, bot, storage: Storage, criteria) -> None:
    zhang = Phone(strict, 3101, "张三")
    await complete_interview(zhang, criteria, with_certificate=True)
    await strict.settle(3101)
    # The submission: its confirmation is the caption of the .docx, the PDF carries its own.
    received = strict.to(3101)
    documents = [m for m in received if m.document is not None]
    assert [d.file_name for d in documents] == ["申报书-张三-第1版.docx", "申报书-张三-第1版.pdf"]
    assert said("submitted") in documents[0].text and received[-2:] == documents

    # A real application is about 16,000 characters: its review takes several full messages.
    app = await storage.application((await storage.find_applicant("telegram", "3101")).id)
    for question in criteria.questions:
        await storage.replace_answer(app.id, question.id, f"{question.id} " + "本人负责的产线合格率逐年提升。" * 30)
    zhang.new  # noqa: B018 - all read
    await zhang.type("/review")
    review = zhang.new
    assert 5 <= len(review) <= 7  # as few as 4096-character messages allow (one per category before)
    assert all(units(m.text) <= MESSAGE_LIMIT for m in review)
    assert "1.1a" in review[0].text and "7.4b" in review[-2].text + review[-1].text

    li = Phone(strict, 3102, "李四")  # started, not submitted: the office reminds her
    await li.type("/start")
    await li.tap(say("btn_consent_yes"))
    boss = Phone(strict, BOSS, "办公室")
    await boss.type("/admin")
    await boss.tap(say("co_btn_remind"))
    await boss.tap(say("co_btn_remind_unsubmitted", count=1))
    report = asyncio.ensure_future(strict.wait_for(BOSS, lambda m: said("broadcast_report") in m.text))
    await boss.tap(say("co_btn_send", count=1))
    await report
    assert any(said("co_submitted_notice") in m.text for m in strict.to(BOSS))
    assert any(said("reminder_manual", name="李四") in m.text for m in strict.to(3102))
    assert strict.too_many == []


def test_short_replies_are_packed_into_full_messages_and_captions() -> None:
    button = ((Button("下一题", "nx:1.1a"),),)
    saved, prompt = Reply("已保存。"), Reply("第 2 题……", button)
    assert pack([saved, prompt]) == [Reply("已保存。\n\n第 2 题……", button)]
    # Text before a document becomes the start of its caption while it fits.
    document = Reply("申报书（第 1 版）", document=Path("a.docx"))
    assert pack([Reply("提交成功"), document]) == [Reply("提交成功\n\n申报书（第 1 版）", document=Path("a.docx"))]
    long = Reply("字" * CAPTION_LIMIT)
    assert pack([long, document]) == [long, document]
    # A category per reply, as /review makes them: as few messages as fit, nothing lost, order kept.
    parts = [Reply(f"第 {n} 类\n\n" + "答" * 700 + "\n\n" + "案" * 700) for n in range(9)]
    messages = [chunk for reply in pack(parts) for chunk in split_text(reply.text)]
    assert len(messages) == 4 and all(units(m) <= MESSAGE_LIMIT for m in messages)
    assert "".join(messages).replace("\n", "") == "".join(r.text for r in parts).replace("\n", "")
    # Buttons end a message: what follows them is not pulled in front of them.
    assert pack([prompt, saved]) == [prompt, saved]


async def test_the_limiter_paces_each_chat_and_lets_other_chats_through() -> None:
    limiter = PacedLimiter(rate=1000, per_chat_rate=20)
    sent: list[tuple[str, float]] = []

    async def send(chat: str) -> bool:
        sent.append((chat, time.monotonic()))
        return True

    start = time.monotonic()
    await asyncio.gather(*[limiter.process_request(send, ("a",), {}, "sendMessage", {"chat_id": "a"}, None)
                           for _ in range(6)],
                         limiter.process_request(send, ("b",), {}, "sendMessage", {"chat_id": "b"}, None))
    to_a = [at - start for chat, at in sent if chat == "a"]
    to_b = [at - start for chat, at in sent if chat == "b"]
    # Two at once, then one every 1/19 s (95 % of 20 a second); the other chat does not wait for them.
    assert to_a[-1] >= 4 / 20 and to_b[0] < 0.05
    # A tap's answer is not a message: never held back by the chat's pace.
    await limiter.process_request(send, ("a",), {}, "answerCallbackQuery", {"callback_query_id": "1"}, None)
    assert sent[-1][1] - start < to_a[-1] + 0.05


async def test_an_unlimited_send_rate_holds_nothing_back_but_each_chat_s_own_pace() -> None:
    # AWARD_SEND_RATE=unlimited: 300 chats answered at once (paced at 30 a second they would take 10 s),
    # while one chat is still held to its own pace.
    limiter = PacedLimiter(rate=math.inf, per_chat_rate=20)
    sent: list[tuple[str, float]] = []

    async def send(chat: str) -> bool:
        sent.append((chat, time.monotonic()))
        return True

    start = time.monotonic()
    await asyncio.gather(*[limiter.process_request(send, (str(n),), {}, "sendMessage", {"chat_id": str(n)}, None)
                           for n in range(300)])
    assert len(sent) == 300 and sent[-1][1] - start < 1.0
    await asyncio.gather(*[limiter.process_request(send, ("a",), {}, "sendMessage", {"chat_id": "a"}, None)
                           for _ in range(6)])
    to_a = [at for chat, at in sent if chat == "a"]
    assert to_a[-1] - to_a[0] >= 3 / 20
