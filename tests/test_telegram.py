"""The interview on Telegram: the real python-telegram-bot Application against a local Bot API server.

Updates are handed to the bot in process, through the update processor polling feeds
(tests/telegram_fixtures.py); one test polls over HTTP, as the bot does in production.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import docx
import pytest

import bot.telegram_updates as updates
from bot.flows.interview import Interview
from bot.storage import Storage
from bot.telegram import build_application, split_text
from bot.wording import say
from tests.conftest import answer_for, award_bot, jpeg, pdf
from tests.fake_telegram import FakeTelegram
from tests.telegram_fixtures import FAST, Phone, complete_interview, said, serving

__all__ = ["Phone", "complete_interview"]  # where other tests found them before tests/telegram_fixtures.py


def application_for(telegram: FakeTelegram, storage: Storage, criteria, tmp_path: Path, **options):
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    return build_application(interview, storage, telegram.token, f"http://127.0.0.1:{telegram.port}",
                             rate=FAST, per_chat_rate=FAST, **options)


@pytest.fixture
async def bot(telegram: FakeTelegram, storage: Storage, criteria, tmp_path: Path) -> AsyncIterator[None]:
    async with serving(telegram, application_for(telegram, storage, criteria, tmp_path)):
        yield


@pytest.mark.slow
async def test_two_applicants_complete_the_interview_at_once_and_never_see_each_other(
        telegram: FakeTelegram, bot, storage, criteria) -> None:
    zhang, li = Phone(telegram, 111, "张三"), Phone(telegram, 222, "李四")
    await asyncio.gather(complete_interview(zhang, criteria, with_certificate=True),
                         complete_interview(li, criteria))

    assert {c["command"] for c in telegram.commands} >= {"where", "next", "finish"}
    for me, other in ((zhang, li), (li, zhang)):
        received = "\n".join(m.text for m in telegram.to(me.user_id))
        assert said("submitted") in received
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
    again = [m for m in zhang.new if m.document]
    assert len(again) == 1 and again[0].file_name == "申报书-张三-第1版.docx"
    # Every button tap was acknowledged, once, so no phone kept a spinning button.
    assert len(telegram.callback_queries) > 80
    assert sorted(telegram.callback_answers) == sorted(telegram.callback_queries)


async def test_a_6000_character_answer_is_stored_whole_and_shown_back_in_parts(telegram, bot, storage) -> None:
    phone = Phone(telegram, 333, "王五")
    await phone.type("/start")
    await phone.tap(say("btn_consent_yes"))
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
    await blocker.type("/start")
    await blocker.tap(say("btn_consent_yes"))
    # Telegram asks the bot to slow down: it waits out retry_after, then sends. To the other
    # chat, the 429 is followed by the news that the user has blocked the bot. (Both at once,
    # so the test waits out one retry_after, not two.)
    telegram.fail_next("sendMessage", 444, 429, "Too Many Requests: retry after 1", retry_after=1)
    telegram.fail_next("sendMessage", 555, 429, "Too Many Requests: retry after 1", retry_after=1)
    telegram.blocked.add(555)
    telegram.send_text(444, "/start", "赵六")
    telegram.send_text(555, "张三", "钱七")
    await telegram.settle()
    assert said("welcome", name="赵六") in phone.text()
    assert [m for m, p in telegram.calls if m == "sendMessage" and p["chat_id"] == "444"] == ["sendMessage"] * 2
    found = await storage.find_applicant("telegram", "555")
    assert found.blocked_at is not None
    attempts = [m for m, p in telegram.calls if m == "sendMessage" and p["chat_id"] == "555"]
    assert len(attempts) == 4  # welcome, thanks with the first prompt, then the 429 and the 403: no endless retries
    app = await storage.application(found.id)
    assert (await storage.profile(app.id))["name"] == "张三"  # the answer was kept all the same
    telegram.blocked.discard(555)
    await blocker.type("/where")
    assert (await storage.find_applicant("telegram", "555")).blocked_at is None


async def test_edits_files_groups_and_voice(telegram, bot, storage, monkeypatch) -> None:
    # An album's one reply comes once its files have been quiet a moment: a shorter moment here.
    monkeypatch.setattr(updates, "ALBUM_QUIET_SECONDS", 0.1)
    phone = Phone(telegram, 666, "孙八")
    await phone.type("/start")
    await phone.tap(say("btn_consent_yes"))
    await phone.type("/jump 7.4a")
    first = await phone.type("2024年获评江苏省劳动模范。")
    telegram.edit_text(666, first, "2024年获评江苏省劳动模范，2023年获评连云港市质量标兵。")
    await telegram.settle(666)
    assert said("edit_applied", id="7.4a") in phone.text()
    app = await storage.application((await storage.find_applicant("telegram", "666")).id)
    assert await storage.answer(app.id, "7.4a") == "2024年获评江苏省劳动模范，2023年获评连云港市质量标兵。"

    for n in range(3):
        telegram.send_photo(666, f"photo{n}", jpeg(f"photo {n}"), caption="劳模证书" if n == 0 else "",
                            media_group_id="album1")
    await telegram.wait_for(666, lambda m: said("file_saved") in m.text)
    await telegram.nothing_more(666)  # an album is answered once
    album_replies = [m for m in phone.new if said("file_saved") in m.text]
    assert len(album_replies) == 1 and "本题共 3 份" in album_replies[0].text
    attachments = await storage.attachments(app.id, "7.4a")
    assert len(attachments) == 3 and attachments[0].caption == "劳模证书"
    assert all(a.size == len(jpeg(f"photo {n}")) for n, a in enumerate(attachments))
    assert all(saved_bytes(a.path) == jpeg(f"photo {n}") for n, a in enumerate(attachments))

    telegram.send_document(666, "big", b"x", "录像.pdf", "application/pdf", size=25 * 1024 * 1024)
    await telegram.settle(666)
    assert say("file_too_big", name="录像.pdf", mb=25.0) in phone.text()
    telegram.send_document(666, "exe", b"MZ", "setup.exe", "application/x-msdownload")
    await telegram.settle(666)
    assert say("file_type_refused", name="setup.exe") in phone.text()
    telegram.send_document(666, "fakepdf", b"MZ\x90\x00", "证书.pdf", "application/pdf")
    await telegram.settle(666)
    assert say("file_type_refused", name="证书.pdf") in phone.text()  # declared a PDF, but is not one
    telegram.fail_next("getFile", None, 400, "Bad Request: file is too big")
    telegram.send_document(666, "lost", pdf("lost"), "证书2.pdf", "application/pdf")
    await telegram.settle(666)
    assert say("file_download_failed", name="证书2.pdf") in phone.text()
    telegram.send_other(666, voice={"file_id": "v", "file_unique_id": "vu", "duration": 3})
    await telegram.settle(666)
    assert say("please_type") in phone.text()
    assert len(await storage.attachments(app.id)) == 3

    telegram.send_text(777, "/start", "群友", chat_type="group", chat_id=-100123)
    await telegram.settle(-100123)
    assert [m.text for m in telegram.to(-100123)] == [say("private_only")]
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
    await phone.type("/start")  # settles once the retry, a second later, went out
    assert said("welcome", name="周九") in phone.text()


async def test_a_tap_is_answered_at_once_even_behind_a_slow_download(telegram, bot) -> None:
    phone = Phone(telegram, 901, "吴十")
    await phone.type("/start")
    await phone.tap(say("btn_consent_yes"))
    await phone.type("/jump 7.4a")
    buttons = phone.last_with_buttons()
    telegram.delays["getFile"] = 1.0
    telegram.send_photo(901, "slow", jpeg("slow"))
    await telegram.until(lambda: any(method == "getFile" for method, _ in telegram.calls))  # under way
    telegram.press(901, buttons, next(b["callback_data"] for row in buttons.buttons for b in row
                                      if b["text"] == say("btn_progress")))
    await telegram.until(lambda: len(telegram.callback_answers) == 2, limit=0.5)  # consent, and this tap
    assert not any(said("file_saved") in m.text for m in telegram.to(901))  # while the photo still downloads
    progress = await telegram.wait_for(901, lambda m: said("progress_head") in m.text)
    assert any(said("file_saved") in m.text for m in telegram.to(901)[: telegram.to(901).index(progress)])


async def test_logs_hold_neither_answers_nor_the_token(telegram, storage, criteria, tmp_path, caplog) -> None:
    import logging

    caplog.set_level(logging.INFO)
    # Over the wire as in production: getUpdates too, whose URL holds the token.
    async with serving(telegram, application_for(telegram, storage, criteria, tmp_path), polling=True):
        phone = Phone(telegram, 902, "郑十一")
        await phone.type("/start")
        await phone.tap(say("btn_consent_yes"))
        await phone.type("/jump 1.1a")
        await phone.type("机密回答内容XYZ")
        assert said("saved_first", id="1.1a") in phone.text()
    assert any(method == "getUpdates" for method, _ in telegram.calls)
    assert "机密回答内容XYZ" not in caplog.text
    assert telegram.token not in caplog.text


async def test_a_submission_whose_document_cannot_be_sent_is_still_confirmed(telegram, bot, storage) -> None:
    phone = Phone(telegram, 906, "冯十五")
    await phone.type("/start")
    await phone.tap(say("btn_consent_yes"))
    await phone.type("/finish")
    # The confirmation rides on the .docx as its caption; Telegram refuses the file.
    telegram.fail_next("sendDocument", 906, 400, "Bad Request: file must be non-empty")
    phone.new  # noqa: B018 - all read
    await phone.tap(say("btn_finish_anyway"))
    received = phone.text()
    assert said("submitted") in received and say("document_not_sent") in received
    app = await storage.application((await storage.find_applicant("telegram", "906")).id)
    assert app.status == "submitted"


async def test_an_update_handed_out_again_after_a_restart_is_not_handled_twice(telegram, storage, criteria,
                                                                                tmp_path) -> None:
    async with serving(telegram, application_for(telegram, storage, criteria, tmp_path)):
        phone = Phone(telegram, 910, "卫十七")
        await phone.type("/start")
        await phone.tap(say("btn_consent_yes"))
        await phone.type("/jump 1.1a")
        await phone.type("只保存一次的回答")
        answered = telegram.last_update_id
    phone.new  # noqa: B018 - all read
    # Killed before it confirmed the update: the restarted bot is handed it again.
    async with serving(telegram, application_for(telegram, storage, criteria, tmp_path)):
        telegram.hand_out_again(answered)
        await telegram.settle(910)
    app = await storage.application((await storage.find_applicant("telegram", "910")).id)
    assert await storage.answer(app.id, "1.1a") == "只保存一次的回答"
    assert phone.new == []  # and nothing said about it


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
                                    rate=FAST, per_chat_rate=FAST)
    async with serving(telegram, application):
        phone = Phone(telegram, 907, "褚十六")
        await phone.type("你好")
    received = phone.text()
    assert "🎉 已提交" in received and say("document_too_big_to_send", name="申报书.docx", mb=51) in received
    assert not any(method == "sendDocument" for method, _ in telegram.calls)


async def test_a_chinese_name_is_greeted_in_order_and_typed_button_words_are_taps(telegram, bot, storage) -> None:
    phone = Phone(telegram, 444, "雪梅|赵")
    await phone.type("/start")
    assert said("welcome", name="赵雪梅") in phone.text()
    await phone.type("同意")
    assert said("profile_prompt", n=1, total=22) in phone.text()
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
    application = application_for(telegram, storage, criteria, tmp_path,
                                  web_app_url="https://award.example.cn/miniapp")
    async with serving(telegram, application):
        phone = Phone(telegram, 555, "王芳")
        await phone.type("/start")
        await phone.tap(say("btn_consent_yes"))
        await phone.type("/jump 1.1a")
        rows = phone.last_with_buttons().buttons
    [mini] = [b for row in rows for b in row if "web_app" in b]
    assert mini["text"] == say("btn_web_app") and mini["web_app"]["url"] == "https://award.example.cn/miniapp"
