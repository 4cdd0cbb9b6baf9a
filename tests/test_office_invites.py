"""Invitations on the office desk (#14): personal links for a list of names, which were used, revoking, QR codes."""

from __future__ import annotations

import io
import re

from aiohttp import ClientSession, CookieJar, FormData
from aiohttp.test_utils import TestServer
from openpyxl import Workbook

from bot.storage import Storage
from bot.web import office_invites
from bot.web.office_invites import pasted_rows
from bot.web.office_store import OfficeStore
from bot.web.store import Who
from tests.office_desk import BOSS, browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Office:
    """A coordinator's browser on the desk: signed in, with the Origin a browser sends."""

    def __init__(self, server: TestServer, storage: Storage, who: Who = BOSS) -> None:
        self.server, self.storage, self.who = server, storage, who
        self.origin = str(server.make_url("")).rstrip("/")
        self.client = browser(server)

    async def __aenter__(self) -> Office:
        link = await OfficeStore(self.storage).new_link(self.who)
        assert (await self.client.get(f"/office/in/{link}", allow_redirects=False)).status == 303
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.client.close()

    async def csrf(self, path: str = "/office/invites") -> str:
        page = await (await self.client.get(path)).text()
        return re.search(r'name="csrf" value="([0-9a-f]+)"', page)[1]  # type: ignore[index]

    async def paste(self, names: str) -> tuple[int, str, str]:
        """Status, the page it ends on and its address."""
        response = await self.client.post("/office/invites", data={"csrf": await self.csrf(), "names": names},
                                          headers={"Origin": self.origin})
        return response.status, await response.text(), response.url.path

    async def upload(self, data: bytes, name: str = "名单.xlsx") -> tuple[int, str, str]:
        form = FormData()
        form.add_field("csrf", await self.csrf())
        form.add_field("file", data, filename=name, content_type=XLSX)
        response = await self.client.post("/office/invites", data=form, headers={"Origin": self.origin})
        return response.status, await response.text(), response.url.path

    async def confirm(self, user_id: str, action: str) -> int:
        path = f"/office/invites/people/{user_id}"
        csrf = await self.csrf(f"{path}?do={action}")
        response = await self.client.post(path, data={"csrf": csrf, "do": action}, headers={"Origin": self.origin},
                                          allow_redirects=False)
        return response.status


def links(page: str) -> list[str]:
    return re.findall(r'class="personal-link" href="([^"]+)"', page)


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def people(storage: Storage) -> list[tuple[str, str, str]]:
    rows = await storage.fetchall("SELECT user_id, display_name, unit FROM web_people WHERE invited = 1 "
                                  "ORDER BY rowid")
    return [(r["user_id"], r["display_name"], r["unit"]) for r in rows]


async def opens_chat(server: TestServer, link: str) -> tuple[int, str]:
    """A link followed on the invited person's own phone: the status of the link, and their chat's first words."""
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as phone:
        response = await phone.get(link, allow_redirects=False)  # the server's own address, as the desk made it
        if response.status != 303:
            return response.status, await response.text()
        assert response.headers["Location"] == "/chat"
        assert (await phone.get(server.make_url("/chat"))).status == 200
        data = await (await phone.get(server.make_url("/api/messages?after=0"))).json()
        return 303, "\n".join(m["text"] for m in data["messages"])


async def agrees(server: TestServer, phone: ClientSession) -> None:
    """The invited person, on the chat page their link opened, taps 同意并开始: their application begins."""
    page = await (await phone.get(server.make_url("/chat"))).text()
    csrf = re.search(r'data-csrf="([0-9a-f]+)"', page)[1]  # type: ignore[index]
    data = await (await phone.get(server.make_url("/api/messages?after=0"))).json()
    label, value = next(b for m in data["messages"] for row in m["buttons"] for b in row if "同意并开始" in b[0])
    origin = str(server.make_url("")).rstrip("/")
    response = await phone.post(server.make_url("/api/press"), json={"data": value, "label": label, "after": 0},
                                headers={"X-CSRF-Token": csrf, "Origin": origin})
    assert response.status == 200


async def test_the_office_pastes_three_names_and_gets_three_links_that_each_open_the_web_interview(
        desk, storage) -> None:
    async with Office(desk, storage) as office:
        status, page, path = await office.paste("王芳\t连云港某某精密机械有限公司\n\n李雷，某某化工有限公司\n陈海涛\n")
        assert status == 200 and path.startswith("/office/invites/batch/"), page
        assert "已生成 3 个个人链接" in page and "链接只在这一页显示" in page
        made = links(page)
        assert len(made) == 3 and len(set(made)) == 3
        assert [(n, u) for _id, n, u in await people(storage)] == [
            ("王芳", "连云港某某精密机械有限公司"), ("李雷", "某某化工有限公司"), ("陈海涛", "")]
        # The links are shown once: the database keeps only their hashes.
        tokens = {r[0] for r in await storage.fetchall("SELECT token_hash FROM web_tokens")}
        assert not any(link.rsplit("/", 1)[1] in tokens for link in made)
        for link, name in zip(made, ("王芳", "李雷", "陈海涛"), strict=True):
            status, chat = await opens_chat(desk, link)
            assert status == 303 and f"{name}，欢迎使用质量奖申报助手" in chat
        # Sent again (a double click): nobody is invited twice, and the page says who was skipped.
        status, page, _path = await office.paste("王芳\t连云港某某精密机械有限公司\n韩梅梅")
        assert status == 200 and len(links(page)) == 1
        assert "已跳过 1 人" in page and "王芳（连云港某某精密机械有限公司）" in page
        assert len(await people(storage)) == 4


