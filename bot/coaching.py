"""Coaching that names the gap: each item read as an assessor reads it, in GB/T 19580's terms.

A process item (1.1 … 6.2) is read for 方法, 展开, 学习 and 整合; a results item (7.1 … 7.4) for what
its questions' evidence checks ask (水平, 趋势, 对比, 证明) and 整合. Each dimension is how strongly the
item's answers show it, from 0 to 1: the share of its questions that show it (水平, 方法, 展开, 学习;
an answer too short to show much counts half), or whether any answer does (趋势, 整合; 对比 half for
one's past and half for a benchmark). The band is where an assessor would start looking, in
Baldrige's way; it is shown as a self-check, never as a score. It reads words, not merit.

Pure functions of the criteria, the answers and their files' counts: the review, the desk and the
reminders use them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from bot.criteria import Criteria, Item
from bot.evidence import MIN_CHARS, EvidenceWarning
from bot.evidence_frames import (
    Reading,
    claims_a_certificate,
    compares_with_benchmark,
    compares_with_own_past,
    trend_periods,
)
from bot.evidence_reading import has_content, normalise
from bot.validation import count_chars
from bot.wording import say

WORDS_FILE = Path(__file__).with_name("coaching_words.yaml")
PROCESS = ("approach", "deployment", "learning", "integration")
RESULTS = ("levels", "trends", "comparisons", "proof", "integration")
# Which evidence checks make a results item read for each dimension (none: always).
_ASKED_BY: dict[str, set[str]] = {
    "levels": {"missing_figures"}, "trends": {"missing_trend"},
    "comparisons": {"missing_past_comparison", "missing_benchmark"}, "proof": {"missing_attachment"},
    "integration": set(),
}
# The gaps a reminder may name, the evidence codes first: they are what 7.x is scored on.
REMINDER_GAPS = ("missing_benchmark", "missing_past_comparison", "missing_trend", "missing_figures",
                 "missing_attachment", "learning", "integration", "deployment", "approach")


# How much of a dimension the written answers must show: half of them, or for 对比 both kinds
# (one's own past and a benchmark), since GB/T 19580 asks for both.
_ENOUGH = {"approach": 0.5, "deployment": 0.5, "learning": 0.5, "integration": 0.5, "levels": 0.5, "trends": 1.0,
           "comparisons": 1.0, "proof": 1.0}


class _Band(BaseModel):
    model_config = ConfigDict(extra="forbid")
    below: float
    band: str


class _Words(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process: dict[str, list[str]]
    results: dict[str, list[str]]
    bands: list[_Band]


@cache
def _words() -> _Words:
    return _Words.model_validate(yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8")))


@cache
def _cues(kind: str, dimension: str) -> re.Pattern[str]:
    found = getattr(_words(), kind)[dimension]
    return re.compile("|".join(re.escape(word) for word in sorted(found, key=len, reverse=True)))


@dataclass(frozen=True)
class ItemCoaching:
    item: Item
    kind: str                      # process | result
    answered: int
    strength: dict[str, float]     # dimension → 0 … 1, over all the item's questions: the band
    shown: dict[str, float]        # the same over the answered ones: what the answers still miss

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(self.strength)

    @property
    def score(self) -> float:
        """Out of 4, whatever the number of dimensions the item is read for."""
        return 4 * sum(self.strength.values()) / len(self.strength)

    @property
    def band(self) -> str:
        return next(b.band for b in _words().bands if self.score < b.below)

    @property
    def unanswered(self) -> int:
        return len(self.item.questions) - self.answered

    @property
    def gaps(self) -> list[str]:
        """What the answers written so far do not yet show, or show in too few of them."""
        return [d for d in self.dimensions if self.shown[d] < _ENOUGH[d]]

    def mark(self, dimension: str) -> str:
        value = self.shown[dimension]
        return "✓" if value >= _ENOUGH[dimension] else "◐" if value > 0 else "✗"


def dimensions(item: Item) -> tuple[str, ...]:
    """What an item is read for. A results item, for what its questions' evidence checks ask (the
    criteria file): 7.4 (honours) is read for proof and integration, not for a trend."""
    if item.questions[0].kind == "process":
        return PROCESS
    asked = {code for question in item.questions for code in question.evidence}
    return tuple(d for d, codes in _ASKED_BY.items() if not codes or asked & codes)


def coach(criteria: Criteria, answers: Mapping[str, str], files: Mapping[str, int] | None = None
          ) -> list[ItemCoaching]:
    """Every item, in the criteria's order; `files` is how many files each question has."""
    return [coach_item(item, answers, files or {}) for category in criteria.categories for item in category.items]


