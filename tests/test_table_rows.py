"""A 申报表 table row as people type it (主要工作经历, 主要荣誉), into its columns."""

from __future__ import annotations

import pytest

from bot.table_rows import as_text, parse_row, rows_of, stored


@pytest.mark.parametrize(("typed", "cells"), [
    ("2011.7-2015.12 连云港瀚海精密机械有限公司 质量工程师",
     ["2011.07—2015.12", "连云港瀚海精密机械有限公司", "质量工程师"]),
    ("2014.01至今 某某精密机械 质量部经理", ["2014.01—至今", "某某精密机械", "质量部经理"]),
    ("2016.03-至今，某某公司，部长", ["2016.03—至今", "某某公司", "部长"]),
    ("2011年7月—2015年12月 连云港 瀚海精密机械有限公司 质量工程师",
     ["2011.07—2015.12", "连云港 瀚海精密机械有限公司", "质量工程师"]),  # a unit with a space stays whole
    ("2008.07—2013.12某某机械 检验员", ["2008.07—2013.12", "某某机械", "检验员"]),
    ("２０１９．０５　江苏省五一劳动奖章　江苏省总工会", ["2019.05", "江苏省五一劳动奖章", "江苏省总工会"]),
    ("某某机械 检验员", ["", "某某机械", "检验员"]),  # no time given: the time column stays empty
])
def test_a_typed_line_falls_into_its_columns(typed: str, cells: list[str]) -> None:
    assert parse_row(typed, 3) == cells


def test_an_answer_from_before_the_table_is_read_line_by_line() -> None:
    old = "2008.07—2013.12 某某机械 检验员\n\n2014.01至今 某某精密机械 质量部经理"
    rows = rows_of(old, 3)
    assert rows == [["2008.07—2013.12", "某某机械", "检验员"], ["2014.01—至今", "某某精密机械", "质量部经理"]]
    assert rows_of(stored(rows), 3) == rows
    assert as_text(rows) == "2008.07—2013.12  某某机械  检验员\n2014.01—至今  某某精密机械  质量部经理"
    assert rows_of("", 3) == []