def test_a_pasted_line_is_a_name_or_a_name_and_a_unit() -> None:
    text = "姓名\t单位\nJohn Smith\tACME Ltd\n王芳 连云港某某 精密机械\n李雷,某某化工\n 陈海涛 \n\n\t某某公司\n"
    assert list(pasted_rows(text)) == [(2, "John Smith", "ACME Ltd"), (3, "王芳", "连云港某某 精密机械"),
                                       (4, "李雷", "某某化工"), (5, "陈海涛", ""), (7, "", "某某公司")]


async def test_an_xlsx_with_name_and_unit_columns_invites_each_row_and_one_without_is_refused_in_chinese(
        desk, storage) -> None:
    async with Office(desk, storage) as office:
        listing = workbook([["2026年度质量奖个人奖邀请名单"], [], ["序号", "姓名", "工作单位", "备注"],
                            [1, "王芳", "连云港某某精密机械有限公司", "已电话通知"], [2, "李雷", None, None],
                            [None, None, None, None], [3, "  陈海涛 ", "某某化工", None]])
        status, page, path = await office.upload(listing)
        assert status == 200 and path.startswith("/office/invites/batch/"), page
        assert len(links(page)) == 3
        assert [(n, u) for _id, n, u in await people(storage)] == [
            ("王芳", "连云港某某精密机械有限公司"), ("李雷", ""), ("陈海涛", "某某化工")]

        status, page, _path = await office.upload(workbook([["名称", "单位"], ["韩梅梅", "某某公司"]]))
        assert status == 400 and "没有生成任何链接" in page and "没有找到“姓名”列" in page
        status, page, _path = await office.upload("姓名,单位\n韩梅梅,某某公司\n".encode(), name="名单.csv")
        assert status == 400 and "这不是 .xlsx 文件" in page
        status, page, _path = await office.upload(workbook([["姓名", "单位"], [None, None]]))
        assert status == 400 and "名单是空的" in page
        assert len(await people(storage)) == 3


async def test_a_list_with_a_person_twice_a_name_too_long_or_more_than_500_names_makes_no_link(desk, storage) -> None:
    async with Office(desk, storage) as office:
        status, page, _path = await office.paste("王芳 某某公司\n李雷\n王芳 某某公司")
        assert status == 400 and "王芳 重复出现（第 1 行和第 3 行" in page
        assert "李雷\n王芳 某某公司</textarea>" in page  # the list stays in the box, to correct
        status, page, _path = await office.paste("李雷\n王芳连云港经济技术开发区某某精密机械制造有限公司"
                                                 "质量管理部副部长兼总经理办公室主任助理")
        assert status == 400 and "第 2 行的姓名超过 40 个字" in page
        status, page, _path = await office.upload(workbook([["姓名"]] + [[f"申报人{n}"] for n in range(501)]))
        assert status == 400 and "一次最多邀请 500 人，这份名单有 501 人" in page
        assert await people(storage) == []


async def test_the_list_shows_who_used_their_link_and_a_revoked_link_no_longer_opens(desk, storage) -> None:
    async with Office(desk, storage) as office:
        _status, page, _path = await office.paste("王芳 某某精密\n李雷 某某化工")
        wang_link, li_link = links(page)
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as phone:
            await phone.get(wang_link)
            await agrees(desk, phone)
            listing = await (await office.client.get("/office/invites")).text()
            assert "邀请名单（共 2 人）" in listing
            wang_row = re.search(r'<tr id="p-(w[0-9a-f]+)">\s*<td><a href="/office/applicants/\d+">王芳</a>(.*?)</tr>',
                                 listing, re.S)
            assert wang_row and "已打开（" in wang_row[2]
            li_row = re.search(r'<tr id="p-(w[0-9a-f]+)">\s*<td>李雷</td>(.*?)</tr>', listing, re.S)
            assert li_row and "未打开" in li_row[2]

            confirm = await (await office.client.get(f"/office/invites/people/{wang_row[1]}?do=revoke")).text()
            assert "撤销 王芳 的链接？" in confirm and "已填写的内容不会删除" in confirm
            assert await office.confirm(wang_row[1], "revoke") == 303
            # The link and the browser it signed in are both refused; the application stays.
            assert (await phone.get(desk.make_url("/chat"), allow_redirects=False)).status == 303
        status, refusal = await opens_chat(desk, wang_link)
        assert status == 404 and "这个链接无效或已失效" in refusal
        assert await storage.find_applicant("web", wang_row[1]) is not None
        listing = await (await office.client.get("/office/invites")).text()
        assert re.search(rf'<tr id="p-{wang_row[1]}" class="revoked">.*?已打开（.*?已撤销', listing, re.S)
        assert (await opens_chat(desk, li_link))[0] == 303  # the other link still works


