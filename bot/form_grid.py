"""The 申报表 (一、申报表) of the 申报书: laid out as one grid from the criteria file's form, then built as
a Word table that the template prints where `{{p form }}` stands.

The grid spans the text block (156 mm): label and value cells, the photo box at the right of the first
rows (a 1-inch photo's 25 × 33 mm in a 30 mm column), a sub-table per table field, a box per long text.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_ALIGN_VERTICAL, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm
from docxtpl import DocxTemplate
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no stubs

from bot.criteria import ProfileField
from bot.criteria_layout import Form, cell_key, cell_span
from bot.document_text import lines_of, one_line
from bot.table_rows import rows_of
from bot.wording import say

# The grid across the text block; the photo column at its right.
FORM_WIDTH_MM = 156.0
PHOTO_COLUMN_MM = 30.0
PHOTO_MM = (25.0, 100.0 / 3)  # 3:4
FORM_ROW_MM = 9.0  # a grid row beside the photo, at least (four of them hold it)
GRID_ROW_MM = 8.0  # a grid row below the photo
TABLE_ROW_MM = 7.5  # a row of a sub-table (经历, 荣誉), at least
TABLE_MIN_ROWS = 3  # a sub-table always has room to write in by hand
BOX_MIN_MM = 30.0  # a long text's box, at least
# Styles of the grid in the template (scripts/build_template.py); a template without them gets 表格文字.
FORM_STYLES = {"label": "申报表标签", "value": "申报表内容", "header": "申报表标签", "photo": "申报表照片"}

# A cell as form_grid lays it out: kind, lines, left and right edge (mm), rows down, where, GridCell's extra fields.
_Cell = tuple[str, list[str], float, float, int, str, dict[str, Any]]


@dataclass(frozen=True)
class GridCell:
    """One cell of the 申报表's grid: where it starts (a grid column), how many columns and rows it covers."""

    kind: str  # label, value, header (a sub-table's column), photo
    lines: list[str]
    start: int
    span: int
    rows: int = 1  # rows it covers downwards (the photo box, a sub-table's label)
    where: str = ""  # a value's field label (for verify); empty for labels and headers
    photo: Path | None = None  # the photo box's image; None: the words 照片（一寸或二寸）
    photo_mm: tuple[float, float] | None = None


@dataclass(frozen=True)
class GridRow:
    cells: list[GridCell]
    height_mm: float
    keep: bool = True  # the row does not break across pages (a long text's box may)


@dataclass(frozen=True)
class FormGrid:
    """The 申报表 as one table: column widths and rows of cells (the template shows it as `{{p form }}`)."""

    widths_mm: list[float]
    rows: list[GridRow]

    @property
    def images(self) -> int:
        return sum(1 for row in self.rows for cell in row.cells if cell.photo is not None)

    def without_photo(self) -> FormGrid:
        return FormGrid(self.widths_mm, [replace(row, cells=[replace(c, photo=None, photo_mm=None) for c in row.cells])
                                         for row in self.rows])

    def values(self) -> list[tuple[str, str]]:
        """Every value line with its field's label, in reading order (a cell's lines, left to right)."""
        return [(cell.where, line) for row in self.rows for cell in row.cells if cell.where for line in cell.lines]


def _columns(text: str) -> int:
    """How wide a text prints, in half-width columns (a Chinese character two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _snap(targets: list[float], bounds: list[float], low: float, high: float) -> list[float]:
    """Column boundaries of a sub-table, moved onto the grid's own where one is near (fewer slivers)."""
    placed: list[float] = []
    for target in targets:
        after = placed[-1] if placed else low
        near = [b for b in bounds if after + 8 <= b <= high - 8 and abs(b - target) <= 10]
        placed.append(min(near, key=lambda b: abs(b - target)) if near else round(target, 1))
    return placed


