"""The round from the desk (#14): the deadline, reminders by hand with their report, and the export."""

from __future__ import annotations

import asyncio
import html
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestServer

from bot.criteria import Criteria
from bot.export import export_all
from bot.files import default_data_dir
from bot.flows.coordinator import Coordinator, Coordinators
from bot.flows.interview import Interview
from bot.reminders import DEADLINE_SETTING, reminder_text
from bot.storage import Storage
from tests.conftest import FakeApplicant, answer_for
from tests.office_desk import POLICY, browser, desk_app, signed_in


def origin(server: TestServer) -> dict[str, str]:
    return {"Origin": str(server.make_url("")).rstrip("/")}


def form_of(page: str) -> dict[str, str]:
    """The hidden inputs of the page's first form that has any."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))


async def outbox(storage: Storage) -> list[tuple[str, str, str]]:
    """The outbox by recipient: a reminder's order among people means nothing (and varies with timing)."""
    return [(r[0], r[1], r[2]) for r in await storage.fetchall(
        "SELECT recipient, kind, status FROM outbox ORDER BY recipient, id")]


async def test_a_deadline_set_on_the_desk_is_the_one_the_telegram_admin_shows(desk, storage, criteria) -> None:
    async with await signed_in(desk, storage) as session:
        page = await (await session.get("/office/deadline")).text()
        assert "截止时间：未设置" in page
        sent = await session.post("/office/deadline", data={**form_of(page), "deadline": "2099-12-31 17:00"},
                                  headers=origin(desk), allow_redirects=False)
        assert sent.status == 303 and sent.headers["Location"] == "/office/deadline?done=set"
        shown = await (await session.get(sent.headers["Location"])).text()
        assert "截止时间已保存" in shown and "截止时间：2099-12-31 17:00" in shown
    office = Coordinator(storage, criteria, Coordinators.parse("test:9000"), POLICY)
    boss = FakeApplicant(office, "9000", "办公室")
    await boss.command("admin")
    assert "2099-12-31 17:00" in boss.text
    await boss.command("deadline", "2099-06-30")  # and the chat's change shows on the desk
    async with await signed_in(desk, storage) as session:
        page = await (await session.get("/office/deadline")).text()
        assert "截止时间：2099-06-30 23:59" in page
        cleared = await session.post("/office/deadline", data={**form_of(page), "action": "clear"},
                                     headers=origin(desk))
        assert "已清除办公室设置的截止时间" in await cleared.text()
    assert await storage.setting(DEADLINE_SETTING) is None


async def test_bad_or_past_deadline_text_is_refused_and_the_old_one_kept(desk, storage) -> None:
    await storage.set_setting(DEADLINE_SETTING, "2099-12-31T23:59:00+08:00")
    async with await signed_in(desk, storage) as session:
        form = form_of(await (await session.get("/office/deadline")).text())
        tries = (("明天下午", "没看懂这个时间"), ("2020-01-01", "已经过去了"), ("2026-13-45", "没看懂这个时间"))
        for typed, said in tries:
            refused = await session.post("/office/deadline", data={**form, "action": "set", "deadline": typed},
                                         headers=origin(desk))
            page = await refused.text()
            assert refused.status == 400 and said in page and f'value="{typed}"' in page
            assert "Traceback" not in page
    assert await storage.setting(DEADLINE_SETTING) == "2099-12-31T23:59:00+08:00"


async def test_a_forged_post_is_refused_and_changes_nothing(desk, storage, criteria) -> None:
    interview = Interview(storage, criteria)
    await FakeApplicant(interview, "501", "王芳").consent()
    async with await signed_in(desk, storage) as session:
        preview = await (await session.get("/office/remind?audience=unsubmitted")).text()
        form = form_of(preview)
        tries = [
            ("/office/deadline", {"action": "set", "deadline": "2099-12-31"}, origin(desk)),  # no csrf
            ("/office/deadline", {"csrf": "0" * 64, "action": "set", "deadline": "2099-12-31"}, origin(desk)),
            ("/office/deadline", {**form, "action": "set", "deadline": "2099-12-31"}, {"Origin": "https://evil.example"}),
            ("/office/remind", form, {"Origin": "https://evil.example"}),
            ("/office/remind", {**form, "csrf": ""}, origin(desk)),
            ("/office/export", form, {}),  # no Origin at all
        ]
        for path, data, headers in tries:
            response = await session.post(path, data=data, headers=headers, allow_redirects=False)
            assert response.status == 403, (path, data, headers)
            assert "不是从办公室页面发出的" in await response.text()
    async with browser(desk) as stranger:  # not signed in at all
        response = await stranger.post("/office/remind", data=form, headers=origin(desk), allow_redirects=False)
        assert response.status == 401
    assert await storage.setting(DEADLINE_SETTING) is None
    assert await outbox(storage) == []
    assert await storage.fetchone("SELECT 1 FROM exports") is None


