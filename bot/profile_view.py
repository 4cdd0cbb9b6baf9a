"""A 申报表 value as a person reads it: a table as lines, a 身份证号 masked for the office."""

from __future__ import annotations

from bot import idcard
from bot.criteria import ProfileField
from bot.table_rows import as_text, rows_of
from bot.wording import say


def shown(field: ProfileField, value: str, *, office: bool) -> str:
    """`office`: for the award office's screens, where a 身份证号 is masked; its owner sees it whole."""
    if not value:
        return value
    if field.type == "table":
        rows = rows_of(value, len(field.columns))
        return "\n".join(f"{n}. {as_text([row])}" for n, row in enumerate(rows, 1))  # numbered as in the chat
    if field.type == "photo":
        return say("photo_on_file")
    if field.type == "idcard" and office:
        return idcard.masked(value)
    return value
