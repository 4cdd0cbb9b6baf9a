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
import logging
import os
import re
import tempfile
import traceback
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from docx.image.image import Image
from docx.opc.exceptions import PackageNotFoundError
from docx.opc.parts.coreprops import CorePropertiesPart
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from lxml import etree
from markupsafe import Markup, escape

from bot.criteria import COVER_DATE, COVER_YEAR, Criteria
from bot.files import temporary_beside
from bot.shipped import shipped
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

    def profile_lines(key: str, required: bool) -> list[str]:
        lines = lines_of(profile.get(key))
        return lines or [say("empty_value") if required else say("doc_not_applicable")]

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
        "profile": [ProfileRow(f.label, profile_lines(f.key, f.required)) for f in criteria.profile],
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
    lines: list[tuple[str, str]] = []
    for row in context["profile"]:
        lines.extend((row.label, line) for line in row.lines)
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


def _fill(context: dict[str, Any], template: Path, attachments: list[AttachmentEntry]) -> DocxTemplate:
    tpl = _load_template(template)
    data = dict(context)
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
        tpl = _fill(context, template, attachments)
    images = sum(1 for a in attachments if a.size_mm)
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
