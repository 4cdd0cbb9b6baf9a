"""申报表 values as people really type them on a phone: accepted in their many forms, refused clearly."""

from __future__ import annotations

from datetime import date

import pytest

from bot.validation import Invalid, clean_text, count_chars, validate_field


def field(criteria, key):
    return criteria.field(key)


@pytest.mark.parametrize(("key", "typed", "stored"), [
    ("phone", "13812345678", "13812345678"),
    ("phone", "138 1234 5678", "13812345678"),
    ("phone", "+86-138-1234-5678", "13812345678"),
    ("phone", "１３８１２３４５６７８", "13812345678"),
    ("email", "Zhang.San@Example.com", "Zhang.San@Example.com"),
    ("email", "zhangsan＠example.com", "zhangsan@example.com"),
    ("email", "zhangsan @ example.com", "zhangsan@example.com"),
    ("birth", "1985-06", "1985-06"),
    ("birth", "1985年6月", "1985-06"),
    ("birth", "1985.6", "1985-06"),
    ("birth", "198506", "1985-06"),
    ("birth", "１９８５/０６", "1985-06"),
    # Typed on a phone in Chinese mode: full-width digits, signs and letters read as their ASCII (NFKC).
    ("phone", "＋８６－１３８－１２３４－５６７８", "13812345678"),
    ("phone", "（８６）１３８ １２３４ ５６７８", "13812345678"),
    ("email", "ｚｈａｎｇｓａｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "zhangsan@example.com"),
    ("birth", "１９８５／０６", "1985-06"),
    ("birth", "１９８５．６", "1985-06"),
    ("years", "１２年", "12"),
    # Only the value being parsed is folded: a text keeps its full-width punctuation.
    ("name", "欧阳（娜娜），", "欧阳（娜娜），"),
    ("years", "12", "12"),
    ("years", "12年", "12"),
    ("gender", "女", "女"),
    ("name", "  欧阳  娜娜 ", "欧阳 娜娜"),
    ("summary", "2010—2015 甲公司\n2015至今 乙公司", "2010—2015 甲公司\n2015至今 乙公司"),
    ("experience", "2010—2015 甲公司 工程师\n2015至今 乙公司 经理",
     '[["2010—2015", "甲公司", "工程师"], ["2015—至今", "乙公司", "经理"]]'),
    ("idcard", "320703 19850612 101x", "32070319850612101X"),
])
def test_accepted_forms(criteria, key, typed, stored) -> None:
    assert validate_field(field(criteria, key), typed, today=date(2026, 11, 27)) == stored


@pytest.mark.parametrize(("key", "typed", "reason"), [
    ("phone", "1381234567", "invalid_phone"),
    ("phone", "23812345678", "invalid_phone"),
    ("phone", "我没有手机", "invalid_phone"),
    ("email", "zhangsan@", "invalid_email"),
    ("email", "zhangsan@example", "invalid_email"),
    ("email", "zhangsan@@example.com", "invalid_email"),
    ("birth", "85年", "invalid_year_month"),
    ("birth", "1985-13", "invalid_year_month"),
    ("birth", "2030-01", "invalid_year_month_range"),
    ("birth", "2026-12", "invalid_year_month_range"),
    ("birth", "1900-01", "invalid_year_month_range"),
    ("years", "十二", "invalid_integer"),
    ("years", "-3", "invalid_integer"),
    ("years", "61", "invalid_range"),
    ("gender", "男性", "invalid_choice"),
    ("name", "张" * 21, "invalid_too_long"),
    ("name", "   ", "invalid_empty"),
    ("name", "\x07\x00", "invalid_empty"),
])
def test_refused_forms_name_the_reason(criteria, key, typed, reason) -> None:
    result = validate_field(field(criteria, key), typed, today=date(2026, 11, 27))
    assert isinstance(result, Invalid) and result.key == reason


def test_cleaning_keeps_words_and_emoji_and_drops_control_characters() -> None:
    assert clean_text("甲\r\n乙\x0b丙\x00丁 🎉\t戊\u2028己") == "甲\n乙\n丙丁 🎉\t戊\n己"
    assert count_chars("质量 第一\n好") == 5


def test_counting_long_texts_keeps_none_of_them_in_memory() -> None:
    """Character counts are remembered for answers, but a pasted 60,000 characters, refused or
    not, must not stay in memory a thousand times over."""
    import gc
    import tracemalloc

    from bot.validation import count_chars

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(300):
            assert count_chars(f"{n:05d}" + "很长的粘贴 " * 10_000) == 5 + 50_000
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 5 * 2**20, f"{kept / 2**20:.0f} MB kept"
