"""Rows of a 申报表 table (主要工作经历, 主要荣誉): one line as people type it, into its columns.

"2011.7-2015.12 连云港瀚海精密机械有限公司 质量工程师" becomes
["2011.07—2015.12", "连云港瀚海精密机械有限公司", "质量工程师"]: a leading date or range is the first
column (written one way: YYYY.MM, an em dash, 至今), the last word the last column, and what is
between the middle. A table's value is stored as JSON; text stored before the field was a table
(a longtext 主要工作经历) is read line by line into rows, so old applications keep their answers.
"""

from __future__ import annotations

import json
import re
import unicodedata

_PART = r"(\d{4})\s*(?:[.\-/年]\s*(\d{1,2})\s*月?)?"
_DATE = re.compile(rf"^\s*{_PART}(?:\s*(?:—|–|-|~|～|至|到)+\s*(?:{_PART}|(至今|今)))?\s*(至今)?")
_SPLIT = re.compile(r"[\s\u3000]+|[，,；;|]")


def _when(year: str, month: str | None) -> str:
    return f"{year}.{int(month):02d}" if month and 1 <= int(month) <= 12 else year


def parse_row(line: str, columns: int, *, dated: bool = True) -> list[str]:
    """One typed line as `columns` cells; cells not given are empty. `dated`: the first column is a
    time (起止年月, 时间), left empty when the line starts without one."""
    text = " ".join(unicodedata.normalize("NFKC", line).split())
    cells: list[str] = []
    match = _DATE.match(text) if columns > 1 else None
    if match and match.group(0).strip():
        start = _when(match.group(1), match.group(2))
        if match.group(3):
            cells.append(f"{start}—{_when(match.group(3), match.group(4))}")
        elif match.group(5) or match.group(6):
            cells.append(f"{start}—至今")
        else:
            cells.append(start)
        text = text[match.end():]
    elif dated and columns > 1:
        cells.append("")
    words = [w for w in _SPLIT.split(text) if w]
    room = columns - len(cells)
    if room <= 0:
        return cells[:columns]
    if len(words) > room:
        # Extra words belong to the middle column (a unit's name may have spaces): the last stays last.
        words = [*words[:room - 2], " ".join(words[room - 2:-1]), words[-1]] if room >= 2 else [" ".join(words)]
    return cells + words + [""] * (room - len(words))


def rows_of(value: str, columns: int, *, dated: bool = True) -> list[list[str]]:
    """A stored table value as rows; text from before the field was a table, one row a line."""
    if not value:
        return []
    try:
        rows = json.loads(value)
    except ValueError:
        rows = None
    if isinstance(rows, list) and all(isinstance(r, list) for r in rows):
        return [[str(c) for c in r][:columns] + [""] * (columns - len(r)) for r in rows]
    return [parse_row(line, columns, dated=dated) for line in value.splitlines() if line.strip()]


def stored(rows: list[list[str]]) -> str:
    return json.dumps(rows, ensure_ascii=False)


def as_text(rows: list[list[str]]) -> str:
    """One line a row, cells apart: how a table reads where there is no grid (a chat, the office's page)."""
    return "\n".join("  ".join(c for c in row if c) for row in rows)
