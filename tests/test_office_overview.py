"""The desk's overview (#14): the table a coordinator filters, sorts and pages, and the chart of progress."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot import evidence
from bot.criteria import Criteria
from bot.flows.events import Sender
from bot.flows.interview import Interview
from bot.storage import Storage
from bot.web.store import WebStore
from tests.conftest import FakeApplicant, answer_for
from tests.office_desk import signed_in

NOW = datetime.now(UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


async def person(storage: Storage, criteria: Criteria, channel: str, user: str, name: str, *, unit: str = "",
                 answers: dict[str, str] | None = None, submitted: datetime | None = None, returned: bool = False,
                 started: datetime = NOW, active: datetime = NOW) -> int:
    """An applicant as storage keeps them (what the interview writes: answer and its revision), put in directly
    so that a test can place them on any channel and any day."""
    async with storage.transaction() as db:
        cursor = await db.execute(
            "INSERT INTO applicants (channel, external_id, display_name, created_at, last_active_at) "
            "VALUES (?, ?, ?, ?, ?)", (channel, user, name, stamp(started), stamp(active)))
        applicant = cursor.lastrowid
        cursor = await db.execute(
            "INSERT INTO applications (applicant_id, criteria_id, criteria_version, status, step, consent_at, "
            "submitted_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'q:1.1a', ?, ?, ?, ?)",
            (applicant, criteria.id, criteria.version, "submitted" if submitted else "active", stamp(started),
             stamp(submitted) if submitted else None, stamp(started), stamp(started)))
        app = cursor.lastrowid
        await db.executemany("INSERT INTO profile_values (application_id, field, value, updated_at) "
                             "VALUES (?, ?, ?, ?)",
                             [(app, "name", name, stamp(started)), (app, "unit", unit, stamp(started))])
        for question, text in (answers or {}).items():
            await db.execute("INSERT INTO answers (application_id, question_id, text, updated_at) VALUES (?, ?, ?, ?)",
                             (app, question, text, stamp(active)))
            await db.execute("INSERT INTO answer_revisions (application_id, question_id, text, action, created_at) "
                             "VALUES (?, ?, ?, 'append', ?)", (app, question, text, stamp(active)))
        if returned:
            await db.execute("INSERT INTO returns (application_id, coordinator_channel, coordinator_id, returned_at) "
                             "VALUES (?, 'telegram', '9000', ?)", (app, stamp(active)))
    return int(app or 0)


def open_warnings(criteria: Criteria, answers: dict[str, str]) -> int:
    return sum(1 for found in evidence.check_application(criteria, answers, {}).values()
               for w in found if w.code != "empty")


def table_rows(page: str) -> list[list[str]]:
    """The applicants' table as text: one list of cells a row (the name cell without its link)."""
    body = re.search(r'<table class="applicants">.*?<tbody>(.*?)</tbody>', page, re.S)[1]  # type: ignore[index]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def names(page: str) -> list[str]:
    return [row[0] for row in table_rows(page)]


