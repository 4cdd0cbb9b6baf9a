"""The interview on Telegram: the real python-telegram-bot Application, polling a local Bot API server."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import docx
import pytest

from bot.flows.interview import Interview
from bot.storage import Storage
from bot.telegram import build_application, split_text, start_polling, stop_polling
from tests.conftest import CHAT_RATE, DEFAULT_CRITERIA, PROFILE, answer_for, award_bot, jpeg, pdf
from tests.fake_telegram import FakeTelegram, Sent


@pytest.fixture
async def bot(telegram: FakeTelegram, storage: Storage, criteria, tmp_path: Path) -> AsyncIterator[None]:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    application = build_application(interview, storage, telegram.token,
                                    f"http://127.0.0.1:{telegram.port}", per_chat_rate=CHAT_RATE)
    async with application:
        await start_polling(application, poll_timeout=1)
        yield
        await stop_polling(application)


class Phone:
    """One applicant's Telegram app: types, taps the buttons of the newest message, reads replies."""

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

    async def tap(self, label: str, quiet: float = 0.15) -> None:
        message = self.last_with_buttons()
        data = next(b["callback_data"] for row in message.buttons for b in row if label in b["text"])
        self.server.press(self.user_id, message, data, self.name)
        await self.server.settle(self.user_id, quiet=quiet)

    def text(self) -> str:
        return "\n".join(m.text for m in self.new)


async def complete_interview(phone: Phone, criteria, *, with_certificate: bool = False) -> None:
    await phone.type("/start")
    await phone.tap("同意并开始")
    for field in DEFAULT_CRITERIA.profile:  # as FakeApplicant.fill_profile does it
        value = PROFILE.get(field.key) if field.key != "name" else phone.name
        buttons = [b["text"] for row in phone.last_with_buttons().buttons for b in row]
        if value is None:
            await phone.tap("跳过此项")
        elif field.type == "table":
            for line in value.splitlines():
                await phone.type(line)
            await phone.tap("完成本项")
        elif value in buttons:
            await phone.tap(value)
        else:
            await phone.type(value)
    for question in criteria.questions:
        await phone.type(f"{phone.name}：" + answer_for(question.id))
        if question.id == "7.4a" and with_certificate:
            phone.server.send_photo(phone.user_id, f"cert{phone.user_id}", jpeg(f"certificate {phone.user_id}"),
                                    caption="省级劳动模范证书", name=phone.name)
            await phone.server.settle(phone.user_id)
        await phone.tap("下一题")
    await phone.tap("完成提交")
    # Building and uploading the 申报书 takes a moment: wait for the document itself.
    document = asyncio.ensure_future(phone.server.wait_for(phone.user_id, lambda m: m.document is not None))
    await phone.tap("确认提交")
    await document


async def test_two_applicants_complete_the_interview_at_once_and_never_see_each_other(
        telegram: FakeTelegram, bot, storage, criteria) -> None:
    zhang, li = Phone(telegram, 111, "张三"), Phone(telegram, 222, "李四")
    await asyncio.gather(complete_interview(zhang, criteria, with_certificate=True),
                         complete_interview(li, criteria))

    assert {c["command"] for c in telegram.commands} >= {"where", "next", "finish"}
    for me, other in ((zhang, li), (li, zhang)):
        received = "\n".join(m.text for m in telegram.to(me.user_id))
        assert "申报已于" in received
        assert f"{other.name}：" not in received and other.name not in received
        found = await storage.find_applicant("telegram", str(me.user_id))
        app = await storage.application(found.id)
        assert app.status == "submitted"
        answers = await storage.answers(app.id)
        assert answers == {q.id: f"{me.name}：" + answer_for(q.id) for q in criteria.questions}
    for me, other in ((zhang, li), (li, zhang)):
        [document] = [m for m in telegram.to(me.user_id) if m.document]
        assert document.file_name == f"申报书-{me.name}-第1版.docx"
        text = docx_text(document.document)
        assert answer_for("7.4b") in text and f"{me.name}：" in text and f"{other.name}：" not in text
    found = await storage.find_applicant("telegram", "111")
    [certificate] = await storage.attachments((await storage.application(found.id)).id)
    assert (certificate.question_id, certificate.caption) == ("7.4a", "省级劳动模范证书")
    # Asked again later, the same document comes back.
    zhang.new  # noqa: B018 - everything so far has been read
    await zhang.type("/document")
    await telegram.settle(111, quiet=1)
    again = [m for m in zhang.new if m.document]
    assert len(again) == 1 and again[0].file_name == "申报书-张三-第1版.docx"
    # Every button tap was acknowledged, so no phone kept a spinning button.
    taps = sum(1 for method, _ in telegram.calls if method == "answerCallbackQuery")
    assert taps == len(telegram.callback_answers) > 80


