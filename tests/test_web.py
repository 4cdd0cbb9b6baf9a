"""The web channel over HTTP (#13): getting in, the chat API, and what it refuses; the real aiohttp app."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, CookieJar, FormData
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.criteria import Criteria
from bot.flows.dispatch import Dispatcher
from bot.flows.events import ButtonPress, Command, Sender, Text
from bot.flows.interview import Interview
from bot.storage import OutboxMessage, Storage
from bot.web.app import WebSettings, build_app
from bot.web.channel import WebTransport
from bot.web.store import WebStore
from bot.web.telegram_auth import sign_init_data
from tests.conftest import award_bot, jpeg


@pytest.fixture
async def site(storage: Storage, criteria: Criteria, tmp_path: Path) -> AsyncIterator[TestServer]:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    server = TestServer(build_app(Dispatcher(interview.handle).handle, storage, criteria, WebSettings()))
    await server.start_server()
    yield server
    await server.close()


class Browser:
    """One person's browser: its own cookies, the Origin a browser sends, the page's CSRF token."""

    def __init__(self, server: TestServer) -> None:
        self.origin = str(server.make_url("")).rstrip("/")
        # unsafe: keep cookies for an IP address (127.0.0.1), as a browser does.
        self.client = ClientSession(base_url=self.origin, cookie_jar=CookieJar(unsafe=True))
        self.csrf = ""
        self.last = 0

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.client.close()

    def session_cookie(self) -> str:
        return self.client.cookie_jar.filter_cookies(URL(self.origin))["award_session"].value

    async def register(self, name: str) -> str:
        page = await (await self.client.get("/")).text()
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert csrf, page
        response = await self.client.post("/register", data={"name": name, "csrf": csrf[1]},
                                          headers={"Origin": self.origin})
        page = await response.text()
        assert response.status == 200, page
        link = re.search(r'id="personal-link" href="([^"]+)"', page)
        assert link and "<svg" in page
        return link[1]

    async def open_chat(self) -> str:
        response = await self.client.get("/chat")
        page = await response.text()
        assert response.status == 200, page
        self.csrf = re.search(r'data-csrf="([0-9a-f]+)"', page)[1]  # type: ignore[index]
        return page

    async def post(self, path: str, body: dict[str, object], *, csrf: str | None = None,
                   origin: str | None = "") -> tuple[int, dict]:
        headers = {"X-CSRF-Token": self.csrf if csrf is None else csrf}
        if origin is not None:
            headers["Origin"] = origin or self.origin
        response = await self.client.post(path, json={**body, "after": self.last}, headers=headers)
        data = await response.json() if response.content_type == "application/json" else {}
        if data.get("messages"):
            self.last = data["messages"][-1]["id"]
        return response.status, data

    async def say(self, text: str) -> dict:
        status, data = await self.post("/api/send", {"text": text})
        assert status == 200, data
        return data

    async def tap(self, label: str, data: dict) -> dict:
        pressed = next(b for m in data["messages"] for row in m["buttons"] for b in row if label in b[0])
        status, reply = await self.post("/api/press", {"data": pressed[1], "label": pressed[0]})
        assert status == 200
        return reply


def texts(data: dict) -> str:
    return "\n".join(m["text"] for m in data["messages"])


async def test_registering_gives_a_personal_link_that_opens_the_same_application_anywhere(site, storage) -> None:
    async with Browser(site) as phone:
        link = await phone.register("王芳")
        await phone.open_chat()
        data = await (await phone.client.get("/api/messages?after=0")).json()
        assert "王芳，欢迎使用质量奖申报助手" in texts(data)  # the welcome, without typing /start
        data = await phone.tap("同意并开始", data)
        assert "申报表 第 1/共 22 项" in texts(data)
        await phone.say("王芳")
    async with Browser(site) as laptop:
        response = await laptop.client.get(link.replace(laptop.origin, ""), allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/chat"
        cookie = response.cookies["award_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        await laptop.open_chat()
        data = await (await laptop.client.get("/api/messages?after=0")).json()
        assert "已记下姓名：王芳" in texts(data) and "申报表 第 2/共 22 项" in texts(data)


async def test_a_pasted_answer_is_one_message_and_progress_counts_it(site, storage) -> None:
    async with Browser(site) as phone:
        await phone.register("李雷")
        await phone.open_chat()
        data = await (await phone.client.get("/api/messages?after=0")).json()
        await phone.tap("同意并开始", data)
        await phone.say("/jump 1.1a")
        data = await phone.say("第一段：每天班前会讲质量。\n\n第二段：2023年起推行自检互检。")
        assert "已保存 1.1a 的回答" in texts(data) and data["progress"] == "1.1a · 已答 1/39"
        who = await WebStore(storage).holder(phone.session_cookie(), "session")
        found = await storage.find_applicant("web", who.user_id)
        app = await storage.application(found.id)
        assert await storage.answer(app.id, "1.1a") == "第一段：每天班前会讲质量。\n\n第二段：2023年起推行自检互检。"


async def test_state_changes_need_the_session_csrf_token_and_this_sites_origin(site, storage) -> None:
    async with Browser(site) as phone:
        await phone.register("张三")
        await phone.open_chat()
        before = await (await phone.client.get("/api/messages?after=0")).json()
        for csrf, origin in (("", ""), ("0" * 64, ""), (None, "https://evil.example"), (None, None)):
            status, _ = await phone.post("/api/send", {"text": "/next"}, csrf=csrf, origin=origin)
            assert status == 403
        after = await (await phone.client.get("/api/messages?after=0")).json()
        assert after["messages"] == before["messages"]  # nothing was sent, nothing recorded
        # Registration without the form's token, or from another site, registers no one.
        response = await phone.client.post("/register", data={"name": "伪造", "csrf": "x"},
                                           headers={"Origin": phone.origin})
        assert response.status == 400
    async with Browser(site) as stranger:
        assert (await stranger.client.get("/api/messages?after=0")).status == 401
        assert (await stranger.client.get("/chat", allow_redirects=False)).status == 303


async def test_another_applicants_document_is_not_found_and_html_stays_text(site, storage, tmp_path) -> None:
    async with Browser(site) as wang, Browser(site) as li:
        await wang.register("王芳")
        await wang.open_chat()
        data = await (await wang.client.get("/api/messages?after=0")).json()
        await wang.tap("同意并开始", data)
        await wang.say("王芳")
        await wang.say("/jump 1.1a")
        data = await wang.say("<script>alert(1)</script>{{ 7*7 }} <b>粗体</b>")
        data = await wang.say("/draft")
        [document] = [m["document"] for m in data["messages"] if m.get("document")][:1]
        assert "草稿" in document["name"] and "王芳" in document["name"]
        response = await wang.client.get(document["url"])
        assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        await li.register("李雷")
        await li.open_chat()
        assert (await li.client.get(document["url"])).status == 404
        page = await wang.open_chat()
        assert "<script>alert(1)</script>" not in page and "\\u003cscript\\u003ealert(1)" in page
        csp = (await wang.client.get("/chat")).headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp


async def test_uploads_are_checked_like_telegram_and_oversized_bodies_refused(site, storage) -> None:
    async with Browser(site) as phone:
        await phone.register("王芳")
        await phone.open_chat()
        data = await (await phone.client.get("/api/messages?after=0")).json()
        await phone.tap("同意并开始", data)
        await phone.say("/jump 7.4a")

        async def upload(name: str, body: bytes, mime: str) -> tuple[int, str]:
            form = FormData(quote_fields=False)  # a browser sends the file name as it is
            form.add_field("file", body, filename=name, content_type=mime)
            response = await phone.client.post(f"/api/upload?after={phone.last}", data=form,
                                               headers={"X-CSRF-Token": phone.csrf, "Origin": phone.origin})
            if response.content_type != "application/json":
                return response.status, await response.text()
            result = await response.json()
            if result["messages"]:
                phone.last = result["messages"][-1]["id"]
            return response.status, texts(result)

        status, said = await upload("证书.jpg", jpeg("certificate"), "image/jpeg")
        assert status == 200 and "已收到「证书.jpg」" in said
        status, said = await upload("假.png", b"\x89PNG\r\n\x1a\nnot really", "image/png")
        assert status == 200 and "已收到" not in said
        status, _ = await upload("大.pdf", b"%PDF-" + b"0" * (21 * 1024 * 1024), "application/pdf")
        assert status == 413


async def test_a_reminder_reaches_an_open_page(site, storage) -> None:
    async with Browser(site) as phone:
        await phone.register("王芳")
        await phone.open_chat()
        data = await (await phone.client.get("/api/messages?after=0")).json()
        await phone.tap("同意并开始", data)
        [person] = await storage.fetchall("SELECT user_id FROM web_people")
        reminder = {"text": "距截止还有 3 天，记得完成申报。"}
        await WebTransport(WebStore(storage))(
            OutboxMessage(0, "web", person["user_id"], None, None, "reminder", reminder, "pending", 0))
        news = await (await phone.client.get(f"/api/messages?after={phone.last}")).json()
        assert texts(news) == "距截止还有 3 天，记得完成申报。"


async def test_an_invitation_made_while_the_server_runs_opens_the_invited_persons_application(
        site, storage, db_path, tmp_path) -> None:
    made = award_bot("invite", "--name", "陈海涛", "--unit", "某某精密", "--qr", str(tmp_path / "qr"),
                     env={"AWARD_DB": str(db_path), "AWARD_WEB_BASE_URL": "https://award.example.cn"})
    assert made.returncode == 0, made.stderr
    link = re.search(r"https://award\.example\.cn(/k/\S+)", made.stdout)
    assert link, made.stdout
    [png] = list((tmp_path / "qr").glob("*.png"))
    assert png.read_bytes().startswith(b"\x89PNG")
    async with Browser(site) as phone:
        response = await phone.client.get(link[1], allow_redirects=False)
        assert response.status == 303
        await phone.open_chat()
        data = await (await phone.client.get("/api/messages?after=0")).json()
        assert "陈海涛，欢迎使用质量奖申报助手" in texts(data)


async def test_an_erased_web_applicant_leaves_no_conversation_and_no_working_link(site, storage) -> None:
    async with Browser(site) as phone:
        link = await phone.register("王芳")
        await phone.open_chat()
        data = await (await phone.client.get("/api/messages?after=0")).json()
        await phone.tap("同意并开始", data)
        await phone.say("/jump 1.1a")
        await phone.say("只属于我的回答")
        data = await phone.say("/delete")
        data = await phone.tap("确认永久删除", data)
        assert "已全部删除" in texts(data)  # told once, on the page that asked
        for table in ("web_messages", "web_tokens", "web_people"):
            assert await storage.fetchall(f"SELECT * FROM {table}") == [], table
        assert (await phone.client.get(link.replace(phone.origin, ""), allow_redirects=False)).status == 404


TOKEN = "123456:TEST-token"


@pytest.fixture
async def mini_site(storage: Storage, criteria: Criteria, tmp_path: Path) -> AsyncIterator[TestServer]:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    server = TestServer(build_app(Dispatcher(interview.handle).handle, storage, criteria,
                                  WebSettings(telegram_token=TOKEN)))
    await server.start_server()
    yield server
    await server.close()


async def test_in_the_mini_app_a_telegram_user_writes_the_same_answer_as_in_their_chat(mini_site, storage,
                                                                                       criteria) -> None:
    # The applicant already agreed and answered in the Telegram chat.
    chat = Interview(storage, criteria)
    telegram = Sender("telegram", "777", "赵雪梅")
    await chat.handle(ButtonPress(telegram, "consent:yes"))
    await chat.handle(Command(telegram, "jump", "1.1a"))
    await chat.handle(Text(telegram, "在聊天里写的第一段。"))
    signed = sign_init_data({"user": json.dumps({"id": 777, "first_name": "雪梅"}),
                             "auth_date": str(int(time.time()))}, TOKEN)
    async with Browser(mini_site) as app:
        assert (await app.client.get("/miniapp")).status == 200
        response = await app.client.post("/miniapp/signin", json={"initData": signed},
                                         headers={"Origin": app.origin})
        assert response.status == 200 and (await response.json())["next"] == "/chat"
        await app.open_chat()
        await app.say("在网页里补充的第二段。")
    found = await storage.find_applicant("telegram", "777")
    answer = await storage.answer((await storage.application(found.id)).id, "1.1a")
    assert answer == "在聊天里写的第一段。\n在网页里补充的第二段。"


async def test_a_forged_or_stale_mini_app_sign_in_is_refused(mini_site, storage) -> None:
    stale = sign_init_data({"user": json.dumps({"id": 777}), "auth_date": str(int(time.time()) - 3 * 86400)}, TOKEN)
    forged = sign_init_data({"user": json.dumps({"id": 777}), "auth_date": str(int(time.time()))}, "999:other")
    async with Browser(mini_site) as app:
        for init_data in (stale, forged, "", "user=%7B%22id%22%3A777%7D"):
            response = await app.client.post("/miniapp/signin", json={"initData": init_data},
                                             headers={"Origin": app.origin})
            assert response.status == 403
        assert (await app.client.get("/chat", allow_redirects=False)).status == 303
    assert await storage.fetchall("SELECT * FROM web_tokens") == []


async def test_two_tabs_opening_at_once_get_one_welcome(site, storage) -> None:
    async with Browser(site) as phone:
        await phone.register("王芳")
        await asyncio.gather(*(phone.client.get("/chat") for _ in range(3)))
        data = await (await phone.client.get("/api/messages?after=0")).json()
        assert texts(data).count("欢迎使用质量奖申报助手") == 1


async def test_the_chat_page_with_its_style_and_script_weighs_under_150_kb(site) -> None:
    async with Browser(site) as phone:
        await phone.register("王芳")
        page = await phone.open_chat()
        sizes = [len(page.encode())]
        for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
            response = await phone.client.get(asset)
            assert response.status == 200
            sizes.append(len(await response.read()))
        assert len(sizes) == 3 and sum(sizes) < 150_000, sizes
        assert not re.search(r'(?:href|src)="(?:https?:)?//', page)  # nothing from another host


async def test_the_page_after_registering_is_the_personal_link_so_a_reload_registers_no_one_twice(
        site, storage) -> None:
    async with Browser(site) as phone:
        page = await (await phone.client.get("/")).text()
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)[1]  # type: ignore[index]
        response = await phone.client.post("/register", data={"name": "钱七", "csrf": csrf},
                                           headers={"Origin": phone.origin}, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/k/")
        landing = response.headers["Location"]
        assert "钱七，这是您的个人链接" in await (await phone.client.get(landing)).text()
        assert "钱七，这是您的个人链接" in await (await phone.client.get(landing)).text()  # a reload
        assert len(await storage.fetchall("SELECT * FROM web_people")) == 1


async def test_a_body_too_big_for_its_address_is_refused_before_it_is_read(site) -> None:
    async with Browser(site) as phone:
        await phone.register("王芳")
        await phone.open_chat()
        for path in ("/api/send", "/register"):
            response = await phone.client.post(path, data=b"x" * (600 * 1024),
                                               headers={"X-CSRF-Token": phone.csrf, "Origin": phone.origin})
            assert response.status == 413, path


async def test_mydata_on_the_web_includes_what_the_web_keeps(site, storage) -> None:
    async with Browser(site) as phone:
        page = await (await phone.client.get("/")).text()
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)[1]  # type: ignore[index]
        await phone.client.post("/register", data={"name": "王芳", "unit": "某某公司", "csrf": csrf},
                                headers={"Origin": phone.origin})
        await phone.open_chat()
        data = await (await phone.client.get("/api/messages?after=0")).json()
        await phone.tap("同意并开始", data)
        data = await phone.say("/mydata")
        [document] = [m["document"] for m in data["messages"] if m.get("document")]
        mine = json.loads(await (await phone.client.get(document["url"])).text())
        assert mine["web"]["registration"][0]["unit"] == "某某公司"
        assert any("同意并开始" in row["payload"] for row in mine["web"]["conversation"])


def test_an_invitation_needs_a_name_and_the_servers_database(tmp_path) -> None:
    env = {"AWARD_DB": str(tmp_path / "typo.db")}
    missing = award_bot("invite", "--name", "王芳", env=env)
    assert missing.returncode == 1 and "找不到数据库" in missing.stderr
    assert not (tmp_path / "typo.db").exists()
    (tmp_path / "typo.db").touch()
    blank = award_bot("invite", "--name", "  \u200b \x07 ", env=env)
    assert blank.returncode == 2 and "不能为空" in blank.stderr
