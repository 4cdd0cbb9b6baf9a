"""Evidence checks, as a seasoned assessor would make them: table-driven on labelled real-style answers."""

from __future__ import annotations

import json
import random
import time

import pytest
import yaml

from bot.criteria import WARNING_CODES
from bot.evidence import check, check_application, has_figures, periods, process_hint, summary
from scripts.evidence_accuracy import DEVELOPMENT, HELD_OUT, score
from tests.conftest import application_of, award_bot

# The development set: what the checks are tuned on (scripts/evidence_accuracy.py measures it and the
# held-out set). Each file was written from tests/data/evidence_labelling.md by someone who had not
# read the checker.
CASES = [case for path in DEVELOPMENT for case in yaml.safe_load(path.read_text(encoding="utf-8"))]
STRONG = "2023—2025年本人负责产线的一次交检合格率由96.1%提升至99.2%，高于行业平均水平（97.5%），连续三年位居集团第一。"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_labelled_answer(criteria, case) -> None:
    question = criteria.question(case["question"])
    got = {w.code for w in check(question, case["text"] or "", case.get("attachments", 0))}
    assert got == set(case["expected"]), case.get("note", "")


@pytest.mark.parametrize("path", HELD_OUT, ids=[path.stem for path in HELD_OUT])
def test_a_held_out_set_written_after_the_checker_meets_the_targets_of_issue_17(path) -> None:
    # Never tuned on: when this fails, read the differences, then write development cases of that
    # kind (tests/data/evidence_labelling.md) and make those pass.
    held_out = score([path])
    assert held_out.cases >= 60
    assert held_out.met, f"accuracy {held_out.accuracy:.3f}, lowest precision or recall {held_out.worst:.2f}"


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


@pytest.mark.parametrize("text", [
    "合格率达到百分之九十五", "获得三项专利", "排名第一", "提高了２个百分点", "节约两千万元", "组织培训十余次",
    "不良率降了两成", "产量翻了一番", "合格率百分之九十八点五", "带了二十来个徒弟", "投诉一个月四五起",
    "差错率千分之三", "返修减少了一半", "出错率为零", "客户零投诉", "营业额４１００万元", "省了四十来万",
])
def test_an_assessor_reads_these_as_figures(text) -> None:
    assert has_figures(text), text


@pytest.mark.parametrize("text", [
    "2024年我获评先进，2025年继续努力", "2021—2025年我一直在一线", "工作一丝不苟，一次合格率很高",
    "公司通过了ISO 9001和IATF 16949认证", "获得市级一等奖，考取二级建造师", "第一时间赶到现场",
    "荣获五一劳动奖章", "推行六西格玛和5S管理", "二〇二三年我开始带班组", "参加了三级安全教育",
    "作为一名班组长，有一次我发现了问题", "近三年考核都是优秀", "我在质量部干了五年", "2024", "3月、6月和9月开了会",
    "大家一起学习", "这几年省了好几万元", "①坚持每月培训②编写教材", "1.推行首件检验 2.建立台账", "2024.6毕业",
])
def test_an_assessor_does_not_read_these_as_figures(text) -> None:
    assert not has_figures(text), text


