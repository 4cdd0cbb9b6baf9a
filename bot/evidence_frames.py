"""What an answer compares and claims: a trend, one's own past, a benchmark, a certificate.

Each function takes the normalised text (evidence_reading.normalise) and reads it in clauses, so
that a negation holds only where it is written: 往年数据没统计，但今年比去年提高了5% compares.
The rules are written for a person in tests/data/evidence_labelling.md.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, cached_property

from bot.evidence_figures import Figure, figures
from bot.evidence_reading import Clauses, Period, Span, alternation, at, clauses, periods, sentence_end


@dataclass
class Reading:
    """One answer, read once: its text, clauses, periods and figures."""

    text: str
    clauses: Clauses
    periods: list[Period]
    figures: list[Figure]

    @classmethod
    def of(cls, text: str) -> Reading:
        spans, named = clauses(text), periods(text)
        return cls(text, spans, named, figures(text, spans, named))

    @cached_property
    def _starts(self) -> list[int]:
        return [figure.start for figure in self.figures]

    @cached_property
    def dated(self) -> dict[str, set[object]]:
        """For each measure, the periods it has a value for (see dated_values); read once."""
        return _dated_values(self)

    def between(self, start: int, stop: int) -> list[Figure]:
        """The figures that start in start:stop, found by bisection: a wall of 2020年1% has thousands."""
        return self.figures[bisect.bisect_left(self._starts, start):bisect.bisect_left(self._starts, stop)]


# -- patterns, compiled once from the word lists --------------------------------------------------
_NOT_END = r"[^,，;；。!！?？\n]"  # any character but one that ends a clause


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    earlier = alternation("earlier_points")
    year = r"(?:(?:(?:19|20)[0-9]{2}|[一二][〇零九][〇零一二三四五六七八九]{2})\s*+年?度?|[12][0-9]\s*+年)"
    compared = r"(?:相比|比较|对比|比)"
    rising = r"(?:提高|提升|增长|增加|下降|降低|减少|缩短)"
    better = r"(?:高|低|多|少|短|长|快|慢|好|强|优)"
    return {
        "negation": re.compile(alternation("negations_before", "negations_after")),
        "negated_before": re.compile(alternation("negations_before") + _NOT_END + r"{0,10}$"),
        "negated_after": re.compile(_NOT_END + r"{0,14}" + alternation("negations_after")),
        "plan": re.compile(alternation("plans")),
        # 近三年都在98%以上, 每年提高一个多百分点, 连续三次第一名: one value for every period.
        # Not 月均/人均/平均 (an average is one value): 均 there is no "each".
        "every_period": re.compile(
            alternation("every_period") + r"|(?<![月年日人平周季户台])均"
            + rf"|每年(?=[^,，;；。]{{0,6}}?(?:{rising}|[0-9一二两三四五六七八九十]))"
            r"|连续[0-9一二两三四五六七八九十]{1,3}(?:次|届|年)"),
        # 由/从 …到: not 由于, 从而, 从事, 从来, 从不…
        "from_to": re.compile(r"[由从](?!于|此|而|事|来|不|未|没|小|头|中|容|前)" + _NOT_END + r"{1,30}?(?:到|至|为)"),
        "change": re.compile(alternation("change_verbs")),
        "past_direct": re.compile(
            rf"(?:同比|环比)|(?:较|比|相比|对比|相较|对照)(?:于)?\s*+(?:自己|本人|我)?的?\s*+(?:{earlier}|{year})"
            rf"|(?:与|跟|和|同)\s*+(?:自己|本人|我)?的?\s*+(?:{earlier}|{year}){_NOT_END}{{0,16}}?{compared}"),
        "self_frame": re.compile(rf"(?:跟|和|与|同)\s*+(?:我)?自己{_NOT_END}{{0,8}}?{compared}"),
        "earlier": re.compile(earlier + r"|刚[\u4e00-\u9fff]{1,4}?(?:时|的时候|那会儿|那几年|那年)"),
        "later": re.compile(alternation("later_points")),
        "numeral": re.compile(r"[0-9零〇一二两三四五六七八九十百千万]"),
        # 在N名…中 (not inside 现在, 正在), and 公司技术员平均: a group, or its average.
        "reference": re.compile(
            alternation("references") + r"|(?<![现正存所实好])在[^,，;；。!！?？\s]{1,20}?(?:中|里|当中|之中)"
            r"|[0-9一二两三四五六七八九十百多]{1,4}(?:名|个|家|位|条|人|所)[^,，;；。!！?？\s]{0,8}?(?:中|里|当中|之中)"
            r"|(?<=[比和与跟同])(?!较|例|如|重)[^,，;；。!！?？\s(（:：]{1,6}?(?:公司|厂|企业|医院|学校|银行|酒店|门店)"
            r"|(?<=比)(?:他们|她们|别人|别家|别的厂|别的班组|其他人)"
            rf"|(?:公司|集团|行业|全厂|厂里|车间|部门|科室|同行|全市|全省|全区|班组){_NOT_END}{{0,8}}?平均"),
        # 比同行高, not 环比/同比/对比/占比 (those are other frames).
        "relation": re.compile(alternation("relations")  # and 比…高, unless 比去年高 (one's own past)
                               + rf"|(?<![环同对相占评无好类排])比(?!\s*+(?:自己|本人)?的?\s*+(?:{earlier}|{year}))"
                               rf"{_NOT_END}{{0,12}}?{better}"),
        "group": re.compile(alternation("groups")),
        "rank": re.compile(alternation("ranks")),
        "role_model": re.compile(alternation("role_model")),
        # 高于行业平均水平（97.5%）: the figure after these is the benchmark's.
        "reference_value": re.compile(r"(?:平均|先进|标杆|领先|同行|行业)[^,，;；。0-9]{0,4}[(（]?$"),
        # 和连云港的港通物流公司相比: a peer named by what it is.
        "named_peer": re.compile(
            rf"(?:和|与|跟|同){_NOT_END}{{1,16}}?(?:公司|企业|厂家|工厂|厂|集团|医院|学校|银行|酒店|门店|分公司|分厂|车间|"
            rf"班组|团队|同事)(?:的{_NOT_END}{{1,8}})?{compared}"),
        # 我的合格率99%，公司平均是97%: the average given beside one's own is a comparison.
        "average_given": re.compile(
            rf"(?:行业|公司|集团|同行|全市|全省|全国|车间|部门|同岗位){_NOT_END}{{0,6}}?平均(?:水平|值)?"
            rf"(?:是|为|才|只有|在|大概|约){_NOT_END}{{0,6}}?[0-9一二两三四五六七八九十]"),
        # 以前合格率低，现在高多了; 原来一个月返工十几次，现在基本没有了: a change said in words.
        "changed_now": re.compile(r"多了|少了|高了|低了|好了|快了|短了|长了|强了|没有了|没了|为零|清零|高多了|好多了|"
                                  r"强多了|提高|提升|下降|降低|减少|增加|翻|基本没有|不再|没有[^,，;；。]{1,4}了"),
        "claim": re.compile(alternation("credentials", "honours")  # and a prize: 技能大赛第一名, 评了个技术革新奖
                            + rf"|(?:大赛|比赛|竞赛|比武|评比|技能赛){_NOT_END}{{0,6}}?"
                            r"(?:第[一二三1-3]名|冠军|亚军|季军)"
                            rf"|(?:评了个?|评上了?|获了个?|得了个?){_NOT_END}{{0,10}}?奖(?![金励品惩])"),
        "patent": re.compile(alternation("patents")),
        "counted_patent": re.compile(r"[0-9一二两三四五六七八九十几]{1,3}\s*+[项个件][^,，;；。!！?？\n]{0,6}?专利"),
        "granted": re.compile(alternation("granted")),
        "not_yet": re.compile(alternation("not_yet")),
        "denied": re.compile(alternation("claim_denied") + _NOT_END + r"{0,10}$"),
        "training": re.compile(r"的?(?:培训|课程|学习班|考试|辅导|网课|报名|论文|教材|审核|工作|咨询|机构)"),
        # The company's certification, or someone else's prize: 协助公司通过ISO 9001认证, 我的徒弟获得一等奖.
        "not_mine": re.compile(  # 在公司获评 is one's own: 在 makes 公司 a place, not who won
            rf"(?<![在为从到])(?:公司|企业|单位|工厂|体系|产品|徒弟|学生|学员|组员|同事|队员){_NOT_END}{{0,20}}$"),
        # 去年已经拿到了安全员C证, 考了个焊工证: a licence named by what it is.
        "licence": re.compile(
            rf"(?:拿到了?|取得了?|考了个?|考取了?|考到了?|获得了?|拿了个?){_NOT_END}{{0,8}}?证(?![明实据件])"),
        # 证书也还没拿到: a claim undone after it.
        "denied_after": re.compile(
            rf"{_NOT_END}{{0,6}}?(?:没|未|还没|尚未){_NOT_END}{{0,4}}?(?:拿到|取得|获得|下来|考过|通过|批|授权|评上|选上|出成绩|出结果)"
            rf"|{_NOT_END}{{0,4}}?(?:还在考|正在考|在备考|还没考|还在学|正在学|还在办|没过|落选)"
            # 考了二级建造师，还没出成绩; 二级建造师考了，今年的成绩还没出: undone in the very next clause
            rf"|{_NOT_END}{{0,4}}?[,，]\s*+(?:但|可是|不过)?{_NOT_END}{{0,8}}?(?:还|目前|现在)?(?:没|未)"
            r"(?:出成绩|出结果|出|拿到|取得|通过|考过|下来|批|发)"
            r"|\s*+也?(?:没有|没|无)(?=[\s,，。;；!！?？]|$)"),
    }


# An answer names a benchmark, a year or a claim a few times, not thousands: each frame reads the
# first MAX_MATCHES of its kind, so a pasted wall of 标杆标杆… costs no more than a real answer.
MAX_MATCHES = 200


def _first(matches: Iterator[re.Match[str]]) -> Iterator[re.Match[str]]:
    return itertools.islice(matches, MAX_MATCHES)


def _negated(reading: Reading, start: int, end: int) -> bool:
    """A negation just before or after the words at start:end, in their own clause."""
    clause = at(reading.clauses, start)
    if clause is None:
        return False
    patterns = _patterns()
    before = patterns["negated_before"].search(reading.text, max(clause.start, start - 12), start)
    after = patterns["negated_after"].match(reading.text, end, clause.end)
    planned = patterns["plan"].search(reading.text, clause.start, start)  # 计划明年…对比: not yet
    return bool(before or after or planned)


# -- a trend ------------------------------------------------------------------------------------
def dated_values(reading: Reading) -> dict[str, set[object]]:
    """For each measure, the periods it has a value for: {退货率|%: {2023, 2024, 2025}}."""
    return reading.dated


def _dated_values(reading: Reading) -> dict[str, set[object]]:
    found = reading.periods
    groups: list[list[int]] = []
    for index, period in enumerate(found):
        if groups and _joined(reading.text, found[groups[-1][-1]].end, period.start):
            groups[-1].append(index)
        else:
            groups.append([index])
    by_measure: dict[str, set[object]] = defaultdict(set)
    for number, group in enumerate(groups):
        members = [found[i] for i in group]
        keys = list(dict.fromkeys(key for member in members for key in member.keys))
        size = max(len(keys), max(member.size for member in members))
        keys += [("more", number, i) for i in range(size - len(keys))]
        start = members[-1].end
        stop = found[groups[number + 1][0]].start if number + 1 < len(groups) else len(reading.text)
        stop = sentence_end(reading.text, start, stop)
        values: dict[str, int] = defaultdict(int)
        for figure in reading.between(start, stop):
            if not _a_references_value(reading, figure) and not _expected(reading, figure):
                values[figure.measure] += 1
        every = _every_period(reading, start, stop)
        for measure, count in values.items():
            by_measure[measure].update(keys[:size if measure in every else min(count, size)])
    return by_measure


def trend_periods(reading: Reading) -> int:
    """The most periods for which one measure has a value: 3 means a trend."""
    return max((len(keys) for keys in dated_values(reading).values()), default=0)


def _a_references_value(reading: Reading, figure: Figure) -> bool:
    """高于行业平均水平（97.5%）, 超过行业先进水平的82%: the figure is the benchmark's, not one's own."""
    return bool(_patterns()["reference_value"].search(reading.text, max(0, figure.start - 8), figure.start))


def _expected(reading: Reading, figure: Figure) -> bool:
    """2025年预计99%, 明年目标100%: a forecast or a goal is no value of that period."""
    return bool(_patterns()["plan"].search(reading.text, max(0, figure.start - 6), figure.start))


def _joined(text: str, end: int, start: int) -> bool:
    """Periods written as one list: 2022、2023、2024年; 前年、去年和今年; 二〇二三年…三年里."""
    gap = text[end:start]
    return len(gap) <= 3 and all(char in "、,，和及与至到 这年的以" for char in gap)


def _every_period(reading: Reading, start: int, stop: int) -> set[str]:
    """Measures given one value for every period: 近三年都在98%以上, 连续三年每年提高一个多百分点.
    Not a from–to: 由每年48万元提升到71万元 is two values."""
    measures: set[str] = set()
    patterns = _patterns()
    for match in _first(patterns["every_period"].finditer(reading.text, start, stop)):
        clause = at(reading.clauses, match.start())
        if clause is None:
            continue
        # Within the clause and the period's stretch, and near: a clause may be a whole pasted page.
        near = Span(max(clause.start, match.start() - 40), min(clause.end, stop, match.end() + 40))
        if patterns["from_to"].search(reading.text, near.start, near.end):
            continue
        measures.update(f.measure for f in reading.between(match.end(), near.end))
    return measures


# -- one's own past -----------------------------------------------------------------------------
def compares_with_own_past(reading: Reading) -> bool:
    patterns = _patterns()
    text = reading.text
    for name in ("past_direct", "self_frame"):
        for match in _first(patterns[name].finditer(text)):
            if not _negated(reading, match.start(), match.end()):
                return True
    # Each 由 or 从 looks ahead up to 30 characters for its 到: not worth it where there is none.
    ends = ("到" in text or "至" in text or "为" in text)
    for match in _first(patterns["from_to"].finditer(text)) if ends else ():
        if _from_to_is_change(reading, match) and not _negated(reading, match.start(), match.end()):
            return True
    for match in _first(patterns["earlier"].finditer(text)):
        if _then_and_now(reading, match):
            return True
    # 2023年返修率1.8%，2024年降到0.9%: one measure with a value at two named times compares them
    # (近三年共9项…2项 is two totals over one span, not two times).
    return any(sum(1 for key in keys if not _synthetic(key)) >= 2 for keys in dated_values(reading).values())


def _synthetic(key: object) -> bool:
    return isinstance(key, tuple) and key[0] in ("span", "more")


def _from_to_is_change(reading: Reading, match: re.Match[str]) -> bool:
    """由 X 提高到 Y, 从入职时的 X 到现在的 Y, 从每年十来条到现在四十多条: a change of one's own."""
    clause = at(reading.clauses, match.start())
    end = clause.end if clause else match.end()
    inside = reading.text[match.start():match.end()]
    if _patterns()["change"].search(inside) or _patterns()["earlier"].search(inside):
        return True
    before = reading.between(match.start() + 1, match.end())
    after = reading.between(match.end(), min(end, match.end() + 20))
    return bool(before and after)