def sample_text(criteria: Criteria, row) -> str:
    """The reminder as the page shows it (HTML-escaped)."""
    return html.escape(reminder_text("manual", criteria, row, None, POLICY.tz))


async def test_a_reminder_to_the_unsubmitted_is_previewed_queued_once_and_reported(desk, storage, criteria) -> None:
    interview = Interview(storage, criteria)
    wang = FakeApplicant(interview, "501", "王芳")
    await wang.reach_questions()
    await wang.say(answer_for("1.1a"))
    await FakeApplicant(interview, "502", "李雷").consent()
    async with await signed_in(desk, storage) as session:
        menu = await (await session.get("/office/remind")).text()
        assert "未提交的全部（2 人）" in menu
        preview = await (await session.get("/office/remind?audience=unsubmitted")).text()
        assert "共 2 人" in preview and "李雷" in preview and "张三" in preview  # 王芳's 申报表 says 张三
        rows = {r.name or r.display_name: r for r in await storage.applicant_rows()}
        shown = re.search(r"<h2>(\S+) 将收到：</h2>", preview)[1]  # type: ignore[index]
        assert sample_text(criteria, rows[shown]) in preview
        form = form_of(preview)
        assert set(form) == {"csrf", "audience", "nonce"}
        first = await session.post("/office/remind", data=form, headers=origin(desk), allow_redirects=False)
        assert first.status == 303 and re.fullmatch(r"/office/remind/\d+", first.headers["Location"])
        again = await session.post("/office/remind", data=form, headers=origin(desk), allow_redirects=False)
        assert again.status == 303 and again.headers["Location"] == first.headers["Location"]
        assert await outbox(storage) == [("501", "reminder", "pending"), ("502", "reminder", "pending")]
        report = await (await session.get(first.headers["Location"])).text()
        assert '<meta http-equiv="refresh" content="3">' in report
        assert re.search(r"<th scope=\"row\">等待发送</th><td>2</td>", report)
        assert re.search(r"<th scope=\"row\">已送达</th><td>0</td>", report)
        # Delivered: the report says so and stops refreshing itself.
        await storage.write("UPDATE outbox SET status = 'sent' WHERE recipient = '501'")
        await storage.write("UPDATE outbox SET status = 'blocked' WHERE recipient = '502'")
        done = await (await session.get(first.headers["Location"])).text()
        assert "http-equiv" not in done and "这批提醒已处理完毕" in done
        assert re.search(r"已送达</th><td>1</td>", done) and re.search(r"已屏蔽机器人</th><td>1</td>", done)
        assert (await session.get("/office/remind/999")).status == 404


async def test_remind_one_person_from_a_link_and_nobody_left_to_remind(desk, storage, criteria) -> None:
    interview = Interview(storage, criteria)
    await FakeApplicant(interview, "501", "王芳").consent()
    await FakeApplicant(interview, "502", "李雷").consent()
    li = (await storage.find_applicant("test", "502")).id
    async with await signed_in(desk, storage) as session:
        preview = await (await session.get(f"/office/remind?audience=one:{li}")).text()
        assert "只提醒 李雷" in preview and "共 1 人" in preview and "王芳" not in preview
        await session.post("/office/remind", data=form_of(preview), headers=origin(desk))
        assert [r[0] for r in await outbox(storage)] == ["502"]
        nobody = await session.get("/office/remind?audience=one:99999")
        assert "没有需要提醒的人" in await nobody.text()
        unknown = await session.get("/office/remind?audience=everyone")
        assert unknown.status == 400 and "提醒对象无效" in await unknown.text()