@pytest.mark.parametrize(("text", "periods_with_a_value"), [
    ("2022、2023、2024年合格率分别为97.6%、98.4%、99.1%", 3),
    ("２０２２年漏检率０．４％，２０２３年０．２％，２０２４年０．０８％", 3),
    ("二〇二三年、二〇二四年、二〇二五年设备完好率分别是百分之九十五、百分之九十七、百分之九十八点五", 3),
    ("前年销售额860万，去年1120万，今年1350万", 3),
    ("近三年客户投诉处理及时率都是百分之百", 3),
    ("连续三年车间一次合格率每年提高一个多百分点", 3),
    ("一季度、二季度、三季度的退货率分别是0.5%、0.3%、0.2%", 3),
    ("2021—2025年分别为12起、9起、7起、4起、2起", 5),
    # Not a trend: two values, however long the range around them.
    ("由2022年的0.35%降至2025年的0.06%", 2),
    ("2021年至2024年，人均产值由48万元提升到71万元", 2),
    ("近三年差错率从千分之三降到千分之零点五，发货及时率百分之九十九", 2),
    ("今年上半年日均产能3200箱，下半年4100箱", 2),
    # Periods without values, or different measures in different years.
    ("质量逐年提高，一年比一年好", 0),
    ("2022、2023、2024这三年我一直在抓质量", 0),
    ("2022年合格率98%，2023年投诉3起，2024年产值200万元", 1),
    # As phones write it: two-digit years, spaces for commas, a number left without its unit.
    ("一次合格率22年97.2% 23年98.1%，24年９８．９％", 3),
    ("前年签单一千二百来万 去年一千五百万出头 今年到十月已经一千八了", 3),
    ("干了22年，2024年合格率99%", 1),
])
def test_a_trend_is_one_measure_with_a_value_in_each_period(text, periods_with_a_value) -> None:
    assert periods(text) == periods_with_a_value, text


@pytest.mark.parametrize(("text", "years"), [
    ("近十二年", 12), ("二十年来", 20), ("近二十三年", 23), ("近两年", 2), ("近十年", 10), ("近九十九年", 99),
    ("连续一十二年", 12), ("近三年", 3), ("近１２年", 12), ("近12年", 12),
])
def test_a_number_of_years_in_chinese_numerals_is_read_as_written(text, years) -> None:
    # 十二 was once read as 3. Each of those years has the value: 近十二年都保持在99%以上.
    assert periods(f"{text}合格率都保持在99%以上") == years


@pytest.mark.parametrize(("question", "text", "missing"), [
    # One's own past, written without 相比, and negations held to their clause.
    ("7.1c", "从入职时的每月返工20件到现在每月不到3件，在全厂40名焊工里排第一。", []),
    ("7.1c", "退货率由0.5%提高到0.1%以下，高于行业平均水平。", []),
    ("7.1c", "往年的数据也没有统计过，只知道今年合格率99%，高于行业平均水平。", ["missing_past_comparison"]),
    ("7.1c", "往年数据没统计全，但今年比去年提高了5个百分点，高于行业平均水平。", []),
    ("7.1c", "我们今年合格率99.2%，比公司平均水平高0.8个百分点。", ["missing_past_comparison"]),
    ("7.1c", "以前换一次模要四十多分钟 现在十五分钟左右 在车间二十多个人里最快", []),
    ("7.1c", "比21年高了三个多点，计划明年和同行对比一下", ["missing_benchmark"]),
    # A benchmark needs a named reference and a relation; a role model or a mere mention is none.
    ("7.1c", "以王师傅为标杆，我的合格率由96%提高到99%。", ["missing_benchmark"]),
    ("7.1c", "我们的竞争对手主要是A公司和B公司，我的合格率由96%提高到99%。", ["missing_benchmark"]),
    ("7.1c", "合格率由96%提高到99%，在集团6个工厂中排名第一。", []),
    ("7.1c", "合格率由96%提高到99%，在我们分公司28名客服里，我的一次解决率排第一。", []),
    ("7.1c", "合格率由96%提高到99%，但没有和同行比过，行业数据也拿不到。", ["missing_benchmark"]),
    # A certificate is claimed by what it is, not only by the word 证书; a plan claims nothing.
    ("7.2a", "2024年考了二级建造师，全年学习120学时。", ["missing_attachment"]),
    ("7.4a", "2023年被市总工会授予五一劳动奖章，服务社区200小时。", ["missing_attachment"]),
    ("7.2a", "正在备考一级建造师，每天学习两个小时，证书还没拿到。", []),
    ("7.3a", "发明专利还在实审，全年提合理化建议27条。", []),
    ("7.3a", "其中有三项申请了实用新型专利，已经授权两项，创效30万元。", ["missing_attachment"]),
])
def test_an_assessor_reads_comparisons_and_claims_in_their_frames(criteria, question, text, missing) -> None:
    found = [w.code for w in check(criteria.question(question), text) if w.code != "too_short"]
    assert found == missing, text


