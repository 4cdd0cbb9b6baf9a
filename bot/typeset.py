"""Typesetting help for applicant text in the 申报书: break opportunities inside long runs.

Word, WPS and LibreOffice break Chinese text between any two characters, but a run of digits,
percentages, Latin letters, a URL or full-width Latin (ＡＢＣ１２３) is one unbreakable piece to
them: "95.2%、96.8%、98.1%、99.0%，" moves to the next line whole and the justified line before
it is stretched until its characters stand apart ("2021—2024 年 我 负 责 …").

`breakable` inserts U+200B ZERO WIDTH SPACE, which all three honour as a break opportunity and
print as nothing, at the places a reader would accept a line break: after 、，；, after the / . - _
of a URL or file name, and every few characters of a long token that has none. Short runs
(a figure such as 99.0%, a year range, a product code) are left exactly as written, and a break
never falls inside a number.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"

# Runs: everything that is neither Chinese/Japanese/Korean script (breakable between any two
# characters already) nor white space, nor an existing break opportunity.
_RUN = re.compile(
    "[^\\s\u200b\u2e80-\u2fff\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]+"
)

RUN_LIMIT = 16  # a run at most this wide (in half-width columns) is left as written
LONG_TOKEN = 24  # a word or number up to this wide is never cut inside
CHUNK = 10  # at most this many columns (five Chinese characters) between two break opportunities

# After these a clause ends: a break is natural (、，；：。！？ and their ASCII forms).
_CLAUSE_END = frozenset("、，；：。！？;")
# A URL, a path or a file name breaks after these.
_JOINERS = frozenset("/-_.?&=#~+|\\—–")
# Never at the start of a line (closing brackets and punctuation that belongs to what precedes).
_NO_START = frozenset("）】」』》〉〕］｝)]}>、，；：。！？,.;:!?%％‰")
_NUMBER = frozenset("0123456789.,%％‰０１２３４５６７８９．，")


def _width(char: str) -> int:
    # Full-width forms, CJK punctuation and other wide characters take two columns.
    code = ord(char)
    return 2 if code >= 0x1100 and (0x2e80 <= code <= 0xa4cf or 0xfe30 <= code <= 0xfe4f
                                    or 0xff00 <= code <= 0xff60 or 0xffe0 <= code <= 0xffe6
                                    or 0x2014 <= code <= 0x2026 or 0x3000 <= code <= 0x303f) else 1


def _natural_break(run: str, i: int) -> bool:
    """Whether a break before run[i] is one a reader accepts (i > 0)."""
    before, after = run[i - 1], run[i]
    if after in _NO_START or after == before:
        return False
    if before in _CLAUSE_END:
        return True
    if before == ",":  # 1,234,567 is one number
        return not after.isdigit()
    if before in _JOINERS:
        if i == 1:  # a leading sign or slash stays with what follows
            return False
        if before == "." and run[i - 2].isdigit() and after.isdigit():
            return False  # 99.0, 1.2.3
        return True
    return False


_NO_END = frozenset("（【「『《〈〔［｛([{<“‘")


def _safe(run: str, i: int) -> bool:
    """Whether a forced break before run[i] splits no number, no word and no bracket from its text."""
    before, after = run[i - 1], run[i]
    if before in _NUMBER and after in _NUMBER:
        return False
    if before.isalnum() and after.isalnum() and before.isascii() == after.isascii():
        return False  # inside a word, or between two full-width letters of one code
    return after not in _NO_START and before not in _NO_END


def _split_segment(run: str, start: int, end: int, widths: list[int], breaks: list[int]) -> None:
    """Break run[start:end] (no natural opportunity inside) into pieces of at most CHUNK columns,
    at safe places; a piece with no safe place is cut hard only when wider than LONG_TOKEN."""
    piece, width, safe = start, 0, 0
    for i in range(start, end):
        if i > piece and width + widths[i] > CHUNK:
            if safe > piece:
                breaks.append(safe)
                width = sum(widths[safe:i])
                piece, safe = safe, 0
            elif width + widths[i] > LONG_TOKEN:
                breaks.append(i)
                piece, width, safe = i, 0, 0
        if i > piece and _safe(run, i):
            safe = i
        width += widths[i]


def _break_run(run: str) -> str:
    widths = [_width(c) for c in run]
    if sum(widths) <= RUN_LIMIT:
        return run
    breaks: list[int] = []  # positions i: a ZWSP goes before run[i]
    segment = 0
    for i in range(1, len(run)):
        if _natural_break(run, i):
            _split_segment(run, segment, i, widths, breaks)
            breaks.append(i)
            segment = i
    _split_segment(run, segment, len(run), widths, breaks)
    if not breaks:
        return run
    parts, start = [], 0
    for i in breaks:
        parts.append(run[start:i])
        start = i
    parts.append(run[start:])
    return ZWSP.join(parts)


def breakable(text: str) -> str:
    """`text` with ZERO WIDTH SPACEs where a long unbreakable run may be broken across lines.

    Visible text is unchanged; short runs are untouched; applying it twice changes nothing more;
    time is linear in the length of the text.
    """
    if not text or (text.isascii() and len(text) <= RUN_LIMIT):
        return text
    return _RUN.sub(lambda match: _break_run(match.group()), text)
