"""The Word application (申报书): a context built from an application, rendered into the template.

The template (`templates/application.docx.j2`, or the coordinator's own via AWARD_TEMPLATE)
decides the look; this module only supplies data. docxtpl fails silently on bad input (an `&`
without autoescape truncates the document, a control character swallows later markup), so user
text is cleaned, rendering is autoescaped with strict undefined variables, and the written file
is read back and checked before anyone receives it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import logging
import os
import re
import tempfile
import traceback
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from docx.enum.table import WD_ALIGN_VERTICAL, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.image import Image
from docx.opc.exceptions import PackageNotFoundError
from docx.opc.parts.coreprops import CorePropertiesPart
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from lxml import etree
from markupsafe import Markup, escape

from bot.criteria import COVER_DATE, COVER_YEAR, Criteria, Form, ProfileField, cell_key, cell_span
from bot.files import temporary_beside
from bot.shipped import shipped
from bot.table_rows import rows_of
from bot.typeset import breakable
from bot.uploads import decodes_fully
from bot.validation import clean_text, count_chars
from bot.wording import say

TEMPLATE = shipped("templates") / "application.docx.j2"

# What Word, WPS and LibreOffice can show inside the document; other files are listed only.
EMBEDDABLE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"})

# Photos are scaled to fit the text block of an A4 page with the template's margins.
MAX_IMAGE_WIDTH_MM = 150.0
MAX_IMAGE_HEIGHT_MM = 190.0
# On the 附件 pages (a text block of 156 × 225 mm, less each 附件's two title lines): a landscape or
# small photo takes half a page, so two share one; a portrait one (a certificate) the whole page.
HALF_PAGE_IMAGE_MM = (150.0, 80.0)
FULL_PAGE_IMAGE_MM = (150.0, 180.0)

# The 申报表 (一、申报表) as a grid across the text block (156 mm): label and value cells, the photo box
# at the right of the first rows (a 1-inch photo's 25 × 33 mm in a 30 mm column), sub-tables, boxes.
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

log = logging.getLogger(__name__)

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class DocumentError(Exception):
    """The 申报书 could not be produced, or came out incomplete."""


@dataclass(frozen=True)
class EvidenceFile:
    """An attached file as the 证明材料清单 lists it."""

    question_id: str
    path: Path
    caption: str = ""
    file_name: str = ""


@dataclass(frozen=True)
class Rendered:
    path: Path
    sha256: str
    images: int
    expected_lines: list[str] = field(default_factory=list, repr=False)
    not_embedded: list[AttachmentEntry] = field(default_factory=list)  # listed only: Word cannot show them


def lines_of(text: str | None) -> list[str]:
    """An answer's paragraphs: cleaned (no bidi overrides: they print a line backwards), each line
    stripped, blank lines dropped."""
    cleaned = clean_text(text or "")
    # Long runs (figures, URLs, full-width Latin) get break opportunities instead of stretching a line.
    return [breakable(line.strip()) for line in cleaned.split("\n") if line.strip()]


def _clean(text: str | None) -> str:
    """A short value on one line (a name, a unit, a file name): no break opportunities are added, so
    nothing invisible reaches a file name."""
    return " ".join(line.strip() for line in clean_text(text or "").split("\n") if line.strip())


def image_size_mm(path: Path) -> tuple[float, float] | None:
    """The size to print a photo at, or None when it cannot be embedded: a type Word cannot show (PDF,
    HEIC, WEBP…), a file no longer on disk, or one that does not decode in full (cut off, damaged)."""
    try:
        stat = path.stat()
        if not _whole_image(str(path), stat.st_size, stat.st_mtime_ns):
            return None
        image = Image.from_file(str(path))
    except Exception:  # python-docx raises many kinds for a file it cannot read; any of them means "list it"
        return None
    width = image.px_width / (image.horz_dpi or 72) * 25.4
    height = image.px_height / (image.vert_dpi or 72) * 25.4
    if width <= 0 or height <= 0:
        return None
    scale = min(1.0, MAX_IMAGE_WIDTH_MM / width, MAX_IMAGE_HEIGHT_MM / height)
    return width * scale, height * scale


@functools.lru_cache(maxsize=512)
def _whole_image(path: str, size: int, mtime_ns: int) -> bool:
    """Decoded once per file version: a draft and the final of the same application share the work."""
    with open(path, "rb") as file:
        return decodes_fully(file.read())


@dataclass(frozen=True)
class ProfileRow:
    label: str
    lines: list[str]


@dataclass(frozen=True)
class QuestionEntry:
    id: str
    text: str
    lines: list[str]
    attachments: str  # "附件1（…）、附件2（…）", or empty


@dataclass(frozen=True)
class ItemEntry:
    id: str
    title: str
    questions: list[QuestionEntry]


@dataclass(frozen=True)
class CategoryEntry:
    id: str
    title: str
    items: list[ItemEntry]


@dataclass(frozen=True)
class AttachmentEntry:
    number: int
    question_id: str
    caption: str
    file_name: str
    path: Path
    size_mm: tuple[float, float] | None  # None: listed but not embeddable
    image: Any = None  # the InlineImage, set while rendering
    title: str = ""  # the 附件 page's title: the caption, or question and kind of file
    source: str = ""  # 对应条款 … 文件 … under the title
    file_label: str = ""  # the file name as the list prints it: hyphens do not break
    new_page: bool = True  # the 附件 starts a page (the first, a full-page one, or the first of a pair)


@dataclass(frozen=True)
class CoverRow:
    label: str
    value: str  # empty: a line to fill in by hand


@dataclass(frozen=True)
class OpinionEntry:
    heading: str  # 五、所在单位意见
    note: str
    signature: str
    seal: str


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


@dataclass(frozen=True)
class CountRow:
    label: str
    chars: str


_CHINESE_DIGITS = "〇一二三四五六七八九"
_SECTION_NUMBERS = "一二三四五六七八九十"


def chinese_year(year: int) -> str:
    """2026 → 二〇二六, as a cover prints the year."""
    return "".join(_CHINESE_DIGITS[int(digit)] for digit in str(year))


def _fit(size: tuple[float, float], box: tuple[float, float]) -> tuple[float, float]:
    scale = min(1.0, box[0] / size[0], box[1] / size[1])
    return size[0] * scale, size[1] * scale


def page_layout(sizes: Sequence[tuple[float, float] | None]) -> list[tuple[tuple[float, float] | None, bool]]:
    """Each 附件's printed size and whether it starts a page.

    Landscape photos and those small enough for half a page are fitted to half a page and printed two
    to a page; a portrait photo (a certificate) gets a page of its own, so none leaves half a page
    blank. A file that is only listed takes a half page's slot (its title and a note).
    """
    placed: list[tuple[tuple[float, float] | None, bool]] = []
    free_half = False  # the page so far holds one half-page 附件
    for size in sizes:
        half = size is None or size[1] <= size[0] or _fit(size, HALF_PAGE_IMAGE_MM) == size
        if half:
            placed.append((size and _fit(size, HALF_PAGE_IMAGE_MM), not free_half))
            free_half = not free_half
        else:
            placed.append((_fit(size, FULL_PAGE_IMAGE_MM), True))
            free_half = False
    return placed


def _file_label(name: str) -> str:
    """A file name for the list: it may break at a space or between Chinese characters, never at a
    hyphen ("fpy-chart-2021-/2025.png"): those become non-breaking hyphens (U+2011)."""
    return _clean(name).replace("-", "\u2011")


def _kind(path: Path, embedded: bool) -> str:
    if embedded:
        return say("doc_attachment_kind_image")
    return say("doc_attachment_kind_pdf") if path.suffix.lower() == ".pdf" else say("doc_attachment_kind_file")


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
        lines = lines_of(text) if field.type == "longtext" else [v for v in [_clean(text)] if v]
        return lines or ([say("empty_value")] if field.required else [])

    rows: list[tuple[float, bool, list[tuple[str, list[str], float, float, int, str, dict[str, Any]]]]] = []
    for r, row in enumerate(form.rows):
        beside_photo = photo_field is not None and r < form.photo_rows
        end = right if beside_photo else FORM_WIDTH_MM
        x, cells = 0.0, []
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
        header = [("label", [field.label], 0.0, label, count + 1, "", {})]
        header += [("header", [name], bounds[c], bounds[c + 1], 1, "", {}) for c, name in enumerate(field.columns)]
        rows.append((TABLE_ROW_MM, True, header))
        for n in range(count):
            entry = entries[n] if n < len(entries) else [""] * len(field.columns)
            rows.append((TABLE_ROW_MM, True, [
                ("value", [_clean(text)] if _clean(text) else [], bounds[c], bounds[c + 1], 1, field.label, {})
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


def build_context(
    criteria: Criteria,
    profile: dict[str, str],
    answers: dict[str, str],
    attachments: Sequence[EvidenceFile] = (),
    *,
    day: date,
    draft: bool,
) -> dict[str, Any]:
    """The template's data; photos are added as paths and become images in `render`."""
    # Numbered in the order of the report, so 附件1 belongs to the earliest question.
    ordered = sorted(attachments, key=lambda a: criteria.question_index.get(a.question_id, 10**6))
    sizes = [image_size_mm(a.path) for a in ordered]
    numbered = []
    for n, (a, (size, new_page)) in enumerate(zip(ordered, page_layout(sizes), strict=True), start=1):
        file_name = _clean(a.file_name) or a.path.name
        numbered.append(AttachmentEntry(
            number=n,
            question_id=a.question_id,
            caption=_clean(a.caption) or _clean(a.file_name) or say("doc_no_caption"),
            file_name=file_name,
            path=a.path,
            size_mm=size,
            title=_clean(a.caption) or say("doc_attachment_title", question=a.question_id,
                                           kind=_kind(a.path, size is not None)),
            source=say("doc_attachment_source", question=a.question_id, file=_file_label(file_name)),
            file_label=_file_label(file_name),
            new_page=new_page,
        ))

    def refs(question_id: str) -> str:
        return "、".join(say("doc_attachment_ref", number=a.number, caption=a.caption)
                        for a in numbered if a.question_id == question_id)

    def profile_lines(field: ProfileField) -> list[str]:
        """A value on its own (for a template restyled before the grid, which lists `profile`)."""
        if field.type == "table":
            rows = rows_of(profile.get(field.key) or "", len(field.columns))
            lines = ["　".join(c for c in row if c) for row in rows]
        elif field.type == "photo":
            lines = [say("photo_on_file")] if profile.get(field.key) else []
        else:
            lines = lines_of(profile.get(field.key))
        return lines or [say("empty_value") if field.required else say("doc_not_applicable")]

    form = criteria.form_layout
    photo = profile.get(form.photo) if form.photo else None

    application_date = say("doc_date", year=day.year, month=day.month, day=day.day)

    def cover_value(field: str | None) -> str:
        if field is None:
            return ""
        if field == COVER_DATE:
            return application_date
        return say("doc_year", year=day.year) if field == COVER_YEAR else _clean(profile.get(field))

    cover = criteria.cover_layout
    opinions = [
        OpinionEntry(say("doc_opinion_heading", number=_SECTION_NUMBERS[4 + n], title=o.title),
                     say("doc_opinion_note", note=o.note) if o.note else "", o.signature, o.seal)
        for n, o in enumerate(criteria.opinion_pages)
    ]
    per_category = [(c, sum(count_chars(answers.get(q.id) or "") for i in c.items for q in i.questions))
                    for c in criteria.categories]
    total = sum(chars for _, chars in per_category)
    limit = criteria.budget.report_max_chars
    if limit is None:
        total_text = say("doc_count_chars", count=total)
    elif total > limit:
        total_text = say("doc_count_over", count=total, limit=limit, over=total - limit)
    else:
        total_text = say("doc_count_budget", count=total, limit=limit)
    return {
        "title": criteria.document_title,
        "award": criteria.award,
        "draft_mark": say("doc_draft_mark", date=f"{day:%Y-%m-%d}") if draft else "",
        "applicant": _clean(profile.get("name")),
        "number_label": cover.number,
        "cover": [CoverRow(line.label, cover_value(line.field)) for line in cover.lines],
        "issuer": say("doc_cover_issuer", issuer=criteria.issuer) if criteria.issuer else "",
        "year": say("doc_cover_year", year=chinese_year(day.year)),
        "opinions": opinions,
        "counts": [CountRow(say("doc_count_category", id=c.id, title=c.title), say("doc_count_chars", count=chars))
                   for c, chars in per_category],
        "count_total": CountRow(say("doc_count_total"), total_text),
        # The 申报表 as a grid (shown by `{{p form }}`); `profile`, one row a field, for templates restyled
        # before the grid.
        "form": form_grid(form, {f.key: f for f in criteria.profile}, profile,
                          photo_size=image_size_mm(Path(photo)) if photo else None),
        "profile": [ProfileRow(f.label, profile_lines(f)) for f in criteria.profile],
        "categories": [
            CategoryEntry(category.id, category.title, [
                ItemEntry(item.id, item.title, [
                    QuestionEntry(q.id, q.text, lines_of(answers.get(q.id)), refs(q.id)) for q in item.questions
                ])
                for item in category.items
            ])
            for category in criteria.categories
        ],
        "attachments": numbered,
    }