async def test_a_coordinator_filters_by_returned_and_channel_and_sorts_by_evidence_warnings(
        desk, storage, criteria) -> None:
    weak = {"1.1a": "我做得还行。", "7.1a": "合格率有提高。", "7.2a": "客户满意。"}
    fair = {"1.1a": answer_for("1.1a"), "7.1a": "2024年产品一次交验合格率99.2%，较2023年提高1.1个百分点。"}
    await person(storage, criteria, "telegram", "1", "王芳", unit="甲公司", answers=weak, returned=True)
    await person(storage, criteria, "web", "w1", "李雷", unit="乙公司", answers=fair, returned=True)
    await person(storage, criteria, "web", "w2", "韩梅", unit="丙公司", answers={"1.1a": answer_for("1.1a")})
    await person(storage, criteria, "console", "赵四", "赵四", answers={"1.1a": answer_for("1.1a")},
                 submitted=NOW - timedelta(hours=1))
    async with await signed_in(desk, storage) as session:
        page = await (await session.get("/office")).text()
        assert "共 4 人：未开始 0 · 填写中 1 · 已退回 2 · 已提交 1" in page
        header = re.search(r"<thead>(.*?)</thead>", page, re.S)[1]  # type: ignore[index]
        assert [re.sub(r"<[^>]+>|[▲▼]", "", th).strip() for th in re.findall(r"<th[^>]*>(.*?)</th>", header, re.S)] \
            == ["姓名", "工作单位", "渠道", "状态", "已答（共 39 题）", "证据提示", "最近活动"]
        assert re.search(r'<td><a href="/office/applicants/\d+">王芳</a></td>', page)
        by_name = {row[0]: row for row in table_rows(page)}
        assert by_name["李雷"][2] == "网页" and by_name["王芳"][2] == "Telegram 机器人" and by_name["赵四"][2] == "终端"
        assert by_name["王芳"][4] == "3/39" and by_name["王芳"][3] == "已退回"

        returned = await (await session.get("/office?state=returned")).text()
        assert sorted(names(returned)) == ["李雷", "王芳"]
        on_the_web = await (await session.get("/office?state=returned&channel=web")).text()
        assert names(on_the_web) == ["李雷"] and "符合条件的 1 人" in on_the_web

        by_warnings = await (await session.get("/office?state=returned&sort=warnings")).text()
        assert names(by_warnings) == ["王芳", "李雷"]  # most warnings first
        assert [row[5] for row in table_rows(by_warnings)] == [str(open_warnings(criteria, weak)),
                                                             str(open_warnings(criteria, fair))]
        assert open_warnings(criteria, weak) > open_warnings(criteria, fair)
        # The column's link now sorts the other way round, keeping the filter.
        toggle = re.search(r'<th scope="col" aria-sort="descending"><a href="([^"]+)">证据提示', by_warnings)[1]  # type: ignore[index]
        toggle = toggle.replace("&amp;", "&")
        assert "dir=asc" in toggle and "state=returned" in toggle
        assert names(await (await session.get(toggle)).text()) == ["李雷", "王芳"]

        searched = await (await session.get("/office?q=丙公司")).text()
        assert names(searched) == ["韩梅"]
        assert names(await (await session.get("/office?q=没有这个人"))
                     .text()) == ["没有符合条件的申报人。"]


async def test_a_changed_answer_changes_the_warnings_count_on_the_next_view(desk, storage, criteria) -> None:
    app = await person(storage, criteria, "telegram", "1", "王芳", answers={"7.1a": "合格率有提高。"})
    async with await signed_in(desk, storage) as session:
        before = table_rows(await (await session.get("/office")).text())[0]
        assert before[5] == str(open_warnings(criteria, {"7.1a": "合格率有提高。"})) != "0"
        better = "2022年至2024年一次交验合格率由97.1%提升至99.2%，高于行业平均水平98.0%，见检测报告。"
        await storage.replace_answer(app, "7.1a", better)
        after = table_rows(await (await session.get("/office")).text())[0]
        assert after[5] == str(open_warnings(criteria, {"7.1a": better}))
        assert int(after[5]) < int(before[5])


async def test_the_table_pages_fifty_at_a_time_and_sorts_by_name(desk, storage, criteria) -> None:
    async with storage.transaction() as db:
        for n in range(120):
            cursor = await db.execute(
                "INSERT INTO applicants (channel, external_id, display_name, created_at, last_active_at) "
                "VALUES ('web', ?, '', ?, ?)", (f"p{n}", stamp(NOW), stamp(NOW - timedelta(minutes=n))))
            cursor = await db.execute(
                "INSERT INTO applications (applicant_id, criteria_id, criteria_version, status, consent_at, "
                "created_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?, ?)",
                (cursor.lastrowid, criteria.id, criteria.version, stamp(NOW), stamp(NOW), stamp(NOW)))
            await db.execute("INSERT INTO profile_values (application_id, field, value, updated_at) "
                             "VALUES (?, 'name', ?, ?)", (cursor.lastrowid, f"申报人{n:03d}", stamp(NOW)))
    async with await signed_in(desk, storage) as session:
        first = await (await session.get("/office?sort=name&dir=asc")).text()
        assert names(first) == [f"申报人{n:03d}" for n in range(50)]
        assert "第 1/3 页" in first
        after = re.search(r'<a href="([^"]+)" rel="next">', first)[1].replace("&amp;", "&")  # type: ignore[index]
        last = await (await session.get(after.replace("page=1", "page=2"))).text()
        assert names(last) == [f"申报人{n:03d}" for n in range(100, 120)] and "第 3/3 页" in last
        # A page past the end (the list got shorter since): the last page.
        assert names(await (await session.get("/office?sort=name&dir=asc&page=9"))
                     .text()) == names(last)
        # Most recently active first, by default.
        assert names(await (await session.get("/office")).text())[:2] == ["申报人000", "申报人001"]