async def test_a_new_link_for_someone_ends_the_old_one_and_continues_the_same_application(desk, storage) -> None:
    async with Office(desk, storage) as office:
        _status, page, _path = await office.paste("王芳 某某精密")
        [old] = links(page)
        assert (await opens_chat(desk, old))[0] == 303
        [(user_id, _name, _unit)] = await people(storage)
        path = f"/office/invites/people/{user_id}"
        response = await office.client.post(path, data={"csrf": await office.csrf(f"{path}?do=renew"), "do": "renew"},
                                            headers={"Origin": office.origin})
        page = await response.text()
        assert response.url.path.startswith("/office/invites/batch/") and "已生成 1 个个人链接" in page
        [new] = links(page)
        assert new != old and (await opens_chat(desk, old))[0] == 404
        status, chat = await opens_chat(desk, new)
        assert status == 303 and "王芳" in chat
        assert len(await people(storage)) == 1  # the same person, the same application


async def test_the_qr_sheet_has_one_code_per_person_with_the_name_under_it_twelve_to_an_a4_page(desk, storage) -> None:
    names = [f"申报人{n:02d}" for n in range(14)]
    async with Office(desk, storage) as office:
        _status, page, path = await office.paste("\n".join(f"{name} 单位{n}" for n, name in enumerate(names)))
        sheet_path = re.search(r'href="(/office/invites/batch/[^"/]+/qr)">打印二维码<', page)[1]  # type: ignore[index]
        response = await office.client.get(sheet_path)
        sheet = await response.text()
        assert response.status == 200
        assert sheet.count("<svg") == 14 and sheet.count('<section class="sheet">') == 2
        assert re.findall(r'<p class="name">([^<]+)</p>', sheet) == names
        assert '<p class="unit">单位13</p>' in sheet
        assert sheet.count("连云港经济技术开发区质量奖") >= 2  # the award on top of every page
        assert "style=" not in sheet and "<script" not in sheet  # nothing the page's CSP would block
        css_path = re.search(r'href="(/static/office_invites\.css[^"]*)"', sheet)[1]  # type: ignore[index]
        css = await (await office.client.get(css_path)).text()
        assert "size: A4" in css and "break-inside: avoid" in css
        assert (await office.client.get(path)).status == 200  # the batch's page, again within the hour


async def test_a_batch_is_shown_to_the_coordinator_who_made_it_and_for_an_hour_only(desk, storage, monkeypatch) -> None:
    async with Office(desk, storage) as office:
        _status, _page, path = await office.paste("王芳")
        async with Office(desk, storage, Who("console", "王主任")) as colleague:
            assert (await colleague.client.get(path)).status == 404
            assert (await colleague.client.get(f"{path}/qr")).status == 404
        monkeypatch.setattr(office_invites, "BATCH_SECONDS", -1)
        response = await office.client.get(f"{path}/qr")
        assert response.status == 404 and "重新生成链接" in await response.text()


async def test_a_forged_post_creates_nothing_and_revokes_nothing(desk, storage) -> None:
    async with Office(desk, storage) as office:
        _status, page, _path = await office.paste("王芳")
        [link] = links(page)
        [(user_id, _name, _unit)] = await people(storage)
        csrf = await office.csrf()
        forged = [({"names": "李雷"}, {"Origin": office.origin}),  # no token
                  ({"names": "李雷", "csrf": "0" * 64}, {"Origin": office.origin}),
                  ({"names": "李雷", "csrf": csrf}, {"Origin": "https://evil.example"}),
                  ({"names": "李雷", "csrf": csrf}, {})]  # no Origin at all
        for data, headers in forged:
            assert (await office.client.post("/office/invites", data=data, headers=headers)).status == 403
        form = FormData()
        form.add_field("file", workbook([["姓名"], ["李雷"]]), filename="名单.xlsx", content_type=XLSX)
        assert (await office.client.post("/office/invites", data=form,
                                         headers={"Origin": "https://evil.example"})).status == 403
        for action in ("revoke", "renew"):
            response = await office.client.post(f"/office/invites/people/{user_id}", data={"do": action},
                                                headers={"Origin": office.origin})
            assert response.status == 403
        assert [n for _id, n, _u in await people(storage)] == ["王芳"]
        assert (await opens_chat(desk, link))[0] == 303
        assert (await office.client.get("/office/invites/people/w0000000000000000?do=revoke")).status == 404
    async with browser(desk) as stranger:
        assert (await stranger.get("/office/invites")).status == 401
        assert (await stranger.post("/office/invites", data={"names": "李雷"},
                                    headers={"Origin": office.origin})).status == 401
    assert len(await people(storage)) == 1
