"""The web channel in a real Chromium on a phone: what a person sees, types, taps and downloads.

Each test is a story of one or two people, told through the page only (tests/web_browser.py).
Set AWARD_SCREENSHOTS=docs/screenshots to keep the screenshots of the main screens there.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from docx import Document
from docx.oxml.ns import qn
from PIL import Image
from selenium.webdriver.remote.webelement import WebElement

from tests.web_browser import WECHAT, missing_browser

_MISSING = missing_browser()
if _MISSING:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {_MISSING}", pytrace=False)
    pytest.skip(f"no browser for the web tests: {_MISSING}", allow_module_level=True)

from bot.reminders import MANUAL, reminder_buttons  # noqa: E402
from bot.storage import Outgoing  # noqa: E402
from bot.web.guard import Bucket  # noqa: E402
from bot.web.serve import invite  # noqa: E402
from bot.web.store import CHANNEL  # noqa: E402
from tests.conftest import DEFAULT_CRITERIA, PROFILE  # noqa: E402
from tests.web_browser import HEIGHT, WIDTH, Phone, WebServer, fetch  # noqa: E402

# Pasted from a document: two paragraphs, the first with a line break inside it.
PASTED = ("我把“下道工序就是顾客”写进班组守则，2022年起每月对照公司质量方针自查一次。\n"
          "三年来未发生因本人失误导致的客户投诉。\n"
          "\n"
          "2023年起推行日清日结的质量例会制度，推广到全车间6个班组，问题闭环率由85%提升至98%。")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    web = WebServer(tmp_path_factory.mktemp("web")).start()
    yield web
    web.stop()


@pytest.fixture
def phones(server: WebServer) -> Iterator[Callable[..., Phone]]:
    """Opens phones (each its own browser: no cookie or storage shared); all closed after the test."""
    opened: list[Phone] = []

    def open_phone(**kwargs: str) -> Phone:
        opened.append(Phone(server.origin, **kwargs))
        return opened[-1]

    yield open_phone
    for phone in opened:
        phone.close()


@pytest.fixture
def shots(tmp_path: Path) -> Callable[[Phone, str], Path]:
    """Screenshots of the phone's screen, into AWARD_SCREENSHOTS when set (else a temporary folder)."""
    folder = Path(os.environ.get("AWARD_SCREENSHOTS") or tmp_path / "screenshots")

    def shot(phone: Phone, name: str) -> Path:
        path = phone.screenshot(folder / name)
        with Image.open(path) as image:
            assert image.size == (WIDTH, HEIGHT), f"{name} is {image.size}, not a phone's screen"
        assert phone.layout_problems() == [], name
        return path

    return shot


def stayed_home(phone: Phone) -> None:
    """The page asked nothing of any other host, and the browser reported no error."""
    origin = urlsplit(phone.origin)
    elsewhere = [url for url in phone.requests()
                 if not url.startswith("data:") and urlsplit(url)[:2] != origin[:2]]
    assert phone.requests(), "the network log is empty: nothing was checked"
    assert elsewhere == []
    assert phone.console_errors() == []


def words(docx: bytes) -> str:
    """All the text of a Word document, tables included, paragraph by paragraph."""
    body = Document(io.BytesIO(docx)).element.body
    return "\n".join("".join(t.text or "" for t in p.iter(qn("w:t"))) for p in body.iter(qn("w:p")))


def register(phone: Phone, name: str, unit: str = "") -> WebElement:
    """Fills in the start page's form; returns the personal link it then shows."""
    phone.open("/")
    phone.find("#name").send_keys(name)
    if unit:
        phone.find("#unit").send_keys(unit)
    phone.driver.find_element("xpath", '//button[normalize-space()="开始申报"]').click()
    return phone.wait(lambda: phone.driver.find_elements("id", "personal-link"), "the personal link")[0]


def enter_by_link(server: WebServer, phone: Phone, name: str) -> None:
    """An applicant the office invited (`award-bot invite`) opens their personal link and agrees."""
    link, _qr = server.call(invite(server.storage, server.settings, name, "", None))
    assert link.startswith(f"{server.origin}/k/")
    phone.open(link)
    phone.see("欢迎")
    phone.tap("同意并开始")