def _then_and_now(reading: Reading, match: re.Match[str]) -> bool:
    """刚工作那几年一年也就考一个证，这两年每年都考三到四个: a number then, and a number now."""
    if _negated(reading, match.start(), match.end()):
        return False
    clause = at(reading.clauses, match.start())
    numeral = _patterns()["numeral"]
    if clause is None or clause.end - match.end() > 40:
        return False
    then = (match.end(), clause.end)
    if not numeral.search(reading.text, *then) and not _LEVEL_WORD.search(reading.text, *then):
        return False
    later = _patterns()["later"].search(reading.text, clause.end, min(len(reading.text), clause.end + 40))
    if later is None:
        return False
    now = at(reading.clauses, later.start())
    return now is not None and bool(numeral.search(reading.text, later.end(), now.end)
                                    or _patterns()["changed_now"].search(reading.text, later.end(), now.end))


# 以前合格率低: a level said in words, to be compared with a change said in words.
_LEVEL_WORD = re.compile(r"低|高|慢|快|差|多|少|长|短")


# -- a benchmark --------------------------------------------------------------------------------
def compares_with_benchmark(reading: Reading) -> bool:
    if any(_benchmark_in(reading, span) for span in _referring(reading)) or _ranked_in_group(reading):
        return True
    patterns = _patterns()
    for average in _first(patterns["average_given"].finditer(reading.text)):
        if not _negated(reading, average.start(), average.end()) and reading.figures:
            return True
    peers = _first(patterns["named_peer"].finditer(reading.text))
    return any(not _negated(reading, m.start(), m.end()) and not patterns["earlier"].search(m.group())
               and not patterns["negation"].search(m.group()) for m in peers)