def coach_item(item: Item, answers: Mapping[str, str], files: Mapping[str, int] | None = None) -> ItemCoaching:
    files = files or {}
    dims = dimensions(item)
    texts = {q.id: normalise(answers.get(q.id, "").strip()) for q in item.questions}
    written = {qid: text for qid, text in texts.items() if has_content(text)}
    kind = item.questions[0].kind
    if not written:
        zero = dict.fromkeys(dims, 0.0)
        return ItemCoaching(item, kind, 0, zero, dict(zero))
    # An answer too short to show much counts half in every dimension it shows.
    weight = {q.id: 1.0 if count_chars(written.get(q.id, "")) >= MIN_CHARS[q.kind] else 0.5
              for q in item.questions if q.id in written}
    hits: dict[str, float] = {}
    if kind == "process":
        for d in dims:
            hits[d] = sum(weight[qid] for qid, text in written.items() if _shows(text, "process", d))
        # How the item ties to the unit's goals is said once for the item, not in every answer.
        hits["integration"] = len(written) * max((weight[qid] for qid, text in written.items()
                                                  if _shows(text, "process", "integration")), default=0.0)
    else:
        readings = {qid: Reading.of(text) for qid, text in written.items()}
        trend = max(trend_periods(r) for r in readings.values())
        # Shown once in the item is enough for these: the trend of 7.1a serves 7.1 as a whole.
        whole = {
            "trends": 1.0 if trend >= 3 else 0.5 if trend == 2 else 0.0,
            "comparisons": 0.5 * any(compares_with_own_past(r) for r in readings.values())
            + 0.5 * any(compares_with_benchmark(r) for r in readings.values()),
            "integration": 1.0 if any(_shows(t, "results", "integration") for t in written.values()) else 0.0,
        }
        for d in dims:
            if d == "levels":
                hits[d] = sum(weight[qid] for qid, r in readings.items() if r.figures)
            elif d == "proof":
                hits[d] = _proven(item, readings, files) * len(written)
            else:
                hits[d] = whole[d] * len(written)
    shown = {d: hits[d] / len(written) for d in dims}
    strength = {d: hits[d] / len(texts) for d in dims}
    return ItemCoaching(item, kind, len(written), strength, shown)


def _proven(item: Item, readings: Mapping[str, Reading], files: Mapping[str, int]) -> float:
    """The share of answered questions that need proof whose claims have it (1 when none claims any)."""
    needing = [q.id for q in item.questions if "missing_attachment" in q.evidence and q.id in readings]
    if not needing:
        return 1.0
    return sum(1 for qid in needing if files.get(qid, 0) or not claims_a_certificate(readings[qid])) / len(needing)


_NEGATED = re.compile(r"(?:没|没有|不|未|从不|从来不|从没|从未|谈不上|也没)[^，,。；;！!？?\n]{0,6}$")


def _shows(text: str, kind: str, dimension: str) -> bool:
    """A cue of this dimension that is not denied just before it (我没有建立什么制度 shows no method)."""
    return any(not _NEGATED.search(text, max(0, match.start() - 8), match.start())
               for match in itertools.islice(_cues(kind, dimension).finditer(text), 50))


# -- what people read ----------------------------------------------------------------------------
def item_line(found: ItemCoaching) -> str:
    """'1.1 卓越意识 · 自查约 30–45% · 还缺：学习、整合' — one line of the review."""
    title = f"{found.item.id} {found.item.title}"
    open_part = say("coach_item_open", count=found.unanswered) if found.unanswered else ""
    if not found.gaps:
        return say("coach_item_complete", item=title, band=found.band, open=open_part)
    labels = "、".join(say(f"coach_dim_{found.kind}_{d}") for d in found.gaps)
    return say("coach_item_gaps", item=title, band=found.band, gaps=labels, open=open_part)


def review_text(coached: list[ItemCoaching]) -> str | None:
    """The review's assessor summary, or None before anything is answered. Items not begun share one
    line at the end: on a phone, what to improve comes first."""
    if not any(found.answered for found in coached):
        return None
    gaps = {(found.kind, d) for found in coached if found.answered for d in found.gaps}
    legend = [say(f"coach_explain_{kind}_{d}") for kind, dims in (("process", PROCESS), ("result", RESULTS))
              for d in dims if (kind, d) in gaps]
    lines = [item_line(found) for found in coached if found.answered]
    untouched = [found.item.id for found in coached if not found.answered]
    if untouched:
        lines.append(say("coach_items_unanswered", items="、".join(untouched)))
    text = say("coach_review", lines="\n".join(lines))
    if legend:
        text += "\n" + say("coach_legend", lines="\n".join(legend))
    return text


def reminder_gap(coached: list[ItemCoaching], warnings: Mapping[str, list[EvidenceWarning]]) -> str:
    """The one gap worth most to close, for a reminder: '您的结果部分还有 3 题缺少与标杆的对比…'; '' if none."""
    counts: dict[str, int] = {}
    for found in warnings.values():
        for warning in found:
            counts[warning.code] = counts.get(warning.code, 0) + 1
    for item in coached:
        if item.kind == "process" and item.answered:
            for dimension in item.gaps:
                counts[dimension] = counts.get(dimension, 0) + 1
    ranked = [code for code in REMINDER_GAPS if counts.get(code)]
    if not ranked:
        return ""
    best = max(ranked, key=lambda code: (counts[code], -REMINDER_GAPS.index(code)))
    return say(f"coach_reminder_{best}", count=counts[best])