def test_a_new_applicant_registers_and_fills_in_on_a_phone(
        server: WebServer, phones: Callable[..., Phone], shots: Callable[[Phone, str], Path], tmp_path: Path) -> None:
    phone = phones()
    phone.open("/")
    assert "质量奖" in phone.find("h1").text
    shots(phone, "1-start.png")

    # Registers with a name: a personal link and its QR code, then in.
    link = register(phone, "王芳", "连云港某某精密机械有限公司")
    assert "王芳" in phone.find("h1").text
    assert link.text.startswith(f"{server.origin}/k/") and link.get_attribute("href") == link.text
    qr = phone.find(".qr svg")
    assert qr.tag_name == "svg" and qr.is_displayed() and qr.size["width"] >= 200
    shots(phone, "2-personal-link.png")
    phone.driver.find_element("link text", "进入申报").click()

    # The welcome is there without typing /start; agreeing is a real button.
    welcome = phone.see("欢迎")
    assert "王芳" in welcome["text"] and welcome["text"] in phone.find('[role="log"]').text
    assert not any(m["me"] for m in phone.messages()), "the page typed something for the applicant"
    assert phone.progress() == "已答 0/39"
    phone.tap("同意并开始")

    # The 申报表: typed answers, and choices tapped.
    tapped = []
    for field in DEFAULT_CRITERIA.profile:
        value = "王芳" if field.key == "name" else PROFILE.get(field.key)
        if value is None:
            replies = phone.tap("跳过此项")
        elif value in phone.messages()[-1]["buttons"]:
            replies = phone.tap(value)
            tapped.append(value)
        else:
            replies = phone.send(value)  # 主要工作经历 is pasted as two lines: a row each
        assert any(m["me"] for m in replies), f"what was given for {field.key} is not in the log"
        if field.type == "table" and value is not None:
            assert any("已记下第 2 行" in m["text"] for m in replies)
            phone.tap("完成本项")
    assert tapped == ["男", "中共党员"]
    question = phone.see("1.1a")
    assert {"跳过 ▶", "目录", "完成提交"} <= set(question["buttons"])
    shots(phone, "3-chat-question.png")

    # A pasted answer of two paragraphs is one message, its paragraphs and line breaks kept.
    replies = phone.send(PASTED, paste=True)
    mine = [m for m in replies if m["me"]]
    assert len(mine) == 1
    assert mine[0]["raw"] == PASTED
    assert mine[0]["text"] == PASTED  # as rendered: the blank line and the line break are on screen
    assert any("已保存 1.1a" in m["text"] for m in replies)
    assert phone.progress() == "1.1a · 已答 1/39"  # where they are, and how far

    # A photo of a certificate, uploaded as evidence.
    photo = tmp_path / "荣誉证书.jpg"
    Image.new("RGB", (320, 240), (200, 60, 40)).save(photo, "JPEG")
    replies = phone.upload(photo)
    assert any(m["me"] and "荣誉证书.jpg" in m["text"] for m in replies)
    assert any("已收到" in m["text"] and "荣誉证书.jpg" in m["text"] for m in replies if not m["me"])

    # Commands typed as in Telegram.
    replies = phone.send("/back")
    assert "个人简介及主要事迹" in replies[-1]["text"]  # the 申报表's last field
    replies = phone.send("/jump 3.1")
    assert "3.1a" in replies[-1]["text"] and "顾客" in replies[-1]["text"]

    # A draft: a download link named for the applicant, which Word opens.
    replies = phone.send("/draft")
    draft = [link for m in replies for link in m["links"] if link["download"]]
    assert len(draft) == 1
    assert "王芳" in draft[0]["download"] and "草稿" in draft[0]["download"]
    assert draft[0]["download"].endswith(".docx") and draft[0]["text"] == draft[0]["download"]
    assert not any(m["hint"] for m in replies)  # the WeChat hint is for WeChat only
    shots(phone, "4-document.png")
    status, headers, body = fetch(server.origin + draft[0]["href"], phone.session())
    assert status == 200, body[:200]
    assert "attachment" in headers["Content-Disposition"]
    text = words(body)
    assert "王芳" in text
    for paragraph in PASTED.split("\n"):
        assert paragraph in text, f"the draft lost {paragraph!r}"

    # Finishing, confirmed: the final document.
    replies = phone.send("/finish")
    assert "仍然提交" in replies[-1]["buttons"]
    replies = phone.tap("仍然提交")
    final = [link for m in replies for link in m["links"] if link["download"]]
    assert len(final) == 1, replies
    assert "王芳" in final[0]["download"] and "草稿" not in final[0]["download"]
    status, _headers, body = fetch(server.origin + final[0]["href"], phone.session())
    assert status == 200 and "王芳" in words(body)

    stayed_home(phone)


def test_a_reminder_from_the_office_appears_in_the_open_page(server: WebServer,
                                                             phones: Callable[..., Phone]) -> None:
    phone = phones()
    enter_by_link(server, phone, "赵敏")
    phone.see("姓名")
    phone.driver.execute_script("window.stillTheSamePage = true;")

    # The office's reminder goes through the outbox and the web transport, as `award-bot web` sends it.
    reminder = "【评审办公室】赵敏您好，申报截止前还有 3 天，请抽空接着填写。"
    queued = server.call(server.storage.enqueue(Outgoing(CHANNEL, server.user_id("赵敏"), MANUAL,
                                                         {"text": reminder, "buttons": reminder_buttons()})))
    assert queued
    server.loop.call_soon_threadsafe(server.sender.wake)
    sent = time.monotonic()
    shown = phone.see(reminder, timeout=6)
    assert time.monotonic() - sent < 5.5  # the page asks every 3 s
    assert phone.driver.execute_script("return window.stillTheSamePage === true;"), "the page was reloaded"
    assert shown["buttons"] == ["继续填写"]

    # Its button takes them back where they left off.
    replies = phone.tap("继续填写")
    assert "姓名" in replies[-1]["text"]
    stayed_home(phone)


