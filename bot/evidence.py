"""Evidence checks: what a seasoned assessor would miss in a results answer.

Pure functions of (question, answer text, number of attachments). Which checks apply to
which question is data in the criteria file (`evidence:` per question); `empty` and
`too_short` apply to every question. The answer is read as an assessor reads it
(evidence_reading: its clauses, periods and figures; evidence_frames: the trend, the
comparisons and the claims in it), by the rules in tests/data/evidence_labelling.md, measured
by scripts/evidence_accuracy.py on labelled sets written by people who had not read this code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.criteria import Criteria, Question
from bot.evidence_figures import figures
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

# Shorter than this (non-space characters) is too short to show method or result.
MIN_CHARS = {"process": 80, "result": 60}

# A concrete example in a process answer: a figure, 三次, a named document (_quoted: 《…》 …).
_CN = "[零〇一二两三四五六七八九十百千万亿]"
_EXAMPLE = re.compile(rf"[0-9０-９]|(?<!{_CN}){_CN}++(?:次|项|个|名|人|年|月)")
_QUOTES = (("《", "》"), ("“", "”"), ("「", "」"))


@dataclass(frozen=True)
class EvidenceWarning:
    code: str
    message: str
    example: str


def has_figures(text: str) -> bool:
    return bool(figures(normalise(text)))


def periods(text: str) -> int:
    """For how many periods the same measure has a value: a trend from 3."""
    return trend_periods(Reading.of(normalise(text)))


def check(question: Question, text: str, attachments: int = 0) -> list[EvidenceWarning]:
    """Every evidence warning for this answer, most basic first."""
    stripped = text.strip()
    if not has_content(stripped):
        return [_warning("empty")]
    found: list[EvidenceWarning] = []
    if count_chars(stripped) < MIN_CHARS[question.kind]:
        found.append(_warning("too_short", min=MIN_CHARS[question.kind]))
    applies = set(question.evidence)
    if not applies:
        return found
    reading = Reading.of(normalise(stripped))
    if "missing_figures" in applies and not reading.figures:
        found.append(_warning("missing_figures"))
    if "missing_trend" in applies and trend_periods(reading) < 3:
        found.append(_warning("missing_trend"))
    if "missing_past_comparison" in applies and not compares_with_own_past(reading):
        found.append(_warning("missing_past_comparison"))
    if "missing_benchmark" in applies and not compares_with_benchmark(reading):
        found.append(_warning("missing_benchmark"))
    if "missing_attachment" in applies and attachments == 0 and claims_a_certificate(reading):
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
