"""Coaching that names the gap: each item as an assessor reads it, in the review, on the desk and in
reminders (#17). The bands are a self-check, never a score."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.answers_file import load_answers_file
from bot.coaching import coach, coach_item, reminder_gap, review_text
from bot.criteria import Criteria
from bot.evidence import check_application
from bot.reminders import AUTOMATIC, ReminderPolicy, queue_automatic
from bot.storage import Storage
from bot.web.office_store import OfficeStore
from bot.wording import say
from tests.conftest import ROOT
from tests.office_desk import BOSS, browser

TZ = ZoneInfo("Asia/Shanghai")
SAMPLE = ROOT / "examples" / "answers.sample.json"
# A method, applied widely, but never checked nor tied to the unit's goals.
METHOD_ONLY = ("我在班组推行首件三检制度，编写了检查表，每天班前会带大家过一遍，覆盖全班组12名员工，"
               "三年来一直坚持，现在人人都会按标准自检互检，新来的徒弟也是先学检查表再上岗。")
# The same, and how it was checked and improved, and what it serves.
WHOLE = METHOD_ONLY + ("每季度我对照客户投诉数据评估一次效果，2024年发现漏检集中在夜班，就调整了夜班的抽检频次，"
                       "这样做是为了落实公司“客户投诉下降20%”的年度质量目标。")
NO_BENCHMARK = {  # each compares with one's own past, none with anyone else
    "7.1c": "本人负责产线的一次交检合格率由2022年的96.1%提升至2025年的99.2%，客户投诉同比下降40%。",
    "7.2c": "本人年培训学时由2021年的40学时提升至2025年的96学时，持有证书由2项增加到5项。",
    "7.3c": "本人获授权专利由2021年的1项增加到2024年的4项，合理化建议采纳率较上年提高15个百分点。",
}


async def applicant_with(storage: Storage, criteria: Criteria, user: str, name: str, answers: dict[str, str]) -> int:
    """An applicant who has typed these answers, in the criteria's order, and nothing else."""
    applicant = await storage.applicant("telegram", user, name)
    app = await storage.create_application(applicant.id, criteria.id, criteria.version)
    await storage.update_application(app.id, status="active", step="q:1.1a")
    await storage.set_profile_value(app.id, "name", name, None)
    for question, text in answers.items():
        await storage.append_answer(app.id, question, text)
    return applicant.id


async def desk_page(desk, storage: Storage, path: str) -> str:
    link = await OfficeStore(storage).new_link(BOSS)
    async with browser(desk) as session:
        await session.get(f"/office/in/{link}")
        return await (await session.get(path)).text()


def item(criteria: Criteria, item_id: str):
    return next(i for c in criteria.categories for i in c.items if i.id == item_id)


def test_an_answer_with_a_method_but_no_review_is_told_it_lacks_learning_and_integration(criteria) -> None:
    found = coach_item(item(criteria, "1.1"), {"1.1a": METHOD_ONLY})
    assert found.gaps == ["learning", "integration"]
    assert [found.mark(d) for d in found.dimensions] == ["✓", "✓", "✗", "✗"]
    line = review_text(coach(criteria, {"1.1a": METHOD_ONLY}))
    assert line is not None and "1.1 卓越意识" in line and "还缺：学习、整合（另有 2 题未答）" in line
    assert say("coach_explain_process_learning") in line  # how to close it, once per gap
    whole = coach_item(item(criteria, "1.1"), {"1.1a": WHOLE})
    assert whole.gaps == [] and whole.band == "0–25%"  # all four shown, but in 1 of the 3 questions
    three = coach_item(item(criteria, "1.1"), {q: WHOLE for q in ("1.1a", "1.1b", "1.1c")})
    assert three.band == "70–100%"


def test_a_results_item_with_only_two_points_and_no_benchmark_lacks_the_trend_and_a_comparison(criteria) -> None:
    answers = {"7.1a": "我负责产品的客户退货率由2022年的0.35%降至2025年的0.06%。",
               "7.1c": NO_BENCHMARK["7.1c"]}
    found = coach_item(item(criteria, "7.1"), answers)
    assert found.mark("levels") == "✓" and found.mark("trends") == "◐" and found.mark("comparisons") == "◐"
    assert "trends" in found.gaps and "comparisons" in found.gaps
    answers["7.1b"] = "2023年、2024年、2025年班组一次交检合格率分别为97.8%、98.6%、99.4%，高于行业平均水平（97.5%）。"
    assert coach_item(item(criteria, "7.1"), answers).mark("trends") == "✓"


def test_the_demo_application_reads_complete_in_every_item(criteria) -> None:
    # The office's demo 申报书 is what a strong application looks like: no item may read as lacking.
    sample = load_answers_file(SAMPLE, criteria, today=date.today())
    coached = coach(criteria, sample.answers, Counter(a.question_id for a in sample.attachments))
    assert {found.item.id: found.gaps for found in coached if found.gaps} == {}
    text = review_text(coached)
    assert text is not None and "不是评分" in text and "还缺" not in text