async def test_the_chart_shows_started_and_submitted_per_day_in_award_time(desk, storage, criteria) -> None:
    noon = NOW.replace(hour=4, minute=0, second=0, microsecond=0)  # 12:00 in Shanghai
    days = [noon - timedelta(days=d) for d in (5, 3, 1)]
    await person(storage, criteria, "telegram", "1", "甲", started=days[0])
    await person(storage, criteria, "telegram", "2", "乙", started=days[0] + timedelta(hours=1),
                 submitted=days[1])
    # 21:00 UTC is 05:00 the next morning in Shanghai: counted on that day.
    await person(storage, criteria, "web", "3", "丙", started=days[1] - timedelta(hours=7),
                 submitted=days[2])
    async with await signed_in(desk, storage) as session:
        page = await (await session.get("/office")).text()
    svg = re.search(r"<svg.*?</svg>", page, re.S)[0]  # type: ignore[index]
    assert 'role="img"' in svg and 'viewBox="0 0 360 220"' in svg and "style=" not in svg
    first, last = (days[0].astimezone(UTC) + timedelta(hours=8)).date(), (NOW + timedelta(hours=8)).date()
    summary = f"每天开始填写和提交的人数，{first} 至 {last}：共开始 3 人，提交 2 份"
    assert f"<title id=\"chart-title\">{summary}</title>" in svg
    assert svg.count("<rect") == 2 + 4  # the legend's two, and a bar per day with any
    numbers = dict(re.findall(r'<tr><th scope="row">([\d-]+)</th><td>(\d+</td><td>\d+)</td></tr>', page))
    assert len(numbers) == (last - first).days + 1
    local = [(d + timedelta(hours=8)).date().isoformat() for d in days]
    assert numbers[local[0]] == "2</td><td>0"
    assert numbers[local[1]] == "1</td><td>1"
    assert numbers[local[2]] == "0</td><td>1"
    assert sum(int(v.split("<")[0]) for v in numbers.values()) == 3


async def test_before_anyone_starts_the_desk_says_so_and_has_its_nav(desk, storage) -> None:
    async with await signed_in(desk, storage) as session:
        page = await (await session.get("/office")).text()
    assert "还没有人开始填写。" in page and "<svg" not in page
    nav = re.search(r'<nav class="desk-nav".*?</nav>', page, re.S)[0]  # type: ignore[index]
    assert re.findall(r'href="([^"]+)"', nav) == ["/office", "/office/remind", "/office/export", "/office/deadline",
                                                  "/office/invites", "/office/out"]
    assert 'href="/office" aria-current="page"' in nav
    assert '<link rel="stylesheet" href="/static/office.css">' in page


async def test_invited_people_who_have_not_started_are_counted_and_the_unit_they_were_invited_with_shows(
        desk, storage, criteria) -> None:
    store = WebStore(storage)
    started, _link = await store.add_person("李雷", "连云港某某化工有限公司", invited=True)
    await store.add_person("陈静", "某某港务公司", invited=True)
    li = FakeApplicant(Interview(storage, criteria), started.user_id, "李雷")
    li.sender = Sender("web", started.user_id, "李雷")
    await li.consent()
    async with await signed_in(desk, storage) as session:
        page = await (await session.get("/office")).text()
    assert "另有 1 位受邀者还没有打开链接并同意开始" in page
    row = re.search(r"<tr>\s*<td[^>]*><a [^>]*>李雷</a></td>(.*?)</tr>", page, re.S)
    assert row and "连云港某某化工有限公司" in row[1]
