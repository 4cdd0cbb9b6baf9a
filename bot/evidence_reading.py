"""Reading an answer as an assessor does: its clauses, its numbers and its periods (the figures are
in evidence_figures).

Everything here works on the answer after NFKC (full-width digits and Latin as half-width), and
every position is a position in that normalised text, so a figure, a period and a clause can be
compared by where they stand. The words come from evidence_words.yaml.

Every pattern runs on answers of any length and content, and a regex holds the interpreter until
it ends: each must take time linear in the text. Runs of digits are matched possessively and
windows are bounded, so no position starts a scan to the end of a long run.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

import yaml

WORDS_FILE = Path(__file__).with_name("evidence_words.yaml")


@cache
def words() -> dict[str, list[str]]:
    data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    return {key: [str(word) for word in value] for key, value in data.items()}


def alternation(*keys: str) -> str:
    """The words of these lists as one regex: a trie, so that at each position the regex tries one
    branch per first character instead of every word (Python's re tries alternatives one by one),
    and longest first within a branch (万元 before 万)."""
    return _trie(sorted({word for key in keys for word in words()[key]}))


def _trie(found: list[str]) -> str:
    if not found:
        return "(?!)"
    ends_here = "" in found
    branches: dict[str, list[str]] = {}
    for word in found:
        if word:
            branches.setdefault(word[0], []).append(word[1:])
    parts = [re.escape(first) + (_trie(rest) if rest != [""] else "") for first, rest in branches.items()]
    body = parts[0] if len(parts) == 1 and not ends_here else "(?:" + "|".join(parts) + ")"
    return body + "?" if ends_here and parts else body if parts else ""


# NFKC would make ，a comma, and then 分别为120，135，140 would read as one number 120,135,140.
_KEEP = {ord(char): 0xE000 + i for i, char in enumerate("，；：！？（）")}
_RESTORE = {value: key for key, value in _KEEP.items()}
# ①②③, ⑴⑵ and ⒈⒉ number points of a list; NFKC would make them digits, and so figures.
_KEEP.update({code: ord("•") for first, last in ((0x2460, 0x2473), (0x2474, 0x2487), (0x2488, 0x249B))
              for code in range(first, last + 1)})


def normalise(text: str) -> str:
    """NFKC but for Chinese punctuation: １２．５％ is 12.5%, ＩＳＯ is ISO. Lengths do not change
    for the text an applicant types (CJK, digits, Latin, punctuation)."""
    return unicodedata.normalize("NFKC", text.translate(_KEEP)).translate(_RESTORE)


def has_content(text: str) -> bool:
    """A letter, a digit or a Chinese character: an answer of 「……」 or 「——」 says nothing."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


# -- clauses ------------------------------------------------------------------------------------
# A clause is where a negation holds: 往年数据没统计，但今年比去年提高了5% compares. 但 and 不过 open
# a new clause too. The decimal point is no boundary (NFKC makes ．a full stop: 0.5 stays whole).
# Phones often part clauses with a space: 以前要四十多分钟 现在十五分钟.
_BOUNDARY = re.compile(r"[,，;；。!！?？\n]|(?<![0-9])\.(?![0-9])|但是|不过|可是|然而|但(?!凡)"
                       r"|(?<=[\u4e00-\u9fff%])[ \t\u3000]++(?=[\u4e00-\u9fff])")
_SENTENCE_END = re.compile(r"[;；。!！?？\n]|(?<![0-9])\.(?![0-9])")


class Span(NamedTuple):  # a NamedTuple: an answer of 50,000 characters may have 25,000 clauses
    start: int
    end: int


class Clauses(Sequence[Span]):
    """Spans in order and apart, kept as two lists: an answer of 50,000 characters may have 25,000
    clauses, and only a few are ever looked at (at)."""

    def __init__(self, starts: list[int], ends: list[int]) -> None:
        self.starts, self.ends = starts, ends

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> Span:  # type: ignore[override]
        return Span(self.starts[index], self.ends[index])


def clauses(text: str) -> Clauses:
    starts, ends, start = [], [], 0
    for match in _BOUNDARY.finditer(text):
        if match.start() > start:
            starts.append(start)
            ends.append(match.start())
        start = match.end()
    if start < len(text):
        starts.append(start)
        ends.append(len(text))
    return Clauses(starts, ends)


def sentence_end(text: str, position: int, stop: int) -> int:
    """Where the sentence at `position` ends, looking no further than `stop` (which it returns
    if the sentence goes on): a search to the end of the text for each of many periods is quadratic."""
    match = _SENTENCE_END.search(text, position, stop)
    return match.start() if match else stop


# -- numbers ------------------------------------------------------------------------------------
CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
_CN_VALUE = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_SCALE = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}


