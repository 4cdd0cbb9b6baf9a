"""Files people write by hand, checked with pydantic: the criteria file (YAML) and an answers file (JSON).

One strict model base for them, and one translation of pydantic's findings into the words of
someone editing the file; where the two notations write a thing differently (a mapping, a list, a
text), each gets its own words.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails


class Strict(BaseModel):
    """A part of a hand-written file: unknown keys are mistakes, and nothing changes once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


NonEmpty = Annotated[str, Field(min_length=1)]

Notation = Literal["yaml", "json"]

# How each notation writes a mapping, a list and a text ({given!r}: the value found instead).
_SHAPES: dict[Notation, dict[str, str]] = {
    "yaml": {"mapping": "应为映射（key: value）", "list": "应为列表（- 开头的若干项）",
             "text": "应为文本，实际是 {given!r}"},
    "json": {"mapping": "应为 JSON 对象 {{…}}", "list": "应为列表 […]", "text": "应为文字（加引号的字符串）"},
}
_DATE = "日期应写成 YYYY-MM-DD，例如 2026-11-20"
UNKNOWN_KEY = "不认识的键（拼写错误？）"


def problem_words(error: ErrorDetails, notation: Notation, *, unknown_key: str = UNKNOWN_KEY) -> str:
    """pydantic's finding in the words of someone editing the file; `unknown_key` may name the keys a
    file can have."""
    kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "value_error":  # a model's own check: its message is already written for the reader
        return str(error["msg"]).removeprefix("Value error, ")
    shape = {name: words.format(given=given) for name, words in _SHAPES[notation].items()}
    known = {
        "missing": "缺少必填项",
        "extra_forbidden": unknown_key,
        "literal_error": f"应为 {ctx.get('expected')} 之一，实际是 {given!r}",
        "string_pattern_mismatch": f"格式不对：{given!r} 不符合 {ctx.get('pattern')}",
        "string_too_short": "不能为空",
        "too_short": "不能为空",
        "string_type": shape["text"],
        "int_parsing": f"应为整数，实际是 {given!r}",
        "int_type": f"应为整数，实际是 {given!r}",
        "bool_parsing": f"应为 true 或 false，实际是 {given!r}",
        "bool_type": f"应为 true 或 false，实际是 {given!r}",
        "list_type": shape["list"],
        "model_type": shape["mapping"],
        "dict_type": shape["mapping"],
        "greater_than": f"应大于 {ctx.get('gt')}",
        "greater_than_equal": f"应不小于 {ctx.get('ge')}",
        "date_from_datetime_parsing": _DATE,
        "date_parsing": _DATE,
        "date_type": _DATE,
    }
    return known.get(kind, str(error["msg"]))
