"""退回修改: the office returns a submitted application with comments; the applicant is told, fixes and
resubmits; the office sees what changed. The desk over real HTTP, the interview through its events."""

from __future__ import annotations

import re
from datetime import datetime

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from openpyxl import load_workbook

from bot.export import export_all
from bot.flows import returned
from bot.flows.coordinator import Coordinator, Coordinators
from bot.flows.dispatch import Dispatcher
from bot.flows.events import Sender
from bot.flows.interview import Interview
from bot.reminders import reminder_gate
from bot.returns import Comment, Return, changes
from bot.sender import Postpone
from bot.storage import Storage
from bot.web.app import WebSettings, build_app
from bot.web.office import OfficeSettings
from tests.conftest import PROFILE, FakeApplicant, answer_for
from tests.office_desk import POLICY, browser, signed_in


async def submitted(storage: Storage, criteria, channel: str, user_id: str, name: str) -> tuple[FakeApplicant, int]:
    """An applicant on `channel` who answered 1.1a and 1.2a and submitted."""
    person = FakeApplicant(Interview(storage, criteria), user_id, name)
    person.sender = Sender(channel, user_id, name)
    await person.reach_questions()
    await person.say(answer_for("1.1a"))
    await person.command("jump", "1.2a")
    await person.say(answer_for("1.2a"))
    await person.command("finish")
    await person.press("fin:yes")
    assert "提交，辛苦了" in person.text, person.text
    found = await storage.find_applicant(channel, user_id)
    assert found is not None
    return person, found.id


