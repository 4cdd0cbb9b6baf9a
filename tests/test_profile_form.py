"""The fuller 申报表 in the conversation (#15): a table filled a row a message, each row changed or
deleted by its buttons; the photo cut to 3:4; the 身份证号 checked against 出生年月 and 性别, whole to
its owner and masked on the office's screens."""

from __future__ import annotations

import io

from PIL import Image

from bot.flows.events import FileReceived
from bot.flows.interview import Interview
from bot.table_rows import rows_of
from bot.wording import say
from tests.conftest import PROFILE, FakeApplicant, application_of


async def reach(applicant: FakeApplicant, label: str) -> None:
    """From the 申报表's start, on to the field named `label`, keeping or skipping the others."""
    await applicant.consent()
    await applicant.fill_profile()
    await applicant.command("profile")
    while f"请填写：{label}" not in applicant.text:
        await applicant.keep_or_skip()


async def test_work_history_is_a_table_filled_a_row_a_message_with_rows_to_change_and_delete(
        applicant, storage) -> None:
    await reach(applicant, "主要荣誉")
    await applicant.say("2019.05 江苏省质量先进个人 江苏省市场监督管理局")
    assert "已记下第 1 行：2019.05｜江苏省质量先进个人｜江苏省市场监督管理局" in applicant.text
    await applicant.say("2021年12月 连云港市五一劳动奖章")  # the 授予单位 forgotten
    assert "已记下第 2 行：2021.12｜连云港市五一劳动奖章｜—" in applicant.text
    assert "已填 2 行" in applicant.text and "1. 2019.05｜江苏省质量先进个人" in applicant.text
    await applicant.tap("修改第 2 行")
    assert "请发送第 2 行的新内容" in applicant.text
    await applicant.say("2021.12 连云港市五一劳动奖章 连云港市总工会")
    assert "第 2 行已改为：2021.12｜连云港市五一劳动奖章｜连云港市总工会" in applicant.text
    await applicant.say("2015.01 厂级先进 本厂")  # remembered late: it goes first, in time order
    assert "已记下第 1 行：2015.01｜厂级先进｜本厂" in applicant.text
    assert "1. 2015.01｜厂级先进｜本厂\n2. 2019.05｜江苏省质量先进个人" in applicant.text
    # Editing a sent row's message does not reach into the table: it says how instead.
    await applicant.edit(applicant.refs[-1], "2016.01 改过的 本厂")
    assert "请用「修改第 N 行」按钮" in applicant.text
    await applicant.tap("删除第 1 行")
    assert "已删除第 1 行：2015.01｜厂级先进｜本厂" in applicant.text
    app = await application_of(storage, applicant)
    assert rows_of((await storage.profile(app.id))["honours"], 3) == [
        ["2019.05", "江苏省质量先进个人", "江苏省市场监督管理局"],
        ["2021.12", "连云港市五一劳动奖章", "连云港市总工会"]]
    await applicant.tap("完成本项")
    assert "请填写：个人简介及主要事迹" in applicant.text
    # /review shows the table as lines, not as stored data.
    await applicant.command("review")
    assert "主要荣誉：\n1. 2019.05  江苏省质量先进个人  江苏省市场监督管理局\n2. 2021.12" in applicant.text
    assert "[[" not in applicant.text


async def test_a_required_table_cannot_be_left_empty_and_a_row_being_changed_can_be_cancelled(
        applicant, storage) -> None:
    await reach(applicant, "主要工作经历")
    for _ in range(2):
        await applicant.tap("删除第 1 行")
    labels = [b.label for b in applicant.buttons]
    assert "还没有填写" in applicant.text and not any("完成本项" in label or "跳过" in label for label in labels)
    await applicant.say("2008.07—2013.12 某某机械 检验员")
    await applicant.tap("修改第 1 行")
    await applicant.tap("取消")
    await applicant.say("2014.01至今 某某精密机械 质量部经理")  # after 取消: a new row, not a change
    app = await application_of(storage, applicant)
    assert len(rows_of((await storage.profile(app.id))["experience"], 3)) == 2


