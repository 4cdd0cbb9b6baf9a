"""身份证号 in the 申报表: checked as GB 11643 defines it, agreeing with 出生年月 and 性别, masked on
the office's screens and whole only to its owner and in the 申报书."""

from __future__ import annotations

from datetime import date

import pytest

from bot import idcard

TODAY = date(2026, 11, 28)
# GB 11643's own example (a woman born 1949-12-31), and a man's number made with the same rule.
WOMAN = "11010519491231002X"


def with_check(first17: str) -> str:
    return first17 + idcard.CHECKS[sum(int(d) * w for d, w in zip(first17, idcard.WEIGHTS, strict=True)) % 11]


MAN = with_check("32070319850612101")  # 17th digit 1: odd, a man


def test_a_number_as_people_type_it_is_read_and_kept_in_one_form() -> None:
    card = idcard.parse("110105 19491231 002x", TODAY)
    assert isinstance(card, idcard.IdCard)
    assert (card.number, card.born, card.gender) == (WOMAN, date(1949, 12, 31), "女")
    assert idcard.parse("１１０１０５１９４９１２３１００２Ｘ", TODAY) == card  # typed full-width on a phone
    man = idcard.parse(MAN, TODAY)
    assert isinstance(man, idcard.IdCard) and man.gender == "男" and man.born == date(1985, 6, 12)


@pytest.mark.parametrize(("typed", "why"), [
    ("11010519491231002", "format"),  # one short
    ("1101051949123100ZX", "format"),
    ("110105491231002", "old"),  # the old 15-digit number
    (with_check("11010519491331002"), "birth"),  # month 13
    (with_check("11010520301231002"), "birth"),  # born in the future
    ("110105194912310021", "check"),  # a slip in the last character
    ("110105194912310120", "check"),  # two digits swapped
])
def test_a_wrong_number_is_refused_with_what_is_wrong(typed: str, why: str) -> None:
    assert idcard.parse(typed, TODAY) == why


def test_it_must_agree_with_birth_and_gender() -> None:
    card = idcard.parse(WOMAN, TODAY)
    assert isinstance(card, idcard.IdCard)
    assert idcard.disagreement(card, {"birth": "1949-12", "gender": "女"}) is None
    assert idcard.disagreement(card, {}) is None  # nothing to compare with yet
    assert idcard.disagreement(card, {"birth": "1950-01"}) == ("birth", {"card": "1949年12月", "birth": "1950-01"})
    assert idcard.disagreement(card, {"gender": "男"}) == ("gender", {"card": "女", "gender": "男"})


def test_the_office_sees_it_masked() -> None:
    assert idcard.masked(WOMAN) == "110105********002X"
    assert "19491231" not in idcard.masked(WOMAN)
