"""Applicant text as the 申报书 prints it: answers as cleaned lines with break opportunities, short
values on one line, file names that break only where a reader expects, names fit for a file name."""

from __future__ import annotations

import re

from bot.typeset import breakable
from bot.validation import clean_text


def lines_of(text: str | None) -> list[str]:
    """An answer's paragraphs: cleaned (no bidi overrides: they print a line backwards), each line
    stripped, blank lines dropped."""
    cleaned = clean_text(text or "")
    # Long runs (figures, URLs, full-width Latin) get break opportunities instead of stretching a line.
    return [breakable(line.strip()) for line in cleaned.split("\n") if line.strip()]


def one_line(text: str | None) -> str:
    """A short value on one line (a name, a unit, a file name): no break opportunities are added, so
    nothing invisible reaches a file name."""
    return " ".join(line.strip() for line in clean_text(text or "").split("\n") if line.strip())


def file_label(name: str) -> str:
    """A file name for the list: it may break at a space or between Chinese characters, never at a
    hyphen ("fpy-chart-2021-/2025.png"): those become non-breaking hyphens (U+2011)."""
    return one_line(name).replace("-", "\u2011")


def safe_file_part(text: str) -> str:
    """A name fit for a file name on Windows, macOS and Linux (for 申报书_<姓名>.docx)."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", one_line(text)).strip("._")[:40]