async def test_a_6000_character_answer_is_stored_whole_and_shown_back_in_parts(telegram, bot, storage) -> None:
    phone = Phone(telegram, 333, "王五")
    await phone.type("/start")
    await phone.tap("同意并开始")
    await phone.type("/jump 1.1a")
    paragraphs = [f"第{n}段：" + "质量改进与&<创新>" * 40 for n in range(20)]
    long_answer = "\n\n".join(paragraphs)
    assert len(long_answer) > 6000
    # Telegram caps one message at 4096 characters, so the applicant sends it in two.
    half = long_answer.index("\n\n", 3000)
    await phone.type(long_answer[:half])
    await phone.type(long_answer[half + 2:])
    phone.new  # noqa: B018 - mark everything so far as read
    await phone.type("/show")
    shown = phone.new
    assert len(shown) >= 2 and all(len(m.text) <= 4096 for m in shown)
    app = await storage.application((await storage.find_applicant("telegram", "333")).id)
    stored = await storage.answer(app.id, "1.1a")
    assert stored == long_answer[:half] + "\n" + long_answer[half + 2:]
    joined = "\n".join(m.text for m in shown)
    for paragraph in paragraphs:
        assert paragraph in joined  # split between paragraphs, & and < intact


async def test_rate_limits_and_a_blocked_user_lose_no_reply(telegram, bot, storage) -> None:
    phone, blocker = Phone(telegram, 444, "赵六"), Phone(telegram, 555, "钱七")
    telegram.fail_next("sendMessage", 444, 429, "Too Many Requests: retry after 1", retry_after=1)
    telegram.send_text(444, "/start", "赵六")
    await telegram.settle(444, quiet=1.5)  # the bot waits out retry_after before sending again
    assert "欢迎使用质量奖申报助手" in phone.text()
    assert [m for m, p in telegram.calls if m == "sendMessage" and p["chat_id"] == "444"] == ["sendMessage"] * 2
    await blocker.type("/start")
    await blocker.tap("同意并开始")
    # First Telegram asks the bot to slow down, then the user turns out to have blocked it.
    telegram.fail_next("sendMessage", 555, 429, "Too Many Requests: retry after 1", retry_after=1)
    telegram.blocked.add(555)
    telegram.send_text(555, "张三", "钱七")
    await telegram.settle(555, quiet=1.5)
    found = await storage.find_applicant("telegram", "555")
    assert found.blocked_at is not None
    attempts = [m for m, p in telegram.calls if m == "sendMessage" and p["chat_id"] == "555"]
    assert len(attempts) == 4  # welcome, thanks with the first prompt, then the 429 and the 403: no endless retries
    app = await storage.application(found.id)
    assert (await storage.profile(app.id))["name"] == "张三"  # the answer was kept all the same
    telegram.blocked.discard(555)
    await blocker.type("/where")
    assert (await storage.find_applicant("telegram", "555")).blocked_at is None