@pytest.mark.parametrize("text", ["……", "——", "。。。", "？？", "-", "👍👍", "　\n　", "（）"])
def test_an_answer_of_punctuation_or_symbols_alone_is_empty(criteria, text) -> None:
    assert [w.code for w in check(criteria.question("7.1a"), text)] == ["empty"]


def test_a_one_word_answer_is_an_answer_not_an_empty_one(criteria) -> None:
    assert [w.code for w in check(criteria.question("7.4b"), "无")] == ["too_short"]


def test_the_summary_leaves_out_an_unanswered_question(criteria) -> None:
    warnings = check_application(criteria, {"7.1c": "本人工作成绩突出。"}, {})
    text = summary(warnings)
    assert text is not None and "7.1c" in text and "2.1a" not in text  # 2.1a is unanswered: only 'empty'
    assert summary({"7.1c": check(criteria.question("7.1c"), "")}) is None


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
    assert "已保存 7.1c" in applicant.text and "还可以加强" not in applicant.text  # more may follow
    await applicant.command("next")  # moving on: now the advice, before 7.2a
    assert "还缺少与标杆或同行的对比" in applicant.text and "行业平均水平" in applicant.text
    assert "与自己以往的对比" not in applicant.text and "7.2a" in applicant.text
    await applicant.command("back")
    await applicant.say("高于行业平均水平（97.5%），连续三年位居集团第一。")
    await applicant.command("next")
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


# -- one applicant's answer cannot freeze the bot for everyone (review #11) ---------------------
# The checks run on the event loop. Many texts below took seconds to minutes (50,000 digits:
# 2½ minutes), as a pattern started a scan to the end of a run at every position of it; every
# check is now linear, 5–25 ms at 50,000 characters. The bound is 10× the 50 ms target, for CI.

LONG = 50_000
# What the patterns care about: digits, separators, numerals, units, years, the words they look for.
PATTERN_CHARACTERS = ("0123456789０１２３４５６７８９零〇一二两三四五六七八九十百千万亿.．,，%％年来近第由从至到"
                      "提升降低同比较与相标杆名次项人余多《》“”「」—-~ \n，。暂无不清楚")


def repeated(unit: str, length: int = LONG) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def padded(head: str, fill: str = " ", length: int = LONG) -> str:
    """head, then fill up to length, ending in a letter (an answer is stripped first)."""
    return head + fill * (length - len(head) - 1) + "x"


def mixed(seed: int, length: int = LONG) -> str:
    chance = random.Random(seed)
    return "".join(chance.choice(PATTERN_CHARACTERS) for _ in range(length))


