"""The award office's desk in a real Chromium: a coordinator signs in from a link, filters the table,
returns an application with two comments; the applicant sees them on their phone, fixes and
resubmits; the office sees what changed. Strangers and forged requests get nothing.

Set AWARD_SCREENSHOTS=docs/screenshots to keep the desk's screenshots there.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.web_browser import missing_browser

_MISSING = missing_browser()
if _MISSING:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {_MISSING}", pytrace=False)
    pytest.skip(f"no browser for the desk tests: {_MISSING}", allow_module_level=True)

from bot.criteria import load_criteria  # noqa: E402
from bot.flows.events import Sender  # noqa: E402
from bot.flows.interview import Interview  # noqa: E402
from bot.web.office import OFFICE_COOKIE  # noqa: E402
from bot.web.office_store import OfficeStore  # noqa: E402
from bot.web.store import Who  # noqa: E402
from tests.conftest import PROFILE, FakeApplicant, answer_for, award_bot  # noqa: E402
from tests.test_web_browser import enter_by_link  # noqa: E402
from tests.web_browser import DESK_HEIGHT, DESK_WIDTH, Phone, WebServer  # noqa: E402

BOSS = Who("console", "王主任")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    web = WebServer(tmp_path_factory.mktemp("desk"), coordinators="console:王主任").start()
    yield web
    web.stop()


@pytest.fixture
def browsers(server: WebServer) -> Iterator[Callable[..., Phone]]:
    opened: list[Phone] = []

    def open_browser(*, desk: bool = False) -> Phone:
        opened.append(Phone(server.origin, desk=desk))
        return opened[-1]

    yield open_browser
    for browser in opened:
        browser.close()


@pytest.fixture
def shot(tmp_path: Path) -> Callable[[Phone, str], Path]:
    folder = Path(os.environ.get("AWARD_SCREENSHOTS") or tmp_path / "screenshots")

    def take(browser: Phone, name: str) -> Path:
        return browser.screenshot(folder / name)

    return take


def sign_in_link(server: WebServer, *, now: datetime | None = None) -> str:
    return server.origin + "/office/in/" + server.call(OfficeStore(server.storage).new_link(BOSS, now=now))


async def others(server: WebServer) -> None:
    """Three more applicants in the terminal, at different places: the table and chart have something to show."""
    interview = Interview(server.storage, load_criteria(server.settings.criteria))
    for user, name, answers in (("chen", "陈静", 3), ("zhou", "周强", 1), ("wu", "吴敏", 0)):
        person = FakeApplicant(interview, user, name)
        person.sender = Sender("console", user, name)
        await person.consent()
        if answers:
            await person.fill_profile({**PROFILE, "name": name})
            for question in ("1.1a", "1.1b", "1.1c")[:answers]:
                await person.command("jump", question)
                await person.say(answer_for(question))


def whole_page(browser: Phone) -> None:
    """The window as tall as the page (up to a long screen), for a screenshot of all of it."""
    height = int(browser.driver.execute_script("return document.documentElement.scrollHeight"))
    browser.driver.set_window_size(DESK_WIDTH, min(height + 140, 1600))


def text_of(browser: Phone) -> str:
    # Read in one script: a page being replaced leaves no element behind to go stale.
    return str(browser.driver.execute_script("return document.body ? document.body.innerText : '';"))


def request(url: str, *, cookie: str = "", data: bytes | None = None, origin: str = "") -> int:
    headers = {"Cookie": cookie} if cookie else {}
    if origin:
        headers["Origin"] = origin
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_whole_return_from_the_desk_to_the_phone_and_back(server: WebServer, browsers: Callable[..., Phone],
                                                            shot: Callable[[Phone, str], Path]) -> None:
    # An invited applicant fills in a little on their phone and submits.
    phone = browsers()
    enter_by_link(server, phone, "王芳")
    for value in ("王芳",):
        phone.send(value)
    phone.send("/jump 1.1a")
    phone.send("2023年起推行日清日结的质量例会制度，推广到全车间6个班组，问题闭环率由85%提升至98%。")
    phone.send("/finish")
    phone.tap("仍然提交")
    phone.see("提交，辛苦了")

    server.call(others(server))

    # The office signs in from a one-time link and lands on the desk.
    desk = browsers(desk=True)
    link = sign_in_link(server)
    desk.open(link)
    desk.wait(lambda: desk.driver.current_url.endswith("/office"), "the desk")
    header = [th.text for th in desk.driver.find_elements(By.CSS_SELECTOR, "table.applicants thead th")]
    assert any("姓名" in h for h in header) and any("状态" in h for h in header)
    whole_page(desk)
    shot(desk, "office-1-overview.png")
    desk.driver.set_window_size(DESK_WIDTH, DESK_HEIGHT)
    Select(desk.find("#state")).select_by_visible_text("已提交")
    desk.driver.find_element(By.XPATH, '//button[normalize-space()="筛选"]').click()
    desk.wait(lambda: "state=done" in desk.driver.current_url, "the filtered table")
    names = [a.text for a in desk.driver.find_elements(By.CSS_SELECTOR, "table.applicants tbody td a")]
    assert names == ["王芳"]

    # Two comments, then 退回修改.
    desk.driver.find_element(By.LINK_TEXT, "王芳").click()
    desk.wait(lambda: "/office/applicants/" in desk.driver.current_url, "the applicant's page")
    for box, comment in (("#q-1\\.1a .comment-box", "请补充近三年的数据，并与行业平均水平比较。"),
                         ("#profile ~ .comment-box", "请补全工作单位的全称。")):
        opener = desk.find(f"{box} summary")
        desk.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", opener)
        desk.find(f"{box} textarea").send_keys(comment)
    desk.driver.find_element(By.XPATH, '//button[normalize-space()="退回修改并通知申报人"]').click()
    desk.wait(lambda: "已退回，申报人会收到带意见的通知" in text_of(desk), "the return to be confirmed")
    assert "已退回" in desk.find(".state").text

    # The applicant's open page shows the notice with both comments; the question shows its comment.
    notice = phone.see("申报办公室退回了您的申报书", timeout=8)
    assert "请补充近三年的数据" in notice["text"] and "请补全工作单位的全称" in notice["text"]
    shot(phone, "office-3-phone-notice.png")
    replies = phone.tap("去修改 1.1a")
    assert "📝 申报办公室的修改意见：请补充近三年的数据" in replies[-1]["text"]
    phone.tap("重写本题")
    phone.send("2022—2024年问题闭环率由85%提升至99.0%，高于行业平均水平97%。")
    phone.send("/finish")
    phone.tap("仍然提交")
    phone.see("提交，辛苦了")

    # The office sees what changed since the return.
    desk.driver.refresh()
    desk.wait(lambda: "重新提交" in text_of(desk), "the resubmission")
    changed = desk.find("#q-1\\.1a .diff")
    assert "99.0%" in changed.find_element(By.CSS_SELECTOR, "ins").text or \
        any("99.0%" in i.text for i in changed.find_elements(By.CSS_SELECTOR, "ins"))
    desk.driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", desk.find("#q-1\\.1a"))
    shot(desk, "office-2-applicant-diff.png")


def test_strangers_forged_requests_and_old_links_get_nothing(server: WebServer,
                                                            browsers: Callable[..., Phone]) -> None:
    # From the command line, beside the running server (as the office would on the server).
    made = award_bot("office-link", "console:王主任", env={
        "AWARD_DB": str(server.folder / "award.db"), "AWARD_COORDINATORS": "console:王主任",
        "AWARD_WEB_BASE_URL": server.origin})
    assert made.returncode == 0, made.stderr
    used = made.stdout.strip().split("：")[-1]
    assert used.startswith(f"{server.origin}/office/in/")
    desk = browsers(desk=True)
    desk.open(used)
    desk.wait(lambda: desk.driver.current_url.endswith("/office"), "the desk")
    cookie = desk.driver.get_cookie(OFFICE_COOKIE)
    assert cookie is not None and cookie["httpOnly"]

    other = browsers(desk=True)
    other.open(used)  # the same link, again
    assert "无效、已用过或已过期" in text_of(other)
    other.open(sign_in_link(server, now=datetime.now(UTC) - timedelta(minutes=16)))
    assert "无效、已用过或已过期" in text_of(other)
    other.open("/office")
    assert "请用办公室的登录链接打开" in text_of(other)

    # An applicant's web session is not a coordinator's; a form from elsewhere is refused.
    phone = browsers()
    enter_by_link(server, phone, "李雷")
    applicant_session = f"award_session={phone.session()}"
    assert request(server.origin + "/office", cookie=applicant_session) == 401
    office = f"{OFFICE_COOKIE}={cookie['value']}"
    assert request(server.origin + "/office", cookie=office) == 200
    forged = request(server.origin + "/office/applicants/1/return", cookie=office, data=b"c-1.1a=x",
                     origin="https://evil.example")
    assert forged == 403
    assert request(server.origin + "/office/applicants/999999", cookie=office) == 404