async def give_back(session: ClientSession, desk: TestServer, applicant_id: int, comments: dict[str, str],
                    *, csrf: str | None = None, origin: str | None = None):
    page = await (await session.get(f"/office/applicants/{applicant_id}")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    form = {f"c-{target}": text for target, text in comments.items()}
    form["csrf"] = csrf if csrf is not None else (token[1] if token else "")
    here = str(desk.make_url("")).rstrip("/")
    return await session.post(f"/office/applicants/{applicant_id}/return", data=form,
                              headers={"Origin": origin or here}, allow_redirects=True)


async def notices(storage: Storage) -> list:
    return await storage.fetchall("SELECT channel, recipient, payload FROM outbox WHERE kind = 'returned'")


async def test_the_office_returns_with_two_comments_and_the_applicant_fixes_and_resubmits(
        desk, storage, criteria) -> None:
    wang, wang_id = await submitted(storage, criteria, "telegram", "601", "王芳")
    async with await signed_in(desk, storage) as office:
        page = await (await office.get(f"/office/applicants/{wang_id}")).text()
        assert "退回修改并通知申报人" in page and 'name="c-1.1a"' in page and 'name="c-profile"' in page
        response = await give_back(office, desk, wang_id, {"1.1a": "请补充近三年的质量数据，并与行业平均水平比较。",
                                                           "profile": "职称一栏请写全称。", "1.3a": ""})
        assert response.status == 200 and "已退回，申报人会收到带意见的通知" in await response.text()
        overview = await (await office.get("/office")).text()
        assert "已退回 1" in overview
        assert "已退回" in await (await office.get("/office?state=returned")).text()

    # The applicant is told in their channel, question by question, with a way straight there.
    [told] = await notices(storage)
    assert (told["channel"], told["recipient"]) == ("telegram", "601")
    assert "【1.1a" in told["payload"] and "请补充近三年的质量数据" in told["payload"]
    assert "【申报表】职称一栏请写全称" in told["payload"] and "go:1.1a" in told["payload"]
    # The chat's office list says 已退回 too.
    boss = FakeApplicant(Coordinator(storage, criteria, Coordinators.parse("test:9000"), POLICY), "9000", "办公室")
    await boss.command("admin")
    assert "已退回 1" in boss.text

    # The application is open again; each comment shows on its place until resubmission.
    await wang.command("start")
    assert "申报办公室退回了您的申报书" in wang.text and "职称一栏请写全称" in wang.text
    await wang.press("go:1.1a")
    assert "📝 申报办公室的修改意见：请补充近三年的质量数据" in wang.text
    await wang.command("progress")
    assert "待按退回意见修改：申报表、1.1a" in wang.text
    await wang.command("rewrite")
    await wang.say("2022—2024年产品一次合格率由95.2%提高到99.0%，高于行业平均水平97%。")
    await wang.command("finish")
    assert "这些有修改意见的地方还没有改动：申报表" in wang.text
    await wang.press("fin:yes")
    await wang.command("jump", "1.1a")
    assert "修改意见" not in wang.text  # answered by the resubmission

    async with await signed_in(desk, storage) as office:
        page = await (await office.get(f"/office/applicants/{wang_id}")).text()
        assert re.search(r"已于 [\d-]+ [\d:]+ 重新提交", page) and "上次的修改意见" in page
        assert "<ins>" in page and "99.0%" in re.search(r'<p class="diff">(.*?)</p>', page, re.S)[1]  # type: ignore[index]
        assert "退回后还没有改动" in page  # the 申报表 was left as it was
        assert "已退回 0" in await (await office.get("/office")).text()


async def test_a_forged_or_empty_or_late_return_changes_nothing(desk, storage, criteria) -> None:
    _wang, wang_id = await submitted(storage, criteria, "web", "w-1", "王芳")
    async with await signed_in(desk, storage) as office:
        forged = await give_back(office, desk, wang_id, {"1.1a": "改"}, csrf="nope")
        assert forged.status == 403
        elsewhere = await give_back(office, desk, wang_id, {"1.1a": "改"}, origin="https://evil.example")
        assert elsewhere.status == 403
        empty = await give_back(office, desk, wang_id, {"1.1a": "  "})
        assert empty.status == 400 and "请至少在一处写下修改意见" in await empty.text()
        long = await give_back(office, desk, wang_id, {"1.2a": "长" * 1001})
        assert long.status == 400 and "这些超出了：1.2a。" in await long.text() and "长" * 1001 in await long.text()
        assert await notices(storage) == []
        assert (await storage.application(wang_id)).status == "submitted"
        page = await (await office.get(f"/office/applicants/{wang_id}")).text()
        token = re.search(r'name="csrf" value="([^"]+)"', page)[1]  # type: ignore[index]
        ok = await give_back(office, desk, wang_id, {"1.1a": "请补充数据。"})
        assert ok.status == 200 and "退回修改并通知申报人" not in await ok.text()  # open again: nothing to return
        # The same page, still open in a second tab, sent again: refused, nothing doubled.
        again = await give_back(office, desk, wang_id, {"1.1a": "请补充数据。"}, csrf=token)
        assert again.status == 409 and "只能退回已提交的申报" in await again.text()
    async with browser(desk) as stranger:
        here = str(desk.make_url("")).rstrip("/")
        response = await stranger.post(f"/office/applicants/{wang_id}/return", data={"c-1.1a": "x"},
                                       headers={"Origin": here})
        assert response.status == 401
    assert len(await notices(storage)) == 1  # a web applicant's page gets it once


async def test_with_email_configured_the_notice_also_goes_to_the_address_in_the_form(storage, criteria,
                                                                                    tmp_path) -> None:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    server = TestServer(build_app(Dispatcher(interview.handle).handle, storage, criteria, WebSettings(),
                                  OfficeSettings(frozenset({("telegram", "9000")}), POLICY, email=True)))
    await server.start_server()
    try:
        _wang, wang_id = await submitted(storage, criteria, "telegram", "601", "王芳")
        async with await signed_in(server, storage) as office:
            assert (await give_back(office, server, wang_id, {"1.1a": "请补充数据。"})).status == 200
    finally:
        await server.close()
    sent = await storage.fetchall("SELECT channel, recipient, payload FROM outbox WHERE kind = 'returned' "
                                  "ORDER BY id")
    assert [(m["channel"], m["recipient"]) for m in sent] == [("telegram", "601"), ("email", PROFILE["email"])]
    assert "请补充数据" in sent[1]["payload"]


async def test_a_terminal_applicant_learns_of_the_return_at_their_next_session(desk, storage, criteria) -> None:
    li, li_id = await submitted(storage, criteria, "console", "li", "李雷")
    async with await signed_in(desk, storage) as office:
        await give_back(office, desk, li_id, {"1.2a": "请写明您本人的做法。"})
    assert await notices(storage) == []  # nothing to deliver to: the terminal shows it when opened
    await li.command("start")
    assert "申报办公室退回了您的申报书" in li.text and "【1.2a" in li.text and "请写明您本人的做法" in li.text
    # The office's comments are about them: in what /mydata gives, and gone with /delete.
    [app] = (await storage.personal_data(li_id))["applications"]
    assert [c["comment"] for c in app["returned_for_changes"]] == ["请写明您本人的做法。"]
    await storage.delete_applicant(li_id, {"text": ""})
    assert await storage.fetchall("SELECT * FROM return_comments") == []


def test_the_diff_reads_as_a_person_would_mark_the_changes() -> None:
    # A figure changes whole; a kept 年 between two changes does not split them; a new text is new.
    assert changes("闭环率由85%提升至98%。", "闭环率由85%提升至99.0%，高于行业平均97%。") == [
        ("same", "闭环率由85%提升至"), ("removed", "98%"), ("added", "99.0%，高于行业平均97%"), ("same", "。")]
    assert changes("2023年起每月复盘", "2024年起每周复盘") == [
        ("removed", "2023"), ("added", "2024"), ("same", "年起每"), ("removed", "月"), ("added", "周"),
        ("same", "复盘")]
    assert changes("我负责来料检验。", "2022—2024年主导产线改造，一次合格率提高到99%。") == [
        ("removed", "我负责来料检验。"), ("added", "2022—2024年主导产线改造，一次合格率提高到99%。")]
    assert changes("", "新写的") == [("added", "新写的")]


async def test_the_export_says_returned_and_lists_each_comment(desk, storage, criteria, tmp_path) -> None:
    _wang, wang_id = await submitted(storage, criteria, "web", "w-9", "王芳")
    async with await signed_in(desk, storage) as office:
        await give_back(office, desk, wang_id, {"1.2a": "请写明您本人的做法。", "profile": "请写全职称。",
                                                "1.2b": '=HYPERLINK("https://evil.example","点这里")'})
    result = await export_all(storage, criteria, tmp_path / "out", tz=POLICY.tz)
    book = load_workbook(result.xlsx_path)
    summary = book["汇总"]
    header = [c.value for c in summary[1]]
    assert summary.cell(2, header.index("状态") + 1).value == "已退回"
    comments = [[c.value for c in row] for row in book["退回意见"].iter_rows(min_row=2)]
    assert [row[4:] for row in comments] == [
        ["申报表", "请写全职称。"], [f"1.2a {criteria.question('1.2a').text}", "请写明您本人的做法。"],
        [f"1.2b {criteria.question('1.2b').text}", '=HYPERLINK("https://evil.example","点这里")']]
    assert all(cell.data_type == "s" for row in book["退回意见"].iter_rows(min_row=2) for cell in row
               if isinstance(cell.value, str))  # typed text, never a formula
    assert any("已退回" in str(c.value) for row in book["说明"].iter_rows() for c in row)


async def test_at_night_the_notice_waits_for_a_phone_but_not_for_a_web_page(desk, storage, criteria) -> None:
    _wang, wang_id = await submitted(storage, criteria, "web", "w-5", "王芳")
    _li, li_id = await submitted(storage, criteria, "telegram", "605", "李雷")
    async with await signed_in(desk, storage) as office:
        for applicant_id in (wang_id, li_id):
            assert (await give_back(office, desk, applicant_id, {"1.1a": "请补充数据。"})).status == 200
    gate = reminder_gate(storage, POLICY)
    night = datetime(2026, 11, 30, 23, 30, tzinfo=POLICY.tz)
    decided = {m.channel: await gate(m, night) for m in await storage.due_messages()}
    assert decided["web"] is None  # shown on the page now: a page does not ring
    assert decided["telegram"] == Postpone(datetime(2026, 12, 1, 8, 0, tzinfo=POLICY.tz))


def test_a_notice_with_many_long_comments_stays_one_telegram_message(criteria) -> None:
    comments = tuple(Comment(q.id, "请补充数据，" * 60, "") for q in criteria.questions)
    text = returned.notice_text(criteria, Return(1, 1, ("telegram", "9000"), "", None, comments))
    assert len(text) < 4096
    assert "【1.1a" in text and "另有意见在：" in text and "7.4b" in text  # the last one named, at least
    assert text.endswith("改好后点「完成提交」再提交一次。")