ADVERSARIAL = {  # named in pinyin: pytest escapes Chinese in test ids
    "digits": "1" * LONG, "full-width digits": "１" * LONG, "yi": "一" * LONG, "shi": "十" * LONG,
    "yi shi wan": repeated("一十万"), "shi yi bai": repeated("十一百"), "1.1.1": repeated("1."),
    "1,1,1": repeated("1,"), "1 full-width point 1": repeated("1．"), "yi 1 yi 1": repeated("一1"),
    "2020 2020": repeated("2020 "), "2020 spaces": padded("2020"), "2020 nian spaces": padded("2020年"),
    "2020- spaces": padded("2020-"), "2020 dashes": padded("2020", "-"), "jin spaces": padded("近"),
    "tisheng le spaces": padded("提升了"), "yu spaces": padded("与"), "shi yu spaces": padded("十余"),
    "biaogan": repeated("标杆"), "biaogan bu zhidao": repeated("标杆不知道"),
    "tongbi bu liaojie": repeated("同比不了解"), "rongyu bu zhidao": repeated("荣誉不知道"),
    "you": "由" * LONG, "you tisheng": repeated("由提升"),
    "di": "第" * LONG, "jin": "近" * LONG, "nian nian": "年" * LONG, "book title opened": "《" * LONG,
    "quote opened": "“" * LONG, "baifenzhi": repeated("百分之"), "2020 niandu": repeated("2020年度"),
    "mix 1": mixed(1), "mix 2": mixed(2), "mix 3": mixed(3),
    # The assessor's reading (#17): each period's values, comparison frames, list numbering.
    "2020 nian 1%": repeated("2020年1%"), "2020 nian dou 1%": repeated("2020年都1%"),
    "22 nian 1% spaces": repeated("22年1% "), "you 1% dao 2%": repeated("由1%到2%"),
    "zai gongsi li pai di yi": repeated("在公司里排第一"), "circled numbers": repeated("①②"),
}
# Between them every check: figures and trend, past and benchmark, figures and attachment, a claim, a process answer.
QUESTIONS = ["7.1a", "7.1c", "7.2a", "7.4a", "2.1a"]


@pytest.mark.parametrize("question_id", QUESTIONS)
@pytest.mark.parametrize("name", ADVERSARIAL)
def test_an_answer_of_50000_characters_of_any_kind_is_checked_in_well_under_a_second(criteria, name,
                                                                                  question_id) -> None:
    question, text = criteria.question(question_id), ADVERSARIAL[name]
    assert len(text) == LONG
    # The worker's own CPU time, not the clock: the suite runs four workers and LibreOffice on two
    # cores, and a slow neighbour is no slow check. A super-linear check costs seconds either way.
    started = time.process_time()
    check(question, text)
    process_hint(question, text)
    assert time.process_time() - started < 0.5, f"{name} on {question_id}"


def test_a_whole_application_of_50000_character_answers_is_checked_in_a_few_seconds(criteria) -> None:
    texts = list(ADVERSARIAL.values())
    results_first = sorted(criteria.questions, key=lambda q: q.kind != "result")  # they have the checks
    answers = {q.id: texts[n % len(texts)] for n, q in enumerate(results_first)}
    assert len(answers) == 39
    started = time.process_time()
    warnings = check_application(criteria, answers, {})
    assert time.process_time() - started < 5
    assert set(warnings) == set(answers)


def test_a_10000_digit_number_neither_crashes_nor_freezes_the_checks(criteria) -> None:
    # int() refuses over 4,300 digits: 近…年 and …年来 with such a run used to crash check().
    for text in ("近" + "9" * 10_000 + "年", "9" * 10_000 + "年来", "１" * 10_000, "2020—" + "9" * 10_000):
        assert periods(text) >= 0
        check(criteria.question("7.1a"), text)
    assert periods("近９９年都在99%以上") == 99
    assert [w.code for w in check(criteria.question("7.1a"), "近" + "9" * 10_000 + "年")] == ["too_short",
                                                                                            "missing_figures",
                                                                                            "missing_trend"][1:]


@pytest.mark.parametrize(("opening", "closing"), [("《", "》"), ("“", "”"), ("「", "」")])
def test_a_named_document_is_an_example_but_an_empty_or_unclosed_quote_is_not(criteria, opening, closing) -> None:
    question = criteria.question("2.1a")
    vague = "我积极参与公司战略目标的制定，认真听取各方意见。"
    assert process_hint(question, vague + opening + "包装线改造方案" + closing) is None
    assert process_hint(question, vague + opening * 1000 + "方案" + closing) is None
    assert "小建议" in process_hint(question, vague + opening + closing + "方案")
    assert "小建议" in process_hint(question, vague + closing + "方案" + opening)
    assert "小建议" in process_hint(question, vague + opening * 1000)
