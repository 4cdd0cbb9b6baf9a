"""Evidence checks, as a seasoned assessor would make them: table-driven on labelled real-style answers."""

from __future__ import annotations

import json

import pytest
import yaml

from bot.criteria import WARNING_CODES
from bot.evidence import check, has_figures, periods, process_hint
from tests.conftest import ROOT, application_of, award_bot

CASES = yaml.safe_load((ROOT / "tests" / "data" / "evidence_cases.yaml").read_text(encoding="utf-8"))
STRONG = "2023—2025年本人负责产线的一次交检合格率由96.1%提升至99.2%，高于行业平均水平（97.5%），连续三年位居集团第一。"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_labelled_answer(criteria, case) -> None:
    question = criteria.question(case["question"])
    got = {w.code for w in check(question, case["text"] or "", case.get("attachments", 0))}
    assert got == set(case["expected"]), case.get("note", "")


def test_the_labelled_set_covers_every_code_both_ways(criteria) -> None:
    assert len(CASES) >= 60
    for code in WARNING_CODES:
        positive = [c for c in CASES if code in c["expected"]]
        applicable = [c for c in CASES if code in ("empty", "too_short") or
                      code in criteria.question(c["question"]).evidence]
        negative = [c for c in applicable if code not in c["expected"]]
        assert len(positive) >= 3 and len(negative) >= 3, code


def test_a_strong_results_answer_gets_no_warning_at_all(criteria) -> None:
    assert check(criteria.question("7.1c"), STRONG) == []


def test_every_warning_names_what_the_guide_asks_and_shows_a_fix(criteria) -> None:
    answer = ("本人这几年工作成绩突出，得到领导和同事的一致好评，各项指标都完成得很好，"
              "班组的质量意识也明显增强了，客户反馈也越来越好，大家都很认可。暂无对比数据。")
    warnings = check(criteria.question("7.1c"), answer)
    assert [w.code for w in warnings] == ["missing_past_comparison", "missing_benchmark"]
    for warning in warnings:
        assert "对比" in warning.message and warning.example.startswith("例如")


def test_numbers_as_people_write_them() -> None:
    assert has_figures("合格率达到百分之九十五") and has_figures("获得三项专利") and has_figures("排名第一")
    assert has_figures("提高了２个百分点") and has_figures("节约两千万元") and has_figures("组织培训十余次")
    assert not has_figures("2024年我获评先进，2025年继续努力")
    assert periods("2021—2025年") == 5 and periods("近三年") == 3 and periods("二〇二三年和二〇二四年") == 2
    assert periods("去年和前年，还有今年") == 3


def test_a_process_answer_without_an_example_gets_only_a_gentle_hint(criteria) -> None:
    question = criteria.question("2.1a")
    vague = "我积极参与公司战略目标的制定，认真听取各方意见，结合岗位实际提出建议，使部门计划与公司目标保持一致。" * 2
    assert check(question, vague) == []
    assert "小建议" in process_hint(question, vague)
    assert process_hint(question, vague + "2024年我提出的《包装线改造方案》被纳入年度计划。") is None


async def test_applicant_answers_7_1c_without_a_benchmark_and_is_warned(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.command("jump", "7.1c")
    await applicant.say("与2023年相比，2025年本人负责产线的一次交检合格率由96.1%提升至99.2%，"
                        "返工工时下降40%，客户投诉明显减少。")
    assert "已保存 7.1c" in applicant.text
    assert "还缺少与标杆或同行的对比" in applicant.text and "行业平均水平" in applicant.text
    assert "与自己以往的对比" not in applicant.text
    await applicant.say("高于行业平均水平（97.5%），连续三年位居集团第一。")
    assert "还可以加强" not in applicant.text
    await applicant.command("jump", "7.1a")
    await applicant.say("我的工作绩效很好。")
    await applicant.command("finish")
    advice = applicant.text.split("证据提醒")[1]
    assert "7.1a：偏短、缺数字、缺趋势" in advice and "7.1c" not in advice
    app = await application_of(storage, applicant)
    assert "高于行业平均水平" in await storage.answer(app.id, "7.1c")  # warnings never block saving


def test_award_bot_check_prints_json_and_names_valid_ids_for_an_unknown_one() -> None:
    ok = award_bot("check", "7.1c", stdin=STRONG)
    assert ok.returncode == 0 and json.loads(ok.stdout) == []
    weak = award_bot("check", "7.4a", "--attachments", "0",
                     stdin="2024年荣获江苏省五一劳动奖章，2023年获评连云港市劳动模范，2022年被评为公司十佳员工，"
                           "在本行业和本地区有一定的影响力，多次受邀到兄弟单位交流经验。")
    assert [w["code"] for w in json.loads(weak.stdout)] == ["missing_attachment"]
    assert set(json.loads(weak.stdout)[0]) == {"code", "message"}
    bad = award_bot("check", "7.9z")
    assert bad.returncode != 0 and "7.4b" in bad.stderr and "1.1a" in bad.stderr