def _as_xml_text(value: Any) -> Any:
    """Every printed value, escaped for the XML, with "_" as a character reference.

    After rendering, docxtpl turns "{_{", "}_}", "{_%" and "%_}" into "{{", "}}", "{%" and "%}"
    (so that template authors can print tags): applicant text containing them would change. An
    underscore written as &#95; reads back as "_" and never forms those sequences.
    """
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(str(escape(value)).replace("_", "&#95;"))
    return value


def _environment() -> jinja2.Environment:
    # Autoescape keeps `&` and `<` from ending the XML early; StrictUndefined turns a mistyped tag
    # in a restyled template into an error instead of a silently empty field.
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, finalize=_as_xml_text)


def expected_lines(context: dict[str, Any]) -> list[tuple[str, str]]:
    """Every piece of applicant text with where it belongs (申报表 label or question id), in order."""
    lines: list[tuple[str, str]] = list(context["form"].values())
    for category in context["categories"]:
        for item in category.items:
            for question in item.questions:
                lines.extend((question.id, line) for line in question.lines)
    return lines


def paragraph_texts(path: Path) -> list[str]:
    """The text of each paragraph of the document body, in order (table cells included)."""
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("word/document.xml"))
    texts = []
    for paragraph in root.iter(f"{_W}p"):
        parts = []
        for node in paragraph.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr"):
            if node.tag == f"{_W}t":
                parts.append(node.text or "")
            elif node.tag == f"{_W}tab" and node.getparent().tag == f"{_W}r":  # not a tab stop definition
                parts.append("\t")
            elif node.tag != f"{_W}tab":
                parts.append("\n")
        texts.append("".join(parts))
    return texts