async def test_edits_files_groups_and_voice(telegram, bot, storage) -> None:
    phone = Phone(telegram, 666, "孙八")
    await phone.type("/start")
    await phone.tap("同意并开始")
    await phone.type("/jump 7.4a")
    first = await phone.type("2024年获评江苏省劳动模范。")
    telegram.edit_text(666, first, "2024年获评江苏省劳动模范，2023年获评连云港市质量标兵。")
    await telegram.settle(666)
    assert "已按您修改后的消息更新 7.4a" in phone.text()
    app = await storage.application((await storage.find_applicant("telegram", "666")).id)
    assert await storage.answer(app.id, "7.4a") == "2024年获评江苏省劳动模范，2023年获评连云港市质量标兵。"

    for n in range(3):
        telegram.send_photo(666, f"photo{n}", jpeg(f"photo {n}"), caption="劳模证书" if n == 0 else "",
                            media_group_id="album1")
    await telegram.wait_for(666, lambda m: "证明材料" in m.text)
    await telegram.settle(666, quiet=0.5)
    album_replies = [m for m in phone.new if "证明材料" in m.text]
    assert len(album_replies) == 1 and "本题共 3 份" in album_replies[0].text
    attachments = await storage.attachments(app.id, "7.4a")
    assert len(attachments) == 3 and attachments[0].caption == "劳模证书"
    assert all(a.size == len(jpeg(f"photo {n}")) for n, a in enumerate(attachments))
    assert all(saved_bytes(a.path) == jpeg(f"photo {n}") for n, a in enumerate(attachments))

    telegram.send_document(666, "big", b"x", "录像.pdf", "application/pdf", size=25 * 1024 * 1024)
    await telegram.settle(666)
    assert "超过了 20 MB" in phone.text()
    telegram.send_document(666, "exe", b"MZ", "setup.exe", "application/x-msdownload")
    await telegram.settle(666)
    assert "格式暂不支持" in phone.text()
    telegram.send_document(666, "fakepdf", b"MZ\x90\x00", "证书.pdf", "application/pdf")
    await telegram.settle(666)
    assert "格式暂不支持" in phone.text()  # declared a PDF, but is not one
    telegram.fail_next("getFile", None, 400, "Bad Request: file is too big")
    telegram.send_document(666, "lost", pdf("lost"), "证书2.pdf", "application/pdf")
    await telegram.settle(666)
    assert "请再发送一次" in phone.text()
    telegram.send_other(666, voice={"file_id": "v", "file_unique_id": "vu", "duration": 3})
    await telegram.settle(666)
    assert "请用文字输入" in phone.text()
    assert len(await storage.attachments(app.id)) == 3

    telegram.send_text(777, "/start", "群友", chat_type="group", chat_id=-100123)
    await telegram.settle(-100123)
    assert "请私聊我" in "\n".join(m.text for m in telegram.to(-100123))
    assert await storage.find_applicant("telegram", "777") is None


def docx_text(data: bytes | None) -> str:
    assert data is not None
    document = docx.Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def saved_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def test_long_texts_are_split_at_paragraphs_within_the_limit() -> None:
    text = "\n\n".join("段" * 1500 for _ in range(5))
    parts = split_text(text)
    assert all(len(p) <= 4096 for p in parts) and "\n\n".join(parts) == text
    assert split_text("字" * 9000) == ["字" * 4096, "字" * 4096, "字" * 808]
    assert split_text("") == [""]
    rare = "𠮷" * 3000  # one character, two UTF-16 units: Telegram counts units
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in split_text(rare)) and "".join(split_text(rare)) == rare


async def test_a_rejected_token_is_reported_without_printing_it(telegram, tmp_path) -> None:
    import sys

    from tests.conftest import ROOT

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": "999:SUPERSECRET",
             "TELEGRAM_API_URL": f"http://127.0.0.1:{telegram.port}", "AWARD_DB": str(tmp_path / "a.db")})
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert "SUPERSECRET" not in err.decode() and "@BotFather" in err.decode()


def test_award_bot_run_without_a_token_explains_how_to_get_one(tmp_path) -> None:
    result = award_bot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "@BotFather" in result.stderr and "award-bot console" in result.stderr


async def test_a_network_error_before_sending_is_retried_and_nothing_is_lost(telegram, bot, storage) -> None:
    phone = Phone(telegram, 888, "周九")
    telegram.fail_next("sendMessage", 888, 502, "Bad Gateway")
    telegram.send_text(888, "/start", "周九")
    await telegram.settle(888, quiet=2.0)
    assert "欢迎使用质量奖申报助手" in phone.text()


async def test_a_tap_is_answered_at_once_even_behind_a_slow_download(telegram, bot) -> None:
    phone = Phone(telegram, 901, "吴十")
    await phone.type("/start")
    await phone.tap("同意并开始")
    await phone.type("/jump 7.4a")
    buttons = phone.last_with_buttons()
    telegram.delays["getFile"] = 2.0
    telegram.send_photo(901, "slow", jpeg("slow"))
    await asyncio.sleep(0.3)  # the download is under way
    telegram.press(901, buttons, next(b["callback_data"] for row in buttons.buttons for b in row
                                      if "进度" in b["text"]))
    await asyncio.sleep(0.5)
    assert len(telegram.callback_answers) == 2  # consent and this tap, while the photo still downloads
    progress = await telegram.wait_for(901, lambda m: "自评报告已答" in m.text)
    assert any("证明材料" in m.text for m in telegram.to(901)[: telegram.to(901).index(progress)])