def chinese_number(value: str) -> int | None:
    """十二 → 12, 二十三 → 23, 一百二十 → 120, 两千四百 → 2400, 二〇二三 → 2023; None if not a numeral."""
    if not value or any(char not in _CN_VALUE and char not in _CN_SCALE for char in value):
        return None
    if not any(char in _CN_SCALE for char in value):  # 二〇二三: digit by digit
        return int("".join(str(_CN_VALUE[char]) for char in value))
    total, section, digit = 0, 0, 0
    for char in value:
        if char in _CN_VALUE:
            digit = _CN_VALUE[char]
        elif _CN_SCALE[char] >= 10_000:
            total += (section + digit) * _CN_SCALE[char]
            section, digit = 0, 0
        else:
            section += (digit or 1) * _CN_SCALE[char]
            digit = 0
    return total + section + digit


def count_of(value: str) -> int:
    """A small count as written (3, 三, 十二): the number of years in 近三年. 0 if unreadable."""
    value = normalise(value)
    if value.isdigit():
        value = value.lstrip("0") or "0"
        return int(value) if len(value) <= 4 else 9999  # 近99999年 is no period count; int() refuses huge runs
    return chinese_number(value) or 0


# -- periods ------------------------------------------------------------------------------------
_YEAR = r"(?:19|20)[0-9]{2}"
_CN_YEAR = r"[一二][〇零九][〇零一二三四五六七八九]{2}"
# 22年, 23年 as phones write them; not a tenure (干了22年, 连续22年, 从业22年) nor 22年来.
_SHORT = r"(?:1[5-9]|2[0-9]|3[0-5])"
_NOT_TENURE = r"(?<![0-9.])(?<!了)(?<!近)(?<!满)(?<!续)(?<!这)(?<!有)(?<!龄)(?<!过)(?<!业)(?<!作)(?<!第)"
_SHORT_YEAR = (rf"{_NOT_TENURE}{_SHORT}(?=\s*+年(?!来|里|间|以来|多|左右|了|工龄|的工龄)"
               # 22、23、24年: the list ends in 年 within a few years
               rf"|(?:\s*+[、,，和及与]\s*+{_SHORT}(?![0-9])){{1,6}}\s*+年)")
_SPAN_COUNT = r"(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})"
_PERIOD = re.compile(
    # Only where a period can start: the alternatives below are not tried at every other place.
    r"(?=[0-9一二两三四五六七八九十〇零大前去上下今本第Q近连最过这])"
    rf"(?:(?P<range>(?<![0-9.])(?P<from>{_YEAR}|{_CN_YEAR})\s*+(?:年度?)?\s*+(?:[—\-–~至到]|——)\s*+"
    rf"(?P<to>{_YEAR}|{_CN_YEAR})(?![0-9])\s*+(?:年度?)?"
    rf"|{_NOT_TENURE}(?P<from2>{_SHORT})\s*+年?\s*+(?:[—\-–~至到]|——)\s*+(?P<to2>{_SHORT})\s*+年)"
    rf"|(?P<year>(?<![0-9.])(?:{_YEAR}(?![0-9])(?=\s*+(?:年|[、,，和及与]\s*+{_YEAR}))|{_CN_YEAR}(?=年))(?:\s*+年度?)?"
    rf"|{_SHORT_YEAR}(?:\s*+年度?)?"
    # 二二年, 二三年: 2022, 2023, as people say them (not 十二年, nor 一二年)
    rf"|(?<![{CN_DIGITS}])二[〇零一二三四五六七八九](?=年(?!来|里|间|以来|多|左右|了))年度?)"
    r"|(?P<relative>大前年|前年|去年|上一年度?|上年度?|今年|本年度?)"
    r"|(?P<quarter>第?[一二三四1-4]季度|Q[1-4](?![0-9])|[上下]半年)"
    r"|(?P<months>(?<![0-9])(?P<m1>1[0-2]|[1-9])\s*+月?\s*+[到至—\-~]\s*+(?P<m2>1[0-2]|[1-9])\s*+月份?)"
    r"|(?P<month>(?<![0-9\-—~至到])(?:1[0-2]|[1-9]|十[一二]?|[一二三四五六七八九])\s*+月份?"
    r"(?!\s*+[0-9]{1,2}\s*+[日号])(?![—\-~至到]))"
    rf"|(?P<span>(?:近|连续|最近|过去|这|前|连着)\s*+(?<![0-9])(?P<n>{_SPAN_COUNT})\s*+个?年"
    rf"|(?<![0-9{CN_DIGITS}])(?P<m>{_SPAN_COUNT})\s*+年(?:来|里|间|中|当中|以来|(?=分别|都|均|各|依次|每年))))"
)
_RELATIVE_YEAR = {"大前年": -3, "前年": -2, "去年": -1, "上一年": -1, "上一年度": -1, "上年": -1, "上年度": -1,
                  "今年": 0, "本年": 0, "本年度": 0}