def test_another_applicant_sees_nothing_of_the_first(server: WebServer, phones: Callable[..., Phone]) -> None:
    first = phones()
    enter_by_link(server, first, "孙丽")
    first.send("孙丽")
    replies = first.send("/draft")
    document = next(link["href"] for m in replies for link in m["links"] if link["download"])
    assert fetch(server.origin + document, first.session())[0] == 200
    theirs = {m["id"] for m in first.messages()}

    second = phones()
    register(second, "周强")
    second.driver.find_element("link text", "进入申报").click()
    second.see("欢迎")
    shown = second.messages()
    assert "周强" in shown[0]["text"]
    assert not theirs & {m["id"] for m in shown}
    assert not any("孙丽" in m["text"] for m in shown)
    assert "孙丽" not in second.driver.page_source

    # Neither the first one's document nor their conversation, whatever is put in the URL.
    status, _headers, body = fetch(server.origin + document, second.session())
    assert status == 404 and b"PK" not in body[:4]
    status, _headers, body = fetch(f"{server.origin}/api/messages?after=0", second.session())
    assert status == 200
    assert not theirs & {m["id"] for m in json.loads(body)["messages"]}
    assert fetch(server.origin + document, None)[0] == 401
    stayed_home(first)
    stayed_home(second)


def test_in_wechat_a_document_comes_with_a_way_to_open_it(server: WebServer, phones: Callable[..., Phone],
                                                          shots: Callable[[Phone, str], Path]) -> None:
    phone = phones(user_agent=WECHAT)
    assert "MicroMessenger" in phone.driver.execute_script("return navigator.userAgent;")
    enter_by_link(server, phone, "钱进")
    phone.send("钱进")  # the 申报表's 姓名: the document is named for it
    replies = phone.send("/draft")
    document = next(m for m in replies if m["links"])
    assert "钱进" in document["links"][0]["download"]
    assert document["hint"] and "个人链接" in document["hint"][0] and "浏览器里打开" in document["hint"][0]
    shots(phone, "5-wechat-document.png")
    stayed_home(phone)


def test_a_message_that_could_not_be_sent_is_explained_in_sight(server: WebServer,
                                                                phones: Callable[..., Phone]) -> None:
    phone = phones()
    enter_by_link(server, phone, "吴倩")
    for value in ("吴倩", "男", "1990年3月"):
        if value in phone.messages()[-1]["buttons"]:
            phone.tap(value)
        else:
            phone.send(value)
    assert phone.driver.execute_script("return document.documentElement.scrollHeight > innerHeight;")

    paced = server.site.messages
    server.site.messages = Bucket(burst=0, rate=1e-9)  # the server now says 发得太快了 (429)
    try:
        phone.find('textarea[aria-label="回答"]').send_keys("中共党员")
        phone.driver.find_element("xpath", '//button[normalize-space()="发送"]').click()
        phone.wait(lambda: phone.find("#notice").is_displayed(), "the notice")
    finally:
        server.site.messages = paced
    assert phone.find('textarea[aria-label="回答"]').get_attribute("value") == "中共党员"  # kept to send again
    # Waited for, not read once: on a loaded machine the page may still be settling its scroll.
    phone.wait(lambda: phone.driver.execute_script("""
        var notice = document.getElementById('notice'), box = notice.getBoundingClientRect();
        var x = box.left + box.width / 2, y = box.top + box.height / 2;
        return y > 0 && y < innerHeight && document.elementFromPoint(x, y) === notice;"""),
        "the notice in sight, not behind the composer")


def test_the_send_button_sits_level_with_the_upload_button(server: WebServer, phones: Callable[..., Phone]) -> None:
    phone = phones()
    enter_by_link(server, phone, "郑华")
    phone.find('textarea[aria-label="回答"]').send_keys("郑华")
    send = phone.driver.find_element("xpath", '//button[normalize-space()="发送"]').rect
    upload = phone.find("label.upload").rect
    count = phone.find("#count")
    assert count.text == "2 字"
    assert abs((send["y"] + send["height"] / 2) - (upload["y"] + upload["height"] / 2)) <= 2
    assert count.rect["height"] < 30, "the character count is squeezed onto two lines"
