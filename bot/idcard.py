"""身份证号 (GB 11643-1999): read one as typed, check it, and mask it for the office's screens.

An 18-character number: a 6-digit region, the birth date (YYYYMMDD), a 3-digit sequence whose
last digit is odd for men and even for women, and a check character (0-9 or X) computed from the
other 17. It must agree with the 申报表's 出生年月 and 性别 when those are filled in. It is kept
whole (the 申报书 needs it) and shown whole only to its owner and in the 申报书; the office's
screens show it masked.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECKS = "10X98765432"
KEY = "idcard"  # the 申报表 field that holds it (the criteria file's key)
BIRTH_KEY, GENDER_KEY = "birth", "gender"  # the fields it must agree with
AGREES = (BIRTH_KEY, GENDER_KEY)


@dataclass(frozen=True)
class IdCard:
    number: str  # 18 characters, X upper-case
    born: date
    gender: str  # 男 or 女


def parse(raw: str, today: date) -> IdCard | str:
    """The number, or what is wrong with it: 'old' (15 digits), 'format', 'birth' or 'check'."""
    text = "".join(unicodedata.normalize("NFKC", raw).split()).replace("-", "").upper()
    if len(text) == 15 and text.isdigit():
        return "old"
    if len(text) != 18 or not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        return "format"
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return "birth"
    if born > today or born.year < today.year - 120:
        return "birth"
    if CHECKS[sum(int(d) * w for d, w in zip(text, WEIGHTS, strict=False)) % 11] != text[17]:
        return "check"
    return IdCard(text, born, "男" if int(text[16]) % 2 else "女")


def disagreement(card: IdCard, profile: dict[str, str]) -> tuple[str, dict[str, str]] | None:
    """Where the number and the 申报表's 出生年月 or 性别 disagree ('birth' or 'gender'), and what each says."""
    birth = profile.get(BIRTH_KEY, "")
    if birth and birth != f"{card.born.year:04d}-{card.born.month:02d}":
        return "birth", {"card": f"{card.born.year}年{card.born.month}月", "birth": birth}
    gender = profile.get(GENDER_KEY, "")
    if gender and gender != card.gender:
        return "gender", {"card": card.gender, "gender": gender}
    return None


def masked(number: str) -> str:
    """As the office's screens show it: the region and the last four, the birth date hidden."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else "*" * len(number)
