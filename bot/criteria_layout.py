"""How a criteria file lays out the 申报书 around the answers: the cover's lines, the opinion pages,
and the 申报表 (一、申报表) as a grid. A file that leaves any of them out gets a default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, model_validator

from bot.file_schema import NonEmpty, Strict
from bot.wording import say

if TYPE_CHECKING:
    from bot.criteria import ProfileField


class CoverLine(Strict):
    """A line under the cover's title: a label and what it shows."""

    label: NonEmpty
    # A profile key, `date` for the 申报日期 or `year` for the 申报年度; without it the line stays
    # blank, to be filled in by hand.
    field: str | None = None


class Cover(Strict):
    number: str = ""  # the label of the office's 编号 box at the top right; empty: no box
    lines: Annotated[list[CoverLine], Field(min_length=1, max_length=8)]


class Opinion(Strict):
    """One opinion page: a box for whoever signs and stamps it (所在单位, 推荐单位, 评审委员会…)."""

    title: NonEmpty
    note: str = ""  # printed in brackets at the top of the box
    signature: str = ""  # e.g. 负责人（签字）; empty: no signature line
    seal: str = ""  # e.g. 单位（盖章）; empty: no seal line


class FormCell(Strict):
    """A profile field in the 申报表's grid: its label cell and its value cell, `span` pairs wide."""

    field: NonEmpty
    span: int = Field(default=1, ge=1)


class Form(Strict):
    """The 申报表 as a grid (rows of label/value pairs), a photo box, tables and boxes of long text.

    Each row has `columns` pairs (a label cell and a value cell); a cell of span 2 takes two pairs'
    room: one label, a value as wide as the rest. A row with less than `columns` pairs stretches its
    last value to the end. The photo box sits at the right of the first `photo_rows` rows; rows below
    it reach across. `tables` are the table fields, each a sub-table with its columns as header;
    `boxes` the long texts, each a box of its own.
    """

    columns: int = Field(default=3, ge=1, le=4)
    photo: str | None = None
    photo_rows: int = Field(default=4, ge=1, le=8)
    rows: list[Annotated[list[NonEmpty | FormCell], Field(min_length=1)]] = Field(default_factory=list)
    tables: list[NonEmpty] = Field(default_factory=list)
    boxes: list[NonEmpty] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rows_fit_the_grid(self) -> Form:
        for n, row in enumerate(self.rows, start=1):
            width = sum(cell_span(cell) for cell in row)
            if width > self.columns:
                raise ValueError(f"第 {n} 行（rows[{n - 1}]）占 {width} 格，超出每行 {self.columns} 格"
                                 "（columns）；span 是这一项占几组「标签＋内容」")
        return self

    def keys(self) -> list[str]:
        """Every field the form names, in reading order."""
        return ([self.photo] if self.photo else []) + [cell_key(c) for row in self.rows for c in row] \
            + list(self.tables) + list(self.boxes)


def cell_key(cell: str | FormCell) -> str:
    return cell if isinstance(cell, str) else cell.field


def cell_span(cell: str | FormCell) -> int:
    return 1 if isinstance(cell, str) else cell.span


# Fields that sit in the grid's value cells (not a photo, a table or a long text box).
GRID_TYPES = frozenset({"text", "choice", "year_month", "integer", "phone", "email", "idcard"})


def complete_form(form: Form | None, profile: list[ProfileField]) -> Form:
    """The form as printed: the criteria file's, or a default of two pairs a row with the photo box,
    the tables and the long texts; a field the file's form leaves out is added at the end of its kind,
    so nothing the applicant filled in is missing from the 申报书."""
    if form is None:
        form = Form(columns=2, rows=[])
    placed = set(form.keys())
    missing = [f for f in profile if f.key not in placed]
    photo = form.photo or next((f.key for f in missing if f.type == "photo"), None)
    grid: list[str | FormCell] = [f.key for f in missing if f.type in GRID_TYPES]
    rows = list(form.rows)
    # Grid fields the form leaves out: `columns` a row; tables and long texts after the form's own.
    rows += [grid[n:n + form.columns] for n in range(0, len(grid), form.columns)]
    tables = list(form.tables) + [f.key for f in missing if f.type == "table"]
    boxes = list(form.boxes) + [f.key for f in missing if f.type == "longtext"]
    return form.model_copy(update={
        "photo": photo, "rows": rows, "tables": tables, "boxes": boxes,
        "photo_rows": max(1, min(form.photo_rows, len(rows))) if rows else 1,
    })


COVER_DATE = "date"  # a cover line showing the 申报日期
COVER_YEAR = "year"  # a cover line showing the 申报年度


def default_cover() -> Cover:
    """The cover of a criteria file that does not describe one (files written before #15)."""
    return Cover(number=say("doc_cover_number"), lines=[
        CoverLine(label=say("doc_cover_applicant"), field="name"),
        CoverLine(label=say("doc_cover_unit"), field="unit"),
        CoverLine(label=say("doc_cover_recommender")),
        CoverLine(label=say("doc_cover_date"), field=COVER_DATE),
    ])


def default_opinions() -> list[Opinion]:
    """The opinion pages of a criteria file that names none (files written before #15)."""
    return [
        Opinion(title=say("doc_opinion_unit"), note=say("doc_opinion_unit_note"),
                signature=say("doc_opinion_signature"), seal=say("doc_opinion_unit_seal")),
        Opinion(title=say("doc_opinion_recommender"), note=say("doc_opinion_recommender_note"),
                signature=say("doc_opinion_signature"), seal=say("doc_opinion_recommender_seal")),
        Opinion(title=say("doc_opinion_committee"), note=say("doc_opinion_committee_note"),
                signature=say("doc_opinion_committee_signature"), seal=say("doc_opinion_committee_seal")),
    ]