def form_grid(form: Form, fields: dict[str, ProfileField], profile: dict[str, str], *,
              photo_size: tuple[float, float] | None = None) -> FormGrid:
    """The 申报表 laid out from the criteria file's form: label/value pairs in rows, the photo box at the
    right of the first rows, each table field a sub-table (its columns as header, a row per entry, at
    least TABLE_MIN_ROWS), each long text a box. Values are printed whole (the 身份证号 too)."""
    photo_field = fields.get(form.photo) if form.photo else None
    right = FORM_WIDTH_MM - (PHOTO_COLUMN_MM if photo_field else 0.0)
    pair = right / form.columns
    label = round(min(24.0, pair * 0.46), 1)
    # x positions: the pairs' label and value edges, the photo column's edge, the right edge.
    edges = sorted({round(n * pair + d, 1) for n in range(form.columns) for d in (0.0, label)}
                   | {round(right, 1), FORM_WIDTH_MM})

    def value_lines(field: ProfileField) -> list[str]:
        text = profile.get(field.key)
        if field.type == "year_month" and text:
            text = text.replace("-", ".")  # 1984.09, as the forms (and the tables' 起止年月) write it
        lines = lines_of(text) if field.type == "longtext" else [v for v in [one_line(text)] if v]
        return lines or ([say("empty_value")] if field.required else [])

    rows: list[tuple[float, bool, list[_Cell]]] = []
    for r, row in enumerate(form.rows):
        beside_photo = photo_field is not None and r < form.photo_rows
        end = right if beside_photo else FORM_WIDTH_MM
        x = 0.0
        cells: list[_Cell] = []
        for n, cell in enumerate(row):
            field = fields[cell_key(cell)]
            x1 = end if n == len(row) - 1 else round(x + cell_span(cell) * pair, 1)
            cells.append(("label", [field.label], x, round(x + label, 1), 1, "", {}))
            cells.append(("value", value_lines(field), round(x + label, 1), x1, 1, field.label, {}))
            x = x1
        if r == 0 and photo_field is not None:
            path = Path(profile.get(photo_field.key) or "")
            shown = photo_size is not None and bool(profile.get(photo_field.key))
            words = [photo_field.label, say("doc_form_photo_size")]  # printed when there is no photo
            cells.append(("photo", words, right, FORM_WIDTH_MM, min(form.photo_rows, len(form.rows)), "",
                          {"photo": path if shown else None, "photo_mm": PHOTO_MM if shown else None}))
        rows.append((FORM_ROW_MM if beside_photo else GRID_ROW_MM, True, cells))
    for key in form.tables:
        field = fields[key]
        entries = rows_of(profile.get(key) or "", len(field.columns))
        count = max(len(entries), TABLE_MIN_ROWS)
        # Columns as wide as their longest entry (or header) asks, moved onto the grid's edges where near.
        weights = [max(6, _columns(name), *(_columns(row[c]) for row in entries))
                   for c, name in enumerate(field.columns)]
        total = sum(weights)
        targets, x = [], label
        for weight in weights[:-1]:
            x += (FORM_WIDTH_MM - label) * weight / total
            targets.append(x)
        bounds = [label, *_snap(targets, edges, label, FORM_WIDTH_MM), FORM_WIDTH_MM]
        header: list[_Cell] = [("label", [field.label], 0.0, label, count + 1, "", {})]
        header += [("header", [name], bounds[c], bounds[c + 1], 1, "", {}) for c, name in enumerate(field.columns)]
        rows.append((TABLE_ROW_MM, True, header))
        for n in range(count):
            entry = entries[n] if n < len(entries) else [""] * len(field.columns)
            rows.append((TABLE_ROW_MM, True, [
                ("value", [one_line(text)] if one_line(text) else [], bounds[c], bounds[c + 1], 1, field.label, {})
                for c, text in enumerate(entry)]))
    for key in form.boxes:
        field = fields[key]
        rows.append((BOX_MIN_MM, False, [("label", [field.label], 0.0, label, 1, "", {}),
                                         ("value", value_lines(field), label, FORM_WIDTH_MM, 1, field.label, {})]))
    # One grid for the whole table: every edge any row uses.
    xs = sorted({round(x, 1) for _, _, cells in rows for cell in cells for x in (cell[2], cell[3])})
    at = {x: n for n, x in enumerate(xs)}
    widths = [round(b - a, 1) for a, b in itertools.pairwise(xs)]
    return FormGrid(widths, [
        GridRow([GridCell(kind, lines, at[round(x0, 1)], at[round(x1, 1)] - at[round(x0, 1)], down, where, **extra)
                 for kind, lines, x0, x1, down, where, extra in cells], height, keep)
        for height, keep, cells in rows
    ])


# -- the grid as a Word table -------------------------------------------------------------------------


def _border(name: str, size: int) -> Any:
    element = OxmlElement(f"w:{name}")
    element.set(qn("w:val"), "single")
    element.set(qn("w:sz"), str(size))
    element.set(qn("w:space"), "0")
    element.set(qn("w:color"), "000000")
    return element