def _ranked_in_group(reading: Reading) -> bool:
    """班组最高, 部门第一, 在车间里排第三: a bare group with a rank close after it."""
    patterns = _patterns()
    for group in _first(patterns["group"].finditer(reading.text)):
        clause = at(reading.clauses, group.start())
        if clause is None:
            continue
        rank = patterns["rank"].search(reading.text, group.end(), min(clause.end, group.end() + 12))
        if rank and not _negated(reading, group.start(), rank.end()) \
                and not patterns["negation"].search(reading.text, group.end(), rank.start()):  # 单位没有搞过排名
            return True
    return False


def _referring(reading: Reading) -> list[Span]:
    """The clauses that name a reference at all: the only ones worth reading for a benchmark."""
    found: list[Span] = []
    for reference in _first(_patterns()["reference"].finditer(reading.text)):
        clause = at(reading.clauses, reference.start())
        if clause is not None and (not found or found[-1] != clause):
            found.append(clause)
    return found


def _benchmark_in(reading: Reading, clause: Span) -> bool:
    patterns = _patterns()
    text = reading.text
    if patterns["role_model"].search(text, clause.start, clause.end):
        return False
    for reference in _first(patterns["reference"].finditer(text, clause.start, clause.end)):
        if _negated(reading, reference.start(), reference.end()) or text.startswith("银行业", reference.start() - 1):
            continue
        # Near the reference, as people write it: 高于行业平均, 在集团6个工厂中排名第一.
        window_start = max(clause.start, reference.start() - 16)
        window_end = min(clause.end, reference.end() + 30)
        if reference.group().startswith("在"):  # 在我们分公司28名客服里，我今年的一次解决率排第一
            following = at(reading.clauses, clause.end + 1)
            window_end = min(following.end if following else clause.end, reference.end() + 40)
        for relation in _first(patterns["relation"].finditer(text, window_start, window_end)):
            inside = reference.start() <= relation.start() and relation.end() <= reference.end()
            if not inside and not _negated(reading, relation.start(), relation.end()):
                return True
    return False


