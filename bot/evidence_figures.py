"""The figures in an answer, as an assessor reads them: what measures something, and what only looks
like a number (a year, a date, a standard, a grade, 一线 or ① numbering a list).

Works on normalised text (evidence_reading.normalise) at the same positions, so a figure can be
placed in its clause and after its period. Each figure carries the measure it belongs to, the
name before it and its unit (退货率|%), so a trend can be one measure over three periods.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from functools import cache

from bot.evidence_reading import CN_DIGITS, Clauses, Period, alternation, at, clauses, periods, words

_NUMBER = r"[0-9]++(?:\.[0-9]++)?+(?:,[0-9]{3})*+"
_APPROX = r"(?:余|多|来|几|左右)?+"
# Bounded, not possessive: 两千万 is 两千 and the unit 万. The look-behind starts it at a run's start.
_CN_RUN = rf"[{CN_DIGITS}点几]{{1,12}}"
_RANK_N = r"[0-9一二三四五六七八九十]{1,3}"


@cache
def _figure() -> re.Pattern[str]:
    units = alternation("units")
    # After a Chinese numeral 千/万/亿 are part of it (一千八, 两千万), not a unit; but 四十来万 is.
    counted = rf"(?![千万亿](?![元人件台套个只次吨]))(?:{units})|(?<=[余多来几])万"
    return re.compile(
        rf"(?P<share>[百千万]分之[{CN_DIGITS}点0-9.]++|百分百)"
        rf"|(?P<double>翻了?[一两二三四]?番)|(?P<half>一半|过半|减半|大半)"
        r"|(?P<zero>零(?:投诉|事故|缺陷|差错|失误|不符合|返工|退货|伤亡|违章|故障|误差|漏检|错发|安全事故|质量事故)"
        r"|(?:为|降到|降至|减到|减少到|压到)零)"
        # 近百万, 上万元, 数百人: an order of magnitude is a figure too.
        r"|(?P<magnitude>(?:近|上|超|过|逾|数)(?:百万|千万|十万|百|千|万|亿)(?:余|多)?"
        r"(?:元|人次|人|次|件|台|吨|个|项|(?=[\s,，。;；!！?？]|$)))"
        rf"|(?P<rank>第{_RANK_N}(?:名|位)|(?:排名|排在?|名列|位居|位列|获得?|拿了?|居)(?:第|前){_RANK_N}"
        rf"|(?<=[\u4e00-\u9fff])第{_RANK_N}(?=[,，。;；!！?？\n)）]|$)|前{_RANK_N}(?:名|位|强))"
        rf"|(?<![0-9A-Za-z.])(?P<arabic>{_NUMBER})\s*+(?P<approx>{_APPROX})\s*+(?P<unit>{units})?"
        rf"|(?<![{CN_DIGITS}])(?P<chinese>{_CN_RUN}(?:[到至~\-]{_CN_RUN})?)(?P<capprox>{_APPROX})(?P<cunit>{counted})"
        # 今年到十月已经一千八了: a number with a scale and no unit, where a sentence could end.
        rf"|(?<![{CN_DIGITS}])(?P<bare_cn>[一二两三四五六七八九十][{CN_DIGITS}点]{{1,11}})"
        r"(?=了|左右|多|出头|\s|[,，。;；!！?？]|$)"
    )


@dataclass(frozen=True)
class Figure:
    start: int
    end: int
    measure: str   # what it measures, for a trend: 退货率|% — the name before it, and its unit


_SCALE = frozenset("十百千万亿")
_COUNTED_DIGITS = frozenset("一二两三四五六七八九十")
# 一 with a classifier is a count after these (培养了一名技师), or closing a clause after 只有 (今年只有一起).
_COUNTING_VERB = re.compile(r"(?:培养了?|带出了?|带了|获得了?|拿了|考了|发表了?|授权了?|新增了?|完成了?|招了|出了)$")
_ONLY = re.compile(r"(?:只有|仅有|只|仅|就|才|发生|出现|降到|减到|剩)$")
_CLAUSE_END = re.compile(r"[\s,，。;；!！?？]|$")


def _counted_one(blanked: str, match: re.Match[str]) -> bool:
    before = blanked[max(0, match.start() - 3):match.start()]
    if _COUNTING_VERB.search(before):
        return True
    return bool(_ONLY.search(before)) and bool(_CLAUSE_END.match(blanked, match.end()))
_BARE_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
BARE = "数"  # the unit of a number written without one
_SHARE_UNITS = {"%", "‰", "个百分点", "百分点", "成"}
# After a bare number these make it a date, an age, a grade or a name: 3月, 35岁, 90后, 5S, 8D.
_NOT_AFTER_BARE = re.compile(r"\s*+(?:年|月|日|号|岁|后|届|级|等奖|等|星|楼|层|[A-Za-z])")


def masked(text: str, found: list[Period] | None = None) -> str:
    """The text with what only looks like a number blanked out, at the same positions: standards,
    periods, dates, grades and idioms (一线, 一次合格率, 五一劳动奖章)."""
    chars = list(text)

    def blank(start: int, end: int) -> None:
        chars[start:end] = "_" * (end - start)

    for pattern in _masks():
        for match in pattern.finditer(text):
            blank(match.start(), match.end())
    for period in periods(text) if found is None else found:
        blank(period.start, period.end)
    return "".join(chars)


@cache
def _masks() -> tuple[re.Pattern[str], ...]:
    return (
        re.compile(rf"{alternation('standards')}\s*+[/\-]?\s*+[0-9][0-9.:/\-]{{0,20}}"),
        re.compile(alternation("idioms")),
        # 1. 2、(3) （4） numbering a list, where a clause or line starts: not figures.
        re.compile(r"(?:^|(?<=[\n,，;；。:：!！?？\s•]))[(（]?[0-9]{1,2}"
                   rf"(?:[.、)）](?![0-9])|(?![0-9])(?!{alternation('units')}|[年月日号])(?=[\u4e00-\u9fff]))"),
        re.compile(r"[0-9]{1,2}\s*+[—\-–~至到]\s*+[0-9]{1,2}\s*+月|[0-9]{1,2}\s*+月\s*+[0-9]{1,2}\s*+[日号]"
                   r"|(?<![0-9])(?:19|20)[0-9]{2}[./\-](?:1[0-2]|0?[1-9])(?:[./\-][0-3]?[0-9])?(?![0-9])"),
        re.compile(rf"[0-9{CN_DIGITS[1:]}]{{1,3}}\s*+(?:等奖|等功|级|星级|星)"),
    )


# The name of a measure: the last of these before a figure in its clause (退货率, 满意度, 销售额).
_NAME = re.compile(
    r"[\u4e00-\u9fff]{1,2}(?:率|量|额|数|值|度|成本|损失|时间|时长|周期|产值|产能|销量|收入|利润|费用|工时|学时|课时|"
    r"评分|得分|分数|投诉|事故|故障|库存|金额|效益|人次)|PPM|ppm|OEE|CPK|Cpk"
)


_PERIOD_NAME = re.compile(r"季度|年度|月度|半年")


def _names(text: str, found: list[tuple[int, int, str]], bounds: Clauses) -> list[Figure]:
    """Each figure with the measure it belongs to: the name just before it in its clause, or, when a
    clause gives only a value (2022年漏检率0.4%，2023年0.2%), the last name given with that unit."""
    names = [(match.end(), match.group()) for match in _NAME.finditer(text) if not _PERIOD_NAME.search(match.group())]
    ends = [end for end, _ in names]
    last_for_unit: dict[str, str] = {}
    result = []
    previous: tuple[int, str] | None = None  # where the last figure with a unit ended, and its unit
    for start, end, unit in found:
        if unit == BARE and previous and start - previous[0] <= 30:
            unit = previous[1]  # 前年签单一千二百来万，去年一千五百万，今年一千八: the same 万
        elif unit != BARE:
            previous = (end, unit)
        index = bisect.bisect_right(ends, start) - 1
        clause = at(bounds, start)
        name = ""
        if index >= 0 and clause is not None and names[index][0] > clause.start and start - names[index][0] <= 30:
            name = names[index][1]
            last_for_unit[unit] = name
        else:
            name = last_for_unit.get(unit, "")
        result.append(Figure(start, end, f"{name}|{unit}"))
    return result


# Enough to judge any answer (a real one has dozens); a pasted table of 25,000 numbers stops here.
MAX_FIGURES = 2000


def figures(text: str, spans: Clauses | None = None, named: list[Period] | None = None) -> list[Figure]:
    """Every figure in the (normalised) text, with the measure it is in. `spans` and `named` are its
    clauses and periods when the caller has them already."""
    found: list[tuple[int, int, str]] = []
    blanked = masked(text, named)
    for match in itertools.islice(_figure().finditer(blanked), MAX_FIGURES):
        if match["share"] or match["half"]:
            measure = "%"
        elif match["double"]:
            measure = "倍"
        elif match["zero"]:
            measure = "零"
        elif match["rank"]:
            measure = "名次"
        elif match["magnitude"]:
            measure = "量级"
        elif match["arabic"]:
            unit = match["unit"]
            bare_year = _BARE_YEAR.fullmatch(match["arabic"])
            if not unit and (bare_year or _NOT_AFTER_BARE.match(blanked, match.end("approx"))):
                continue  # 3月, 35岁, 5S; a bare 2024 is a year
            measure = unit or BARE
        elif match["bare_cn"]:
            if not _SCALE.intersection(match["bare_cn"]):
                continue  # 一二三 is counting off, not a number
            measure = BARE
        else:
            number, unit = match["chinese"], match["cunit"]
            if number == "一" and not match["capprox"] and unit in _ones() and not _counted_one(blanked, match):
                continue  # 作为一名, 有一次, 一个好习惯; but 培养了一名技师, 今年只有一起
            if not _COUNTED_DIGITS.intersection(number.replace("几", "")):
                continue  # 几万元, 好几个: a guess, not a figure; 万元 alone has no number (十几次 is one)
            measure = unit
        found.append((match.start(), match.end(), "%" if measure in _SHARE_UNITS else measure))
    return _names(text, _lists(blanked, found), clauses(text) if spans is None else spans)


# 分别为97.6、98.4、99.1%; 百分之九十九点一、九十九点五、九十九点八: the members of a list share its unit.
_NEXT_IN_LIST = re.compile(
    rf"\s*+[、,，和及与]\s*+(?:(?<![0-9.])({_NUMBER})(?![0-9])|(?<![{CN_DIGITS}])([{CN_DIGITS}点]{{1,12}}))"
    r"(?=\s*+(?:[、,，和及与。;；)）]|$))")
_SEPARATOR = re.compile(r"\s*+[、,，和及与]\s*+")
_COUNTING = frozenset("0123456789一二两三四五六七八九十")


def _lists(blanked: str, found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    result: list[tuple[int, int, str]] = []
    run: list[tuple[int, int, str]] = []

    def close() -> None:
        unit = next((measure for _, _, measure in run if measure != BARE), BARE)
        result.extend((start, end, unit) for start, end, _ in run)
        run.clear()

    index = 0
    while index < len(found):
        figure = found[index]
        if run and not _SEPARATOR.fullmatch(blanked, run[-1][1], figure[0]):
            close()
        run.append(figure)
        index += 1
        # Bare numbers after it in the list, not figures on their own (九十九点五 has no unit).
        while True:
            following = _NEXT_IN_LIST.match(blanked, run[-1][1])
            if following is None:
                break
            start = following.start(1) if following.group(1) else following.start(2)
            if index < len(found) and found[index][0] <= start:
                break  # a figure of its own: the loop above takes it
            if not _COUNTING.intersection(following.group(following.lastindex or 1)) \
                    or len(result) + len(run) >= MAX_FIGURES:
                break
            run.append((start, following.end(), run[-1][2]))
    if run:
        close()
    return result


@cache
def _ones() -> frozenset[str]:
    return frozenset(words()["not_a_count_after_one"])


