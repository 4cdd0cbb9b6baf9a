"""Turn what an applicant typed into a clean value, or say precisely what is wrong with it."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from bot import idcard
from bot.criteria import ProfileField
from bot.table_rows import rows_of, stored

# Control characters break documents (docx drops text after them) and mean nothing to a reader.
# Newlines and tabs stay; a vertical tab or form feed is a line break someone pasted.
_LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\x0b": "\n", "\x0c": "\n", "\u2028": "\n", "\u2029": "\n",
                "\x85": "\n"}

# Direction overrides, embeddings and isolates make a name or a figure display reversed (U+202E
# before 芳王 shows 王芳 in the office's list), and direction marks, zero-width spaces, word joiners
# and BOMs show nothing: none has a place in a Chinese application. ZWJ and ZWNJ stay inside text,
# since emoji sequences and some scripts need them.
# The Hangul fillers U+3164 and U+FFA0 are the usual trick for a blank Telegram name.
_INVISIBLE = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u2060\ufeff\u00ad" \
    "\u3164\uffa0"

# Everything dropped, as one table for str.translate (C speed: this runs on every message).
_DROPPED = dict.fromkeys(
    [c for c in range(0x20) if chr(c) not in "\n\t"] + list(range(0x7F, 0xA0))  # Cc
    + list(range(0xD800, 0xE000))  # Cs: lone surrogates
    + [0xFFFE, 0xFFFF] + [ord(c) for c in _INVISIBLE]
)
_LINE_BREAK = re.compile("|".join(map(re.escape, _LINE_BREAKS)))


# Unicode's default-ignorable code points (they show nothing on their own: variation selectors,
# combining grapheme joiner, Hangul fillers, …) and the blank braille pattern U+2800.
_SHOWS_NOTHING = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]"
)


def _visible(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char) != "Cf" and not _SHOWS_NOTHING.match(char)


def clean_text(text: str) -> str:
    """Normalise line breaks, drop control and invisible characters, trim outer whitespace; emoji stay.

    Text with nothing visible in it (only spaces and format characters) comes back empty, so an
    invisible message never counts as an answer or a filled-in field.
    """
    text = _LINE_BREAK.sub("\n", text).translate(_DROPPED).strip()
    return text if any(map(_visible, text)) else ""


def count_chars(text: str) -> int:
    """字数 as Chinese offices count it: every character except whitespace.

    An answer's count is remembered: the report's total is counted on every answer, over answers
    that mostly did not change (the same strings, kept in memory by Storage, whose hash Python
    keeps too). A longer text is counted afresh, so that memory holds 4 million characters at most.
    """
    return _count_remembered(text) if len(text) <= REMEMBERED_CHARS else _count(text)


REMEMBERED_CHARS = 4000


@functools.lru_cache(maxsize=1000)
def _count_remembered(text: str) -> int:
    return _count(text)


def _count(text: str) -> int:
    # str.split() cuts at exactly what isspace() calls whitespace, in C: a whole report of 30,000
    # characters in 0.1 ms, against 2 ms counting character by character.
    return sum(map(len, text.split()))


@dataclass(frozen=True)
class Invalid:
    """Why a value was refused: a wording key and its parameters."""

    key: str
    params: Mapping[str, object]


_PHONE = re.compile(r"^1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
_YEAR_MONTH = re.compile(r"^(\d{4})\s*(?:[-./年]\s*)(\d{1,2})\s*月?$")
_YEAR_MONTH_COMPACT = re.compile(r"^(\d{4})(\d{2})$")


def _halfwidth(value: str) -> str:
    """A phone number, e-mail address, year or number as typed on a phone in Chinese mode: full-width
    digits and ＋－．＠（）／ as ASCII (NFKC). Only ever the one value being parsed: NFKC also turns ，；：
    into ASCII, which the text of an answer must keep."""
    return unicodedata.normalize("NFKC", value)


def validate_field(field: ProfileField, raw: str, *, today: date,
                   profile: Mapping[str, str] | None = None) -> str | Invalid:
    """The stored form of a profile value, or why it cannot be accepted. `profile`: the 申报表 so far,
    for what must agree with other fields (a 身份证号 with 出生年月 and 性别)."""
    value = _validate(field, raw, today)
    if isinstance(value, Invalid) or not profile:
        return value
    if field.type == "idcard":
        number = value
    elif field.key in idcard.AGREES:
        number = profile.get(idcard.KEY, "")
    else:
        return value
    card = idcard.parse(number, today) if number else None
    found = idcard.disagreement(card, {**profile, field.key: value}) if isinstance(card, idcard.IdCard) else None
    if found is None:
        return value
    where, said = found
    return Invalid("invalid_idcard_vs_birth", said) if where == "birth" else Invalid("invalid_idcard_vs_gender", said)


def _validate(field: ProfileField, raw: str, today: date) -> str | Invalid:
    value = clean_text(raw)
    label = field.label
    if not value:
        return Invalid("invalid_empty", {"label": label})
    if field.type == "photo":
        return Invalid("invalid_photo_text", {})
    if field.type == "table":
        # Lines as typed (an answers file, a paste), or the rows as stored: each line a row.
        rows = rows_of(value, len(field.columns))
        return stored(rows) if rows else Invalid("invalid_empty", {"label": label})
    if field.type != "longtext":
        value = " ".join(value.split())
    if field.max_length and count_chars(value) > field.max_length:
        return Invalid("invalid_too_long", {"label": label, "max": field.max_length, "count": count_chars(value)})
    if field.type == "choice":
        if value in field.choices:
            return value
        return Invalid("invalid_choice", {"label": label, "choices": "、".join(field.choices)})
    if field.type == "phone":
        digits = re.sub(r"[\s\-()]", "", _halfwidth(value))
        digits = re.sub(r"^(\+?86)", "", digits)
        if _PHONE.match(digits):
            return digits
        return Invalid("invalid_phone", {})
    if field.type == "email":
        address = _halfwidth(value).replace(" ", "")
        if _EMAIL.match(address) and ".." not in address:
            return address
        return Invalid("invalid_email", {})
    if field.type == "year_month":
        text = _halfwidth(value)
        match = _YEAR_MONTH.match(text) or _YEAR_MONTH_COMPACT.match(text)
        if match and 1 <= int(match.group(2)) <= 12:
            year, month = int(match.group(1)), int(match.group(2))
            # A year-month in the future or a century back is a typo, not a date to store.
            if (year, month) > (today.year, today.month) or year < today.year - 100:
                return Invalid("invalid_year_month_range", {"label": label})
            return f"{year:04d}-{month:02d}"
        return Invalid("invalid_year_month", {"label": label})
    if field.type == "idcard":
        card = idcard.parse(value, today)
        if isinstance(card, idcard.IdCard):
            return card.number
        return {"old": Invalid("invalid_idcard_old", {}), "birth": Invalid("invalid_idcard_birth", {}),
                "check": Invalid("invalid_idcard_check", {})}.get(card, Invalid("invalid_idcard_format", {}))
    if field.type == "integer":
        text = _halfwidth(value).removesuffix("年").strip()
        if not re.fullmatch(r"\d{1,4}", text):
            return Invalid("invalid_integer", {"label": label})
        number = int(text)
        low = field.min if field.min is not None else 0
        high = field.max if field.max is not None else 9999
        if not low <= number <= high:
            return Invalid("invalid_range", {"label": label, "min": low, "max": high})
        return str(number)
    return value