_TEXT_NODE = re.compile(r"(<w:t(?:\s[^>]*)?>)([^<]*)(</w:t>)")


class _FormXml:
    """The grid's XML for `{{p form }}`, with "_" in its text as &#95; (see bot.document._as_xml_text): docxtpl's
    later "{_{" → "{{" must not change an applicant's text in the grid either."""

    def __init__(self, xml: str) -> None:
        self.xml = xml

    def __html__(self) -> str:
        return _TEXT_NODE.sub(lambda m: m.group(1) + m.group(2).replace("_", "&#95;") + m.group(3), self.xml)

    __str__ = __html__


def form_table(tpl: DocxTemplate, grid: FormGrid) -> Any:
    """The grid as a Word table: merged cells (gridSpan, vMerge) as the layout says, the photo in its box.
    Built with python-docx in the template's own package (so the photo's part and the styles are
    there), then taken out of the body and printed where `{{p form }}` stands."""
    document = tpl.docx
    known = {style.name for style in document.styles}

    def style(kind: str) -> str | None:
        name = FORM_STYLES[kind]
        return name if name in known else ("表格文字" if "表格文字" in known else None)

    # Each paragraph's style by id, looked up once per kind: python-docx looks a style name up
    # afresh for every paragraph (0.1 s of a render for the form's 66 paragraphs).
    style_ids = {kind: document.part.get_style_id(style(kind), WD_STYLE_TYPE.PARAGRAPH) for kind in FORM_STYLES}

    table = document.add_table(rows=len(grid.rows), cols=len(grid.widths_mm))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False  # fixed layout: the widths below hold whatever the text
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right"):
        borders.append(_border(edge, 12))  # the form's frame: 1.5 pt
    for edge in ("insideH", "insideV"):
        borders.append(_border(edge, 4))
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        margin = OxmlElement(f"w:{edge}")
        margin.set(qn("w:w"), "57")  # 1 mm: narrow label cells keep four characters a line
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    # Schema order of tblPr: … tblW jc … tblBorders shd tblLayout tblCellMar tblLook.
    look = tblpr.find(qn("w:tblLook"))
    layout = tblpr.find(qn("w:tblLayout"))
    anchor = layout if layout is not None else look
    if anchor is not None:
        anchor.addprevious(borders)
        (look.addprevious if look is not None else tblpr.append)(margins)
    else:
        tblpr.append(borders)
        tblpr.append(margins)
    for column, width in zip(table.columns, grid.widths_mm, strict=True):
        column.width = Mm(width)
    for r, row in enumerate(grid.rows):
        word_row = table.rows[r]
        word_row.height = Mm(row.height_mm)
        word_row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        if row.keep:
            word_row._tr.get_or_add_trPr().insert(0, OxmlElement("w:cantSplit"))
    # The layout grid's cells, read once before any merge: Table.cell walks the whole table on every
    # call (130 calls were 0.2 s of a 0.4 s render). Merging one form cell leaves the others' cells
    # as they are, since no two form cells share a grid cell.
    layout, columns = table._cells, len(grid.widths_mm)
    for r, row in enumerate(grid.rows):
        for cell in row.cells:
            word_cell = layout[r * columns + cell.start]
            last = layout[(r + cell.rows - 1) * columns + cell.start + cell.span - 1]
            if last is not word_cell and (cell.span > 1 or cell.rows > 1):
                word_cell = word_cell.merge(last)
            word_cell.vertical_alignment = WD_ALIGN_VERTICAL.CENTER
            paragraph = word_cell.paragraphs[0]
            paragraph._p.style = style_ids[cell.kind]
            if cell.kind in ("label", "header", "photo"):
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            if cell.photo is not None and cell.photo_mm is not None:
                paragraph.add_run().add_picture(str(cell.photo), width=Mm(cell.photo_mm[0]),
                                                height=Mm(cell.photo_mm[1]))
                continue
            for n, line in enumerate(cell.lines):
                if n:
                    paragraph = word_cell.add_paragraph()
                    paragraph._p.style = style_ids[cell.kind]
                    if cell.kind in ("label", "header", "photo"):
                        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                paragraph.add_run(line)
    element = table._tbl
    element.getparent().remove(element)
    return _FormXml(etree.tostring(element, encoding="unicode"))

