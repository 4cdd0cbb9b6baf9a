"""The award office's desk on the web (#14, first part): sign-in links, the overview and the table."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from bot.criteria import Criteria
from bot.flows.coordinator import Coordinator, Coordinators
from bot.flows.events import FileReceived
from bot.flows.interview import Interview
from bot.storage import Storage
from bot.web.office_store import OfficeStore
from bot.web.store import Who
from tests.conftest import FakeApplicant, answer_for, award_bot, jpeg
from tests.office_desk import BOSS, POLICY, browser, desk_app


async def applicants(storage: Storage, criteria: Criteria) -> None:
    interview = Interview(storage, criteria)
    wang = FakeApplicant(interview, "501", "王芳")
    await wang.reach_questions()
    await wang.say(answer_for("1.1a"))
    li = FakeApplicant(interview, "502", "李雷")
    await li.consent()


async def test_a_coordinator_signs_in_once_from_a_link_and_sees_everyone(desk, storage, criteria) -> None:
    await applicants(storage, criteria)
    link = await OfficeStore(storage).new_link(BOSS)
    async with browser(desk) as session:
        response = await session.get(f"/office/in/{link}", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/office"
        page = await (await session.get("/office")).text()
        assert "共 2 人：未开始 1 · 填写中 1 · 已退回 0 · 已提交 0" in page
        header = re.search(r"<thead>(.*?)</thead>", page, re.S)[1]  # type: ignore[index]
        assert all(column in header for column in ("姓名", "工作单位", "状态", "已答", "最近活动"))
        assert re.search(r'<td><a href="/office/applicants/\d+">张三</a></td>', page)
        filtered = await (await session.get("/office?state=open")).text()
        assert "张三" in filtered and "（未填姓名）" not in filtered
        searched = await (await session.get("/office?q=精密")).text()
        assert "张三" in searched
        person = re.search(r'href="(/office/applicants/\d+)">张三', page)[1]  # type: ignore[index]
        detail = await (await session.get(person)).text()
        assert answer_for("1.1a") in detail and "连云港某某精密机械有限公司" in detail
    async with browser(desk) as again:
        assert (await again.get(f"/office/in/{link}", allow_redirects=False)).status == 403  # used once


async def test_an_expired_link_a_stranger_and_a_removed_coordinator_get_nothing(desk, storage, criteria,
                                                                                tmp_path) -> None:
    store = OfficeStore(storage)
    old = await store.new_link(BOSS, now=datetime.now(UTC) - timedelta(minutes=16))
    stranger = await store.new_link(Who("telegram", "1234"))
    async with browser(desk) as session:
        assert (await session.get(f"/office/in/{old}", allow_redirects=False)).status == 403
        assert (await session.get(f"/office/in/{stranger}", allow_redirects=False)).status == 403
        assert (await session.get("/office")).status == 401
        assert (await session.get("/office/applicants/1")).status == 401
    # Signed in, then removed from AWARD_COORDINATORS: the next request is refused.
    link = await store.new_link(BOSS)
    async with browser(desk) as session:
        await session.get(f"/office/in/{link}")
        cookie = session.cookie_jar.filter_cookies(desk.make_url("/office"))["award_office"].value
    later = desk_app(storage, criteria, tmp_path, {("telegram", "1111")})
    await later.start_server()
    try:
        async with browser(later) as session:
            response = await session.get("/office", cookies={"award_office": cookie})
            assert response.status == 403
    finally:
        await later.close()


def test_office_link_from_the_command_line_for_a_console_coordinator(tmp_path, db_path) -> None:
    env = {"AWARD_DB": str(db_path), "AWARD_COORDINATORS": "9000,console:王主任",
           "AWARD_WEB_BASE_URL": "https://award.example.cn"}
    missing = award_bot("office-link", "console:王主任", env=env)
    assert missing.returncode == 1 and "找不到数据库" in missing.stderr  # the server's database, not a new one
    sqlite3.connect(db_path).close()
    made = award_bot("office-link", "console:王主任", env=env)
    assert made.returncode == 0, made.stderr
    assert re.search(r"https://award\.example\.cn/office/in/\S{30,}", made.stdout)
    refused = award_bot("office-link", "8888", env=env)
    assert refused.returncode == 2 and "不在 AWARD_COORDINATORS 里" in refused.stderr


async def test_from_admin_in_the_chat_a_coordinator_opens_the_desk_with_one_tap(desk, storage, criteria) -> None:
    async def desk_link(sender) -> str:
        return "/office/in/" + await OfficeStore(storage).new_link(Who("telegram", sender.user_id))

    office = Coordinator(storage, criteria, Coordinators.parse("test:9000"), POLICY, desk_link=desk_link)
    boss = FakeApplicant(office, "9000", "办公室")
    await boss.command("admin")
    await boss.tap("在网页中打开")
    link = re.search(r"/office/in/\S+", boss.text)[0]  # type: ignore[index]
    async with browser(desk) as session:
        assert (await session.get(link, allow_redirects=False)).status == 303
        assert "申报办公室" in await (await session.get("/office")).text()


async def test_an_applicants_page_shows_warnings_photos_and_every_document_to_the_office_alone(
        desk, storage, criteria, tmp_path) -> None:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    wang = FakeApplicant(interview, "601", "王芳")
    await wang.reach_questions()
    await wang.command("jump", "7.4a")
    await wang.say("2024年获评开发区优秀质量工作者。")
    await wang._send(FileReceived(wang.sender, "证书.jpg", "image/jpeg", jpeg("certificate"), "荣誉证书"))
    await wang.command("draft")
    other = FakeApplicant(interview, "602", "李雷")
    await other.consent()
    wang_id = (await storage.find_applicant("test", "601")).id
    li_id = (await storage.find_applicant("test", "602")).id
    link = await OfficeStore(storage).new_link(BOSS)
    async with browser(desk) as session:
        await session.get(f"/office/in/{link}")
        page = await (await session.get(f"/office/applicants/{wang_id}")).text()
        assert "偏短" in page and "荣誉证书" in page and "第 1 版" in page
        photo = re.search(rf'<img src="(/office/applicants/{wang_id}/files/\d+)"', page)[1]  # type: ignore[index]
        response = await session.get(photo)
        assert response.status == 200 and response.headers["Content-Type"] == "image/jpeg"
        assert (await session.get(photo.replace(f"/{wang_id}/", f"/{li_id}/"))).status == 404
        for forged in ("99999999999999999999999", "-1", "0", "1e5"):  # no one, and never an error
            assert (await session.get(f"/office/applicants/{forged}")).status == 404, forged
        document = await session.get(f"/office/applicants/{wang_id}/documents/1")
        assert document.status == 200 and "attachment" in document.headers["Content-Disposition"]
        # Named as the applicant sees it.
        assert quote("申报书-张三-第1版-草稿.docx") in document.headers["Content-Disposition"]
    async with browser(desk) as stranger:
        assert (await stranger.get(photo)).status == 401


async def test_signing_out_ends_the_session_at_once(desk, storage) -> None:
    link = await OfficeStore(storage).new_link(BOSS)
    async with browser(desk) as session:
        await session.get(f"/office/in/{link}")
        cookie = session.cookie_jar.filter_cookies(desk.make_url("/office"))["award_office"].value
        assert (await session.get("/office")).status == 200
        out = await session.get("/office/out")
        assert out.status == 200 and "已退出办公室页面" in await out.text()
        assert (await session.get("/office")).status == 401
    async with browser(desk) as again:  # the old cookie, kept by someone else, opens nothing either
        assert (await again.get("/office", cookies={"award_office": cookie})).status == 401