async def test_a_work_history_pasted_as_100000_characters_fills_the_table_and_is_told_it_is_full(
        applicant, storage, criteria) -> None:
    await reach(applicant, "主要工作经历")  # two rows already, from the 申报表 filled before
    limit = criteria.field("experience").max_rows
    assert limit is not None and limit < 4000
    paste = "2016.01—2018.12 某某机械 检验员\n" * 4000
    assert len(paste) >= 100_000
    await applicant.say(paste)
    assert say("table_full") in applicant.text
    assert "请填写：主要工作经历" in applicant.text and "完成本项" in str(applicant.buttons)  # still here
    app = await application_of(storage, applicant)
    rows = rows_of((await storage.profile(app.id))["experience"], 3)
    # Full, not over: the rows there before kept, each new row whole, the rest refused and said so.
    assert len(rows) == limit
    earlier = rows_of(PROFILE["experience"], 3)
    assert [row for row in rows if row in earlier] == earlier
    assert [row for row in rows if row not in earlier] == [["2016.01—2018.12", "某某机械", "检验员"]] * (limit - 2)
    # The table shown back to the applicant says how many rows it holds.
    assert f"已填 {limit} 行" in applicant.text


def photo(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(out, "JPEG")
    return out.getvalue()


async def test_the_photo_is_cut_to_three_by_four_and_kept_with_the_application(applicant, storage) -> None:
    await reach(applicant, "照片")
    await applicant.say("我的照片")
    assert "请直接发送一张照片" in applicant.text
    await applicant._send(FileReceived(applicant.sender, "证书.pdf", "application/pdf", b"%PDF-1.4 not a photo", ""))
    assert "不像是照片" in applicant.text
    await applicant._send(FileReceived(applicant.sender, "me.jpg", "image/jpeg", photo(1200, 800), ""))
    assert "照片已收到，已裁成证件照的 3:4" in applicant.text and "请填写：政治面貌" in applicant.text
    app = await application_of(storage, applicant)
    kept = (await storage.profile(app.id))["photo"]
    with Image.open(kept) as image:
        assert image.size == (390, 520)
    await applicant.command("profile")
    while "请填写：照片" not in applicant.text:
        await applicant.keep_or_skip()
    assert "当前已填：（已上传照片）" in applicant.text and kept not in applicant.text


async def test_an_idcard_that_disagrees_with_birth_or_gender_is_refused_and_nothing_is_lost(
        applicant, storage) -> None:
    await reach(applicant, "身份证号")
    await applicant.say("11010519491231002X")  # a woman born in 1949: not 张三
    assert "身份证号上的出生年月是 1949年12月，申报表里填的是 1985-06" in applicant.text
    await applicant.say("110105194912310021")
    assert "校验码对不上" in applicant.text
    app = await application_of(storage, applicant)
    assert (await storage.profile(app.id))["idcard"] == PROFILE["idcard"]  # the earlier one stays
    await applicant.command("review")
    assert PROFILE["idcard"] in applicant.text  # whole to its owner


async def test_the_office_sees_the_idcard_masked_and_the_tables_as_lines(storage, criteria, tmp_path) -> None:
    from aiohttp.test_utils import TestServer

    from bot.web.office_store import OfficeStore
    from tests.office_desk import BOSS, browser, desk_app

    person = FakeApplicant(Interview(storage, criteria), "701", "张三")
    await person.reach_questions()
    server: TestServer = desk_app(storage, criteria, tmp_path, {("telegram", "9000")})
    await server.start_server()
    try:
        async with browser(server) as office:
            await office.get("/office/in/" + await OfficeStore(storage).new_link(BOSS))
            found = await storage.find_applicant("test", "701")
            page = await (await office.get(f"/office/applicants/{found.id}")).text()
    finally:
        await server.close()
    assert "320703********101X" in page and PROFILE["idcard"] not in page
    assert "2. 2014.01—至今  某某精密机械  质量部经理" in page and "[[" not in page