def test_nothing_is_coached_before_anything_is_answered(criteria) -> None:
    assert review_text(coach(criteria, {})) is None
    assert reminder_gap(coach(criteria, {}), check_application(criteria, {}, {})) == ""


def test_a_reminder_names_the_gap_worth_most(criteria) -> None:
    answers = dict(NO_BENCHMARK)
    gap = reminder_gap(coach(criteria, answers), check_application(criteria, answers, {}))
    assert gap == say("coach_reminder_missing_benchmark", count=3)
    assert "3 题缺少与标杆或同行的对比" in gap


async def test_applicant_asks_for_the_review_and_sees_each_item_as_an_assessor_would(applicant) -> None:
    await applicant.reach_questions()
    await applicant.say(METHOD_ONLY)
    await applicant.command("review")
    assert "评审视角自查（仅供参考，不是评分）" in applicant.text
    assert "1.1 卓越意识 · 自查约 0–25% · 还缺：学习、整合（另有 2 题未答）" in applicant.text
    assessor = applicant.text.split("评审视角自查")[1]
    assert "还没有回答：1.2、2.1" in assessor and "7.1 工作绩效" not in assessor  # not begun: one line


async def test_the_office_sees_the_self_check_per_item_on_the_applicants_page(desk, storage, criteria) -> None:
    wang = await applicant_with(storage, criteria, "701", "王芳", {"1.1a": METHOD_ONLY, **NO_BENCHMARK})
    page = await desk_page(desk, storage, f"/office/applicants/{wang}")
    assert "评审视角自查" in page and say("coach_desk_note") in page
    assert "还缺：学习、整合" in page and '<a href="#q-1.1a">1.1 卓越意识</a>' in page
    assert page.count(say("coach_desk_unanswered")) == 16 - 4  # 1.1, 7.1, 7.2, 7.3 have answers


async def test_an_automatic_reminder_names_what_to_add(storage: Storage, db_path, criteria) -> None:
    await applicant_with(storage, criteria, "801", "李雷", NO_BENCHMARK)
    deadline = datetime(2026, 12, 31, 17, 0, tzinfo=TZ)
    queued = await queue_automatic(storage, criteria, ReminderPolicy(TZ), deadline,
                                   datetime(2026, 12, 24, 10, 0, tzinfo=TZ))
    assert queued == 1
    with sqlite3.connect(db_path) as db:
        (payload,) = db.execute("SELECT payload FROM outbox WHERE kind = ?", (AUTOMATIC,)).fetchone()
    text = json.loads(payload)["text"]
    assert "李雷您好" in text and text.endswith(say("coach_reminder_missing_benchmark", count=3))


async def test_the_office_previews_a_reminder_with_the_gap_it_will_name(desk, storage, criteria) -> None:
    zhao = await applicant_with(storage, criteria, "702", "赵敏", NO_BENCHMARK)
    page = await desk_page(desk, storage, f"/office/remind?audience=one:{zhao}")
    assert "3 题缺少与标杆或同行的对比" in page


def test_an_answer_that_denies_each_dimension_is_not_read_as_showing_it(criteria) -> None:
    # Keywords alone would give all four: 制度, 总结, 公司的目标, 一直.
    found = coach_item(item(criteria, "1.1"), {"1.1a": "我没有建立什么制度，也没有总结过经验，从来不跟公司的目标挂钩，"
                                                        "一直就是凭感觉干活。"})
    assert found.gaps == ["approach", "deployment", "learning", "integration"]


def test_a_plain_spoken_answer_is_read_for_what_it_says(criteria) -> None:
    found = coach_item(item(criteria, "1.1"), {"1.1a": (
        "我给自己定了三条规矩：上道工序的问题不接，本道工序的问题不做，下道工序的问题不传。车间十二个人我都要求这么做，"
        "三年没变过。每次出了问题，我都回头看是哪一步没做好，下回换个做法。厂里今年要把返工率压到1%以内，"
        "我这三条就是冲着这个去的。")})
    assert found.gaps == []


def test_honours_are_read_for_their_proof_not_for_a_trend(criteria) -> None:
    honours = {"7.4a": "2023年被授予连云港市五一劳动奖章，2024年获评开发区优秀工匠，平时积极参加社区志愿服务。"}
    without = coach_item(item(criteria, "7.4"), honours)
    assert without.dimensions == ("proof", "integration") and without.gaps == ["proof"]
    assert coach_item(item(criteria, "7.4"), honours, {"7.4a": 1}).gaps == []
    text = review_text(coach(criteria, honours))
    assert text is not None and "7.4 社会影响 · 自查约 0–25% · 还缺：证明（另有 1 题未答）" in text
    assert say("coach_explain_result_proof") in text and say("coach_explain_result_trends") not in text


def test_answers_too_short_to_show_much_do_not_read_as_a_strong_item(criteria) -> None:
    short = {"7.1a": "2022年合格率98%，2023年99%，2024年99.5%。", "7.1b": "班组合格率由96%提高到99%。",
             "7.1c": "比去年提高2%，高于行业平均。"}
    assert coach_item(item(criteria, "7.1"), short).band != "70–100%"