# -- a claim that needs its certificate ---------------------------------------------------------
def claims_a_certificate(reading: Reading) -> bool:
    patterns = _patterns()
    text = reading.text
    for match in _first(patterns["claim"].finditer(text)):
        if patterns["training"].match(text, match.end()) or patterns["denied_after"].match(text, match.end()):
            continue  # 绿带培训, 职称考试: learning it; 证书也还没拿到
        clause = at(reading.clauses, match.start())
        if clause and patterns["not_mine"].search(text, clause.start, match.start()):
            continue
        if not _denied(reading, match.start()):
            return True
    for match in _first(patterns["licence"].finditer(text)):
        if not _denied(reading, match.start()) and not patterns["denied_after"].match(text, match.end()):
            return True
    for match in _first(patterns["patent"].finditer(text)):
        clause = at(reading.clauses, match.start())
        if clause is None or patterns["not_mine"].search(text, clause.start, match.start()):
            continue  # 公司有20项专利: the company's
        following = at(reading.clauses, clause.end + 1)
        stop = following.end if following else clause.end
        for granted in _first(patterns["granted"].finditer(text, clause.start, stop)):
            where = at(reading.clauses, granted.start())
            pending = where is None or patterns["not_yet"].search(text, where.start, where.end)
            # 我有一项实用新型专利, 有3项专利: 有 claims one only with a count before the patent.
            counted = granted.group() != "有" or patterns["counted_patent"].match(text, granted.end())
            if counted and not pending and not _denied(reading, granted.start()):
                return True
    return False


def _denied(reading: Reading, start: int) -> bool:
    clause = at(reading.clauses, start)
    if clause is None:
        return False
    return bool(_patterns()["denied"].search(reading.text, max(clause.start, start - 14), start))
