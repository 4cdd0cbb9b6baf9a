"""Evidence checks: what a seasoned assessor would miss in a results answer.

Pure functions of (question, answer text, number of attachments). Which checks apply to
which question is data in the criteria file (`evidence:` per question); `empty` and
`too_short` apply to every question. Chinese as applicants really write it: Arabic,
full-width and Chinese numerals, ％ and 个百分点, years as 2024年 or 二〇二四年, 近三年, 去年.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.criteria import Criteria, Question
from bot.validation import count_chars
from bot.wording import say

# Shorter than this (non-space characters) is too short to show method or result.
MIN_CHARS = {"process": 80, "result": 60}

# Every pattern here runs on answers of any length and content, and a regex search holds the
# interpreter (the GIL) until it ends, even off the event loop: each must take time linear in the
# text. No pattern may start a scan to the end of a long run at every position of that run, and
# no two adjacent quantifiers may share what they match.
_DIGIT = r"[0-9０-９]"
# A number read whole. Possessive: what may follow a number (a unit, 余, a space, 年) is never a
# digit or a separator, so giving digits back can never help a match; it only costs time.
_NUMBER = rf"(?:{_DIGIT}++(?:[.．,，]{_DIGIT}++)*+)"
_CN_DIGIT = r"[零〇一二两三四五六七八九十百千万亿]"
# Not possessive where a unit may follow: 五万 is 五 + the unit 万.
_CN = rf"{_CN_DIGIT}+"
# Where a pattern may start anywhere, a number may only start at the start of a number (not
# after a digit, nor after "1."): otherwise every position of a 10,000-digit run, or of
# "1.1.1.1…", starts a scan to its end. A match inside a run is a match from the run's start.
_AT_NUMBER = r"(?<![0-9０-９])(?<![0-9０-９][.．,，])"
_AT_CN = rf"(?<!{_CN_DIGIT})"
_UNITS = (
    r"(?:%|％|‰|个百分点|百分点|万元|亿元|千元|元|万|项|次|人次|人|名|件|个|台|套|篇|本|部|张|份|条|批|场|期|家|"
    r"吨|千克|公斤|米|公里|平方米|小时|分钟|天|个月|周|倍|分|位|级|项次|起|例|单|笔|户|座|只|箱|批次|课时|学时|h|kg|t|m)"
)
# Only ever searched (is there a figure at all?), so a run is tried from its start only.
# 1,200余人 and 十余次: 余/多 may stand between the number and its unit.
_FIGURE = re.compile(
    rf"{_AT_NUMBER}{_NUMBER}(?:余|多)?\s*+{_UNITS}|{_AT_CN}{_CN}(?:[余多]\s*+)?{_UNITS}"
    rf"|百分之{_CN}|百分之{_NUMBER}|第[一二三四五六七八九十{_DIGIT[1:-1]}]+名?"
)
_YEAR = re.compile(r"(?<![0-9０-９])((?:19|20)[0-9]{2})\s*年?")
_CN_YEAR = re.compile(r"([一二][〇零九][〇零一二三四五六七八九]{2})年")
# Possessive spaces: "2020" and 50,000 spaces would otherwise be split between two \s* every way.
_RANGE = re.compile(r"((?:19|20)[0-9]{2})\s*+(?:年\s*+)?[—\-–~～至到]++\s*+((?:19|20)[0-9]{2})")
# Possessive numbers: 年 is no numeral. In 三年来 the number starts at the start of its run:
# finditer never reaches a later position of a run first (a match ends in 年 or 来).
_SPAN = re.compile(
    rf"(?:近|连续|最近|这|过去)\s*+({_CN_DIGIT}++|{_DIGIT}++)\s*+年"
    rf"|({_AT_CN}{_CN_DIGIT}++|(?<![0-9０-９]){_DIGIT}++)年来|逐年|年年"
)
_RELATIVE = ("前年", "去年", "上年", "今年", "当年", "本年度", "上一年")
# [由从][^，。；]{0,30}: at most 31 tries from each 由, so bounded too.
_PAST = re.compile(
    r"同比|环比|较(?:上|去|前)年|比(?:上|去|前)年|较(?:往年|以往|上一年|上年度)|"
    r"(?:较|比|相比|对比)\s*+(?:19|20)[0-9]{2}|(?:与|跟|和|同)(?:自己)?\s*+(?:的)?(?:往年|以往|上年|去年|前年|(?:19|20)[0-9]{2}年?)[^，。；]{0,6}(?:相比|比较|对比|比)|"
    r"相比(?:往年|以往|上年|去年|前年)|"
    r"[由从][^，。；]{0,30}(?:提升|提高|增长|增加|上升|下降|降低|减少|缩短|压缩|降)(?:了)?(?:至|到)|"
    rf"(?:提升|提高|增长|增加|上升|下降|降低|减少|缩短)了?\s*+(?:{_NUMBER}\s*+(?:%|％|个百分点|倍)|{_CN}(?:个百分点|倍)|百分之{_CN})"
)
_BENCHMARK = re.compile(
    r"标杆|行业平均|行业水平|行业先进|先进水平|行业领先|国内领先|国际先进|国内先进|省内领先|全省领先|全国领先|排名|排第|"
    r"位居|名列|同行|同类(?:企业|岗位|单位)|对标|竞争对手|高于行业|优于行业|领先于|全国第|全省第|全市第|集团第|公司第|"
    r"区内第|行业第|平均水平"
)
_CLAIM = re.compile(
    r"荣誉|证书|专利|获奖|获评|荣获|授予|称号|奖项|一等奖|二等奖|三等奖|金奖|银奖|劳模|劳动模范|标兵|先进个人|工匠|"
    r"职称|资格证|认证"
)
_NEGATION = re.compile(r"(?:暂无|暂时没有|没有|无|未|尚未|还没|缺少|缺乏|不掌握|不清楚)[^，。；！？\n]{0,8}$")
# '同类企业的情况也不清楚': a negation later in the same clause. Matched at the end of a match
# (no ^: ^ does not match at pos), never on a slice: a slice to the end per match is quadratic.
_NEGATED_AFTER = re.compile(r"[^，。；！？\n]{0,12}(?:不清楚|不了解|不知道|没有数据|无从|暂无|没法比|无法比)")
# A concrete example in a process answer: a figure, 三次, a named document (_quoted: 《…》 …).
_EXAMPLE = re.compile(rf"{_DIGIT}|{_AT_CN}{_CN_DIGIT}++(?:次|项|个|名|人|年|月)|\d{{4}}年")
_QUOTES = (("《", "》"), ("“", "”"), ("「", "」"))


@dataclass(frozen=True)
class EvidenceWarning:
    code: str
    message: str
    example: str


def _found(pattern: re.Pattern[str], text: str) -> bool:
    """A match that is not negated just before it (暂无对比数据 is not a comparison)."""
    return any(
        not _NEGATION.search(text, max(0, m.start() - 12), m.start()) and not _NEGATED_AFTER.match(text, m.end())
        for m in pattern.finditer(text)
    )


def has_figures(text: str) -> bool:
    without_years = _RANGE.sub(" ", text)
    without_years = re.sub(r"(?<![0-9０-９])(?:19|20)[0-9]{2}\s*年(?:度)?(?:[0-9]{1,2}月)?", " ", without_years)
    without_years = _CN_YEAR.sub(" ", without_years)
    return bool(_FIGURE.search(without_years))


def periods(text: str) -> int:
    """How many distinct periods the answer covers (years, ranges, 近三年, 去年…)."""
    years: set[int] = {int(y) for y in _YEAR.findall(text)}
    for match in _RANGE.finditer(text):
        start, end = int(match.group(1)), int(match.group(2))
        if 0 < end - start < 30:
            years.update(range(start, end + 1))
    digits = str.maketrans("〇零一二三四五六七八九", "00123456789")
    years.update(int(y.translate(digits)) for y in _CN_YEAR.findall(text))
    count = len(years) + sum(1 for word in _RELATIVE if word in text)
    for match in _SPAN.finditer(text):
        if match.group(0) in ("逐年", "年年"):
            count = max(count, 3)
            continue
        number = _to_int(match.group(1) or match.group(2))
        count = max(count, number)
    return count


_CN_UNITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _to_int(value: str) -> int:
    """A number of years as written: 12, １２, 十二, 二十三, 两."""
    value = unicodedata.normalize("NFKC", value)  # full-width digits as ASCII; Chinese numerals stay
    if value.isdigit():
        # 近99999年 is no period count, and int() refuses over 4,300 digits (a crash). Only under 3
        # or not matters (missing_trend), so an absurd number counts as 9999.
        value = value.lstrip("0") or "0"
        return int(value) if len(value) <= 4 else 9999
    number = _chinese_number(value)
    if number is not None:
        return number
    return 3 if "十" in value else 0  # 一百, 十万: more than a few, or not a count of years at all


def _chinese_number(value: str) -> int | None:
    """一 to 九十九 in Chinese numerals (两 for 二): 十二 is 12, 二十 is 20, 二十三 is 23; None for anything else."""
    tens, ten, units = value.partition("十")
    if not ten:
        return _CN_UNITS.get(value)
    high = _CN_UNITS.get(tens) if tens else 1
    low = _CN_UNITS.get(units) if units else 0
    return None if high is None or low is None else high * 10 + low


def check(question: Question, text: str, attachments: int = 0) -> list[EvidenceWarning]:
    """Every evidence warning for this answer, most basic first."""
    stripped = text.strip()
    if not stripped:
        return [_warning("empty")]
    found: list[EvidenceWarning] = []
    if count_chars(stripped) < MIN_CHARS[question.kind]:
        found.append(_warning("too_short", min=MIN_CHARS[question.kind]))
    applies = set(question.evidence)
    if "missing_figures" in applies and not has_figures(stripped):
        found.append(_warning("missing_figures"))
    if "missing_trend" in applies and periods(stripped) < 3:
        found.append(_warning("missing_trend"))
    if "missing_past_comparison" in applies and not _found(_PAST, stripped):
        found.append(_warning("missing_past_comparison"))
    if "missing_benchmark" in applies and not _found(_BENCHMARK, stripped):
        found.append(_warning("missing_benchmark"))
    if "missing_attachment" in applies and attachments == 0 and _found(_CLAIM, stripped):
        found.append(_warning("missing_attachment"))
    return found


def process_hint(question: Question, text: str) -> str | None:
    """For a process answer with no concrete example: a gentle suggestion, never a warning."""
    if question.kind != "process" or not text.strip() or _EXAMPLE.search(text) or _quoted(text):
        return None
    return say("evidence_hint_example")


def _quoted(text: str) -> bool:
    """Something in 《…》, “…” or 「…」, as the pattern 《[^》]+》 finds it.

    That pattern scans from every 《 to the end when no 》 follows (quadratic). The first 《 not
    directly closed has the most text after it: if no 》 comes later, none comes after any other.
    """
    for opening, closing in _QUOTES:
        start = text.find(opening)
        while start != -1 and text.startswith(closing, start + 1):
            start = text.find(opening, start + 1)
        if start != -1 and text.find(closing, start + 2) != -1:
            return True
    return False


def _warning(code: str, **params: object) -> EvidenceWarning:
    return EvidenceWarning(code, say(f"evidence_{code}", **params), say(f"evidence_{code}_example"))


def check_application(criteria: Criteria, answers: dict[str, str],
                      attachments: dict[str, int]) -> dict[str, list[EvidenceWarning]]:
    """Warnings per question id, for the review and the finish."""
    return {q.id: check(q, answers.get(q.id, ""), attachments.get(q.id, 0)) for q in criteria.questions}


def summary(warnings: dict[str, list[EvidenceWarning]]) -> str | None:
    """'7.1a：缺数字、缺趋势' lines for the questions that have warnings, or None. An unanswered question is
    left out: its 'empty' is no advice."""
    lines = []
    for question_id, found in warnings.items():
        labels = [say(f"evidence_label_{w.code}") for w in found if w.code != "empty"]
        if labels:
            lines.append(f"{question_id}：{'、'.join(labels)}")
    return say("evidence_summary", lines="\n".join(lines)) if lines else None
