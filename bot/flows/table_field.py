"""A 申报表 table (主要工作经历, 主要荣誉) in the conversation: one row a message, each row to change or
delete by its buttons. Pure: the interview stores what these functions return.

Buttons: tb:e:<key>:<n> rewrites row n (the mode becomes row:<n> until the next text), tb:d:<key>:<n>
deletes it, tb:x:<key> cancels a rewrite; 完成本项 is the 申报表's own keep:<key>.
"""

from __future__ import annotations

import re

from bot.criteria import ProfileField
from bot.flows import callbacks as cb
from bot.flows.events import Button, keyboard
from bot.flows.transitions import ROW
from bot.table_rows import parse_row, rows_of, stored
from bot.wording import say

_TIME = re.compile(r"^(\d{4})(?:\.(\d{2}))?")
MAX_ROWS = 20  # a table takes at most this many rows unless the criteria say otherwise


def rows(field: ProfileField, value: str | None) -> list[list[str]]:
    return rows_of(value or "", len(field.columns))


def listing(field: ProfileField, value: str | None) -> str:
    """The rows so far, numbered, cells apart: what the applicant checks."""
    found = rows(field, value)
    if not found:
        return say("table_empty")
    lines = [say("table_row", n=n, cells="｜".join(c or "—" for c in row)) for n, row in enumerate(found, 1)]
    return say("table_rows", count=len(found)) + "\n" + "\n".join(lines)


def prompt_extra(field: ProfileField, value: str | None, mode: str) -> str:
    """What the 申报表's prompt adds for a table: how to write a row, the rows so far, or the row being rewritten."""
    if mode.startswith(ROW):
        return say("table_rewrite_prompt", n=mode[len(ROW):], columns=" ".join(field.columns))
    return say("table_how", columns=" ".join(field.columns)) + "\n\n" + listing(field, value)


def buttons(field: ProfileField, value: str | None, mode: str, back: Button | None) -> tuple[tuple[Button, ...], ...]:
    if mode.startswith(ROW):
        return keyboard([Button(say("btn_cancel"), cb.encode(cb.TABLE, "x", field.key))])
    found = rows(field, value)
    lines = [[Button(say("btn_table_edit", n=n), cb.encode(cb.TABLE, "e", field.key, n)),
              Button(say("btn_table_delete", n=n), cb.encode(cb.TABLE, "d", field.key, n))]
             for n in range(1, len(found) + 1)]
    last = []
    if found:
        last.append(Button(say("btn_field_done"), cb.encode(cb.KEEP, field.key)))
    elif not field.required:
        last.append(Button(say("btn_skip_field"), cb.encode(cb.SKIP_FIELD, field.key)))
    if back is not None:
        last.append(back)
    return keyboard(*lines, last)


def add(field: ProfileField, value: str | None, line: str, mode: str) -> tuple[str, int, list[str]] | str:
    """The table with the typed line added (or put in place of the row being rewritten): the new
    value, the row's number and its cells; or why it was not taken: 'empty' or 'full'."""
    found = rows(field, value)
    cells = parse_row(line, len(field.columns))
    if not any(cells):
        return "empty"
    if mode.startswith(ROW) and mode[len(ROW):].isdecimal() and 1 <= int(mode[len(ROW):]) <= len(found):
        found[int(mode[len(ROW):]) - 1] = cells
    else:
        if len(found) >= (field.max_rows or MAX_ROWS):
            return "full"
        found.append(cells)
    # In time order, as the form asks (按时间顺序), whatever order they come to mind in; rows without a
    # time keep their place at the end.
    found.sort(key=_start)
    return stored(found), next(n for n, row in enumerate(found, 1) if row is cells), cells


def _start(row: list[str]) -> tuple[int, int]:
    match = _TIME.match(row[0]) if row else None
    return (int(match.group(1)), int(match.group(2) or 0)) if match else (10_000, 0)


def delete(field: ProfileField, value: str | None, n: int) -> tuple[str, list[str]] | None:
    """The table without row n (empty: '' so that a required table counts as not filled), and the row."""
    found = rows(field, value)
    if not 1 <= n <= len(found):
        return None
    gone = found.pop(n - 1)
    return (stored(found) if found else ""), gone