def count_images(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("word/document.xml"))
    return sum(1 for _ in root.iter(f"{_W}drawing"))


def verify(path: Path, lines: Iterable[tuple[str, str]], images: int) -> None:
    """Raise DocumentError unless every line appears, in order, and every photo is embedded."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise DocumentError(f"生成的文件里有重复的部件 {'、'.join(duplicates)}，Word 会报告文件损坏")
    texts = iter(paragraph_texts(path))
    counts: dict[str, int] = {}
    for where, line in lines:
        counts[where] = counts.get(where, 0) + 1
        if not any(line in text for text in texts):
            # Where and which paragraph, never the text itself: answers must not reach the logs.
            raise DocumentError(f"生成的申报书缺少「{where}」的第 {counts[where]} 段（或顺序不对）："
                                "请检查模板里显示它的标签")
    found = count_images(path)
    if found != images:
        raise DocumentError(f"生成的申报书有 {found} 张图片，应为 {images} 张")


def _own_core_properties(tpl: DocxTemplate) -> None:
    """Drop a core-properties part python-docx did not recognise, so it is not written twice.

    Some editors save docProps/core.xml under a content type python-docx does not map to its
    core-properties class; python-docx then adds a second part of the same name, and Word calls
    the file corrupt.
    """
    package = tpl.docx.part.package
    for r_id, rel in list(package.rels.items()):
        if rel.reltype.endswith("/core-properties") and not isinstance(rel.target_part, CorePropertiesPart):
            del package.rels[r_id]


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _load_template(template: Path) -> DocxTemplate:
    try:
        tpl = DocxTemplate(str(template))
        tpl.init_docx()
    except FileNotFoundError as error:
        raise DocumentError(f"找不到模板 {template}") from error
    except (OSError, zipfile.BadZipFile, KeyError, PackageNotFoundError, etree.XMLSyntaxError) as error:
        raise DocumentError(f"模板 {template} 不是有效的 .docx 文件（{type(error).__name__}: {error}）") from error
    _own_core_properties(tpl)
    return tpl


class _ImageFailed(Exception):
    """Embedding a stored photo failed while rendering (not the template's fault)."""


def _border(name: str, size: int) -> Any:
    element = OxmlElement(f"w:{name}")
    element.set(qn("w:val"), "single")
    element.set(qn("w:sz"), str(size))
    element.set(qn("w:space"), "0")
    element.set(qn("w:color"), "000000")
    return element


_TEXT_NODE = re.compile(r"(<w:t(?:\s[^>]*)?>)([^<]*)(</w:t>)")


class _FormXml:
    """The grid's XML for `{{p form }}`, with "_" in its text as &#95; (see _as_xml_text): docxtpl's
    later "{_{" → "{{" must not change an applicant's text in the grid either."""

    def __init__(self, xml: str) -> None:
        self.xml = xml

    def __html__(self) -> str:
        return _TEXT_NODE.sub(lambda m: m.group(1) + m.group(2).replace("_", "&#95;") + m.group(3), self.xml)

    __str__ = __html__


def _form_table(tpl: DocxTemplate, grid: FormGrid) -> Any:
    """The grid as a Word table: merged cells (gridSpan, vMerge) as the layout says, the photo in its box.
    Built with python-docx in the template's own package (so the photo's part and the styles are
    there), then taken out of the body and printed where `{{p form }}` stands."""
    document = tpl.docx
    known = {style.name for style in document.styles}

    def style(kind: str) -> str | None:
        name = FORM_STYLES[kind]
        return name if name in known else ("表格文字" if "表格文字" in known else None)

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
    for r, row in enumerate(grid.rows):
        for cell in row.cells:
            word_cell = table.cell(r, cell.start)
            last = table.cell(r + cell.rows - 1, cell.start + cell.span - 1)
            if last is not word_cell and (cell.span > 1 or cell.rows > 1):
                word_cell = word_cell.merge(last)
            word_cell.vertical_alignment = WD_ALIGN_VERTICAL.CENTER
            paragraph = word_cell.paragraphs[0]
            paragraph.style = style(cell.kind)
            if cell.kind in ("label", "header", "photo"):
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            if cell.photo is not None and cell.photo_mm is not None:
                paragraph.add_run().add_picture(str(cell.photo), width=Mm(cell.photo_mm[0]),
                                                height=Mm(cell.photo_mm[1]))
                continue
            for n, line in enumerate(cell.lines):
                if n:
                    paragraph = word_cell.add_paragraph(style=style(cell.kind))
                    if cell.kind in ("label", "header", "photo"):
                        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                paragraph.add_run(line)
    element = table._tbl
    element.getparent().remove(element)
    return _FormXml(etree.tostring(element, encoding="unicode"))


def _fill(context: dict[str, Any], template: Path, attachments: list[AttachmentEntry]) -> DocxTemplate:
    tpl = _load_template(template)
    data = dict(context)
    try:
        data["form"] = _form_table(tpl, context["form"])
    except Exception as error:
        if context["form"].images and _from_image(error):
            raise _ImageFailed() from error
        raise
    data["attachments"] = [
        replace(a, image=InlineImage(tpl, str(a.path), width=Mm(a.size_mm[0])) if a.size_mm else None)
        for a in attachments
    ]
    try:
        tpl.render(data, jinja_env=_environment(), autoescape=True)
    except jinja2.TemplateSyntaxError as error:
        raise DocumentError(f"模板 {template} 的标签有误（第 {error.lineno} 行附近）：{error.message}") from error
    except jinja2.UndefinedError as error:
        raise DocumentError(f"模板 {template} 用了不存在的名字：{error.message}") from error
    except Exception as error:
        if any(a.size_mm for a in attachments) and _from_image(error):
            raise _ImageFailed() from error
        # A restyled template can fail in many ways (a tag doing arithmetic, broken XML after the
        # tags are filled): whatever it is, it is the template's problem and must be reported as such.
        raise DocumentError(f"模板 {template} 无法生成申报书（{type(error).__name__}: {error}）") from error
    return tpl


def _from_image(error: BaseException) -> bool:
    """Whether an exception came from reading a picture (python-docx's image code, or a file gone)."""
    frames = traceback.extract_tb(error.__traceback__)
    return isinstance(error, OSError) or any("/docx/image/" in frame.filename for frame in frames)


def render(context: dict[str, Any], path: Path, *, template: Path = TEMPLATE) -> Rendered:
    """Render the context into `path` (written through a temporary file) and verify it.

    A stored file never stops the 申报书: photos are checked before (image_size_mm), and should
    embedding one still fail, the document is made again with every photo listed, not shown.
    """
    attachments: list[AttachmentEntry] = list(context["attachments"])
    try:
        tpl = _fill(context, template, attachments)
    except _ImageFailed:
        log.warning("a stored photo could not be embedded; the 申报书 lists every photo instead")
        attachments = [replace(a, size_mm=None) for a in attachments]
        context = {**context, "form": context["form"].without_photo()}
        tpl = _fill(context, template, attachments)
    images = sum(1 for a in attachments if a.size_mm) + context["form"].images
    tpl.docx.core_properties.title = context["title"]
    tpl.docx.core_properties.author = context["applicant"]
    tpl.docx.core_properties.comments = ""
    try:
        partial = temporary_beside(path)
    except OSError as error:
        raise DocumentError(f"无法写入 {path}：{error.strerror or error}") from error
    try:
        tpl.save(str(partial))
        verify(partial, expected_lines(context), images)
        os.replace(partial, path)
    except (DocumentError, OSError) as error:
        _remove(partial)
        if isinstance(error, OSError):
            raise DocumentError(f"无法写入 {path}：{error.strerror or error}") from error
        raise
    except BaseException:
        _remove(partial)
        raise
    skipped = [a for a in attachments if a.size_mm is None]
    return Rendered(path, hashlib.sha256(path.read_bytes()).hexdigest(), images,
                    [line for _, line in expected_lines(context)], skipped)


def render_application(
    criteria: Criteria,
    profile: dict[str, str],
    answers: dict[str, str],
    path: Path,
    *,
    attachments: Sequence[EvidenceFile] = (),
    day: date,
    draft: bool = False,
    template: Path = TEMPLATE,
) -> Rendered:
    context = build_context(criteria, profile, answers, attachments, day=day, draft=draft)
    return render(context, path, template=template)


def check_template(criteria: Criteria, template: Path) -> None:
    """Render an empty application once, so a broken template is found at start-up, not on submission."""
    with tempfile.TemporaryDirectory() as folder:
        render_application(criteria, {}, {}, Path(folder) / "check.docx", day=date.today(), draft=True,
                           template=template)


def safe_file_part(text: str) -> str:
    """A name fit for a file name on Windows, macOS and Linux (for 申报书_<姓名>.docx)."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", _clean(text)).strip("._")[:40]