# A real answer names a few dozen periods; a pasted wall of 2020年1% stops being read here.
MAX_PERIODS = 300


@dataclass(frozen=True)
class Period:
    start: int
    end: int
    keys: tuple[object, ...]   # the periods it names: years, relative years, quarters
    size: int                  # how many periods: a range or 近三年 names several


def _year(value: str) -> int:
    if value.isdigit():
        return int(value) + (2000 if len(value) <= 2 else 0)  # 22年 is 2022
    number = chinese_number(value) or 0
    return number + (2000 if len(value) == 2 else 0)  # 二二年 is 2022


def periods(text: str) -> list[Period]:
    found: list[Period] = []
    if "年" not in text and "月" not in text and "季" not in text and "Q" not in text:
        return found  # every period names one of these; a wall of 一一一 need not be tried at each place
    for match in itertools.islice(_PERIOD.finditer(text), MAX_PERIODS):
        if match["range"]:
            first, last = _year(match["from"] or match["from2"]), _year(match["to"] or match["to2"])
            if not 0 < last - first < 30:
                continue
            keys: tuple[object, ...] = tuple(range(first, last + 1))
        elif match["year"]:
            written = re.sub(r"[年度\s]", "", match["year"])
            keys = (_year(re.sub(r"\D", "", written) or written),)
        elif match["relative"]:
            keys = (("relative", _RELATIVE_YEAR[match["relative"]]),)
        elif match["months"]:  # 1到6月: six months
            first, last = int(match["m1"]), int(match["m2"])
            if not 0 < last - first < 12:
                continue
            keys = tuple(("month", month) for month in range(first, last + 1))
        elif match["month"]:
            keys = (("month", count_of(re.sub(r"[月份\s]", "", match["month"]))),)
        elif match["quarter"]:
            keys = (("quarter", match["quarter"].lstrip("第")),)
        else:
            size = count_of(match["n"] or match["m"])
            if size < 2:
                continue
            found.append(Period(match.start(), match.end(), tuple(("span", i) for i in range(min(size, 50))), size))
            continue
        previous = found[-1] if found else None
        if (match["quarter"] or match["month"]) and previous and previous.size == 1 \
                and text[previous.end:match.start()].strip(" 的") == "" and not _is_sub(previous):
            # 今年上半年, 2024年3月: one period, the part of that year
            found[-1] = Period(previous.start, match.end(), ((previous.keys[0], keys[0]),), 1)
            continue
        found.append(Period(match.start(), match.end(), keys, len(keys)))
    return found


def _is_sub(period: Period) -> bool:
    """A quarter or a month already, or a year with its part: nothing finer follows it."""
    key = period.keys[0]
    return isinstance(key, tuple) and (key[0] in ("quarter", "month") or isinstance(key[0], tuple))


def at(spans: Sequence[Span], position: int) -> Span | None:
    """The span holding this position; spans in order and apart, as clauses() gives them."""
    starts = spans.starts if isinstance(spans, Clauses) else [span.start for span in spans]
    index = bisect.bisect_right(starts, position) - 1
    if index >= 0 and position < spans[index].end:
        return spans[index]
    return None