async def test_logs_hold_neither_answers_nor_the_token(telegram, bot, caplog) -> None:
    import logging

    caplog.set_level(logging.INFO)
    phone = Phone(telegram, 902, "郑十一")
    await phone.type("/start")
    await phone.tap("同意并开始")
    await phone.type("/jump 1.1a")
    await phone.type("机密回答内容XYZ")
    assert "已保存" in phone.text()
    assert "机密回答内容XYZ" not in caplog.text
    assert telegram.token not in caplog.text


async def test_a_submission_whose_document_cannot_be_sent_is_still_confirmed(telegram, bot, storage) -> None:
    phone = Phone(telegram, 906, "冯十五")
    await phone.type("/start")
    await phone.tap("同意并开始")
    await phone.type("/finish")
    # The confirmation rides on the .docx as its caption; Telegram refuses the file.
    telegram.fail_next("sendDocument", 906, 400, "Bad Request: file must be non-empty")
    phone.new  # noqa: B018 - all read
    await phone.tap("仍然提交")
    received = phone.text()
    assert "提交" in received and "没有发出去" in received and "/document" in received
    app = await storage.application((await storage.find_applicant("telegram", "906")).id)
    assert app.status == "submitted"


class BigDocument:
    """Flows that answer anything with a document over Telegram's 50 MB limit for bots."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def handle(self, event) -> list:
        from bot.flows.events import Reply

        return [Reply("🎉 已提交", document=self.path, document_name="申报书.docx")]


async def test_a_document_over_50_mb_is_not_attempted_and_the_applicant_is_told_where_it_is(
    telegram: FakeTelegram, storage, tmp_path: Path
) -> None:
    big = tmp_path / "big.docx"
    with open(big, "wb") as file:  # noqa: ASYNC230 - a sparse file: instant
        file.truncate(51 * 1024 * 1024)
    application = build_application(BigDocument(big), storage, telegram.token, f"http://127.0.0.1:{telegram.port}",
                                    per_chat_rate=CHAT_RATE)
    async with application:
        await start_polling(application, poll_timeout=1)
        phone = Phone(telegram, 907, "褚十六")
        await phone.type("你好")
        await stop_polling(application)
    received = phone.text()
    assert "🎉 已提交" in received and "51 MB" in received and "50 MB" in received
    assert not any(method == "sendDocument" for method, _ in telegram.calls)


async def test_a_chinese_name_is_greeted_in_order_and_typed_button_words_are_taps(telegram, bot, storage) -> None:
    phone = Phone(telegram, 444, "雪梅|赵")
    await phone.type("/start")
    assert "赵雪梅，欢迎使用质量奖申报助手" in phone.text()
    await phone.type("同意")
    assert "申报表 第 1/共 22 项" in phone.text()
    await phone.type("/jump 1.2a")
    phone.new  # noqa: B018 - read up to here
    await phone.type("下一题")
    assert "1.2b" in phone.text()
    await phone.type("目录")
    await phone.type("7")
    assert "7 结果：请选择条目" in phone.text()
    found = await storage.find_applicant("telegram", "444")
    assert found is not None and found.display_name == "赵雪梅"
    assert await storage.answers((await storage.application(found.id)).id) == {}


async def test_with_an_https_web_address_a_question_offers_the_page_as_a_mini_app(telegram, storage, criteria,
                                                                                 tmp_path) -> None:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    application = build_application(interview, storage, telegram.token, f"http://127.0.0.1:{telegram.port}",
                                    per_chat_rate=CHAT_RATE, web_app_url="https://award.example.cn/miniapp")
    async with application:
        await start_polling(application, poll_timeout=1)
        phone = Phone(telegram, 555, "王芳")
        await phone.type("/start")
        await phone.tap("同意并开始")
        await phone.type("/jump 1.1a")
        rows = phone.last_with_buttons().buttons
        await stop_polling(application)
    [mini] = [b for row in rows for b in row if "web_app" in b]
    assert mini["text"] == "📝 在网页中填写" and mini["web_app"]["url"] == "https://award.example.cn/miniapp"