async def test_a_reminder_in_quiet_hours_says_it_waits_for_the_morning(storage, criteria, tmp_path) -> None:
    from dataclasses import replace

    from bot.web.app import WebSettings, build_app
    from bot.web.office import OfficeSettings

    hour = datetime.now(POLICY.tz).time().replace(second=0, microsecond=0)
    always_quiet = replace(POLICY, quiet_start=hour, quiet_end=(datetime.combine(datetime.now(), hour)
                                                                 + timedelta(hours=2)).time())
    await FakeApplicant(Interview(storage, criteria), "501", "王芳").consent()
    server = TestServer(build_app(Interview(storage, criteria).handle, storage, criteria, WebSettings(),
                                  OfficeSettings(frozenset({("telegram", "9000")}), always_quiet)))
    await server.start_server()
    try:
        async with await signed_in(server, storage) as session:
            preview = await (await session.get("/office/remind?audience=unsubmitted")).text()
            assert "现在是休息时间，将在" in preview
            await session.post("/office/remind", data=form_of(preview), headers=origin(server))
        due = await storage.fetchone("SELECT not_before FROM outbox")
        assert datetime.fromisoformat(due[0]) > datetime.now(UTC) + timedelta(minutes=100)
    finally:
        await server.close()


async def test_an_export_shows_progress_and_then_the_zip_downloads(desk, storage, criteria, tmp_path) -> None:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    wang = FakeApplicant(interview, "601", "王芳")
    await wang.reach_questions()
    await wang.say(answer_for("1.1a"))
    await wang.command("draft")
    await FakeApplicant(interview, "602", "李雷").consent()
    async with await signed_in(desk, storage) as session:
        page = await (await session.get("/office/export")).text()
        assert "开始导出" in page
        assert (await session.get("/office/export/zip")).status == 404  # nothing exported yet
        # Two clicks at once: one export.
        started = await asyncio.gather(*[session.post("/office/export", data=form_of(page), headers=origin(desk),
                                                      allow_redirects=False) for _ in range(2)])
        assert [r.status for r in started] == [303, 303]
        seen = []
        for _ in range(200):
            seen.append(await (await session.get("/office/export")).text())
            if "导出完成" in seen[-1]:
                break
            assert '<meta http-equiv="refresh" content="3">' in seen[-1]
            assert re.search(r"正在读取申报材料|已打包 \d/2 份|2 份已打包，正在生成汇总表", seen[-1])
            await asyncio.sleep(0.02)
        done = seen[-1]
        assert "导出完成：2 人，1 个文件" in done and "还没有申报书：李雷" in done and "http-equiv" not in done
        archive = await session.get("/office/export/zip")
        assert archive.status == 200 and "attachment" in archive.headers["Content-Disposition"]
        names = zipfile.ZipFile(io.BytesIO(await archive.read())).namelist()
        assert any(n.endswith(".docx") and "张三" in n for n in names) and "汇总.xlsx" in names
        sheet = await session.get("/office/export/xlsx")
        assert sheet.status == 200 and (await sheet.read())[:2] == b"PK"
    assert len(await storage.fetchall("SELECT id FROM exports")) == 1
    # Beside the database, where the chat's /export puts them.
    assert any((tmp_path / "award-files" / "exports").glob("*.zip"))
    async with browser(desk) as stranger:
        assert (await stranger.get("/office/export/zip")).status == 401


async def test_after_a_restart_the_desk_still_offers_the_last_export(storage, criteria, tmp_path) -> None:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    wang = FakeApplicant(interview, "601", "王芳")
    await wang.reach_questions()
    await wang.command("draft")
    # Made by the chat's /export (or the desk before the restart): the desk that starts now knows only the disk.
    await export_all(storage, criteria, default_data_dir(storage.path) / "exports", tz=POLICY.tz)
    server = desk_app(storage, criteria, tmp_path, {("telegram", "9000")})
    await server.start_server()
    try:
        async with await signed_in(server, storage) as session:
            page = await (await session.get("/office/export")).text()
            assert ("导出完成：1 人，1 个文件" in page and "再导出一次" in page) or "重新导出" in page, page
            archive = await session.get("/office/export/zip")
            assert archive.status == 200 and "汇总.xlsx" in zipfile.ZipFile(io.BytesIO(await archive.read())).namelist()
            assert (await (await session.get("/office/export/xlsx")).read())[:2] == b"PK"
    finally:
        await server.close()


async def test_export_all_reports_its_progress_applicant_by_applicant(storage, criteria, tmp_path) -> None:
    interview = Interview(storage, criteria)
    for user in ("1", "2", "3"):
        await FakeApplicant(interview, user, f"申报人{user}").consent()
    calls: list[tuple[int, int]] = []
    result = await export_all(storage, criteria, tmp_path / "out", tz=POLICY.tz,
                              progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)] and result.applicants == 3
