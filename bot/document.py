"""The Word application (申报书): a context built from an application, rendered into the template.

The template (`templates/application.docx.j2`, or the coordinator's own via AWARD_TEMPLATE)
decides the look; this module only supplies data. docxtpl fails silently on bad input (an `&`
without autoescape truncates the document, a control character swallows later markup), so user
text is cleaned, rendering is autoescaped with strict undefined variables, and the written file
is read back and checked before anyone receives it.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from docx.image.exceptions import UnrecognizedImageError
from docx.image.image import Image
from docx.opc.exceptions import PackageNotFoundError
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from lxml import etree

from bot.criteria import Criteria
from bot.validation import clean_text
from bot.wording import say

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "application.docx.j2"

# Photos are scaled to fit the text block of an A4 page with the template's margins.
MAX_IMAGE_WIDTH_MM = 150.0
MAX_IMAGE_HEIGHT_MM = 190.0

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


def lines_of(text: str | None) -> list[str]:
    """An answer's paragraphs: cleaned, each line stripped, blank lines dropped."""
    cleaned = clean_text(text or "")
    return [line.strip() for line in cleaned.split("\n") if line.strip()]


def _clean(text: str | None) -> str:
    return " ".join(lines_of(text))


def image_size_mm(path: Path) -> tuple[float, float] | None:
    """The size to print a photo at, or None when Word cannot embed the file (PDF, HEIC, WEBP…)."""
    try:
        image = Image.from_file(str(path))
    except (UnrecognizedImageError, OSError, ValueError, KeyError, IndexError):
        return None
    width = image.px_width / (image.horz_dpi or 72) * 25.4
    height = image.px_height / (image.vert_dpi or 72) * 25.4
    if width <= 0 or height <= 0:
        return None
    scale = min(1.0, MAX_IMAGE_WIDTH_MM / width, MAX_IMAGE_HEIGHT_MM / height)
    return width * scale, height * scale


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
    numbered = [
        AttachmentEntry(
            number=n,
            question_id=a.question_id,
            caption=_clean(a.caption) or _clean(a.file_name) or say("doc_no_caption"),
            file_name=_clean(a.file_name) or a.path.name,
            path=a.path,
            size_mm=image_size_mm(a.path),
        )
        # Numbered in the order of the report, so 附件1 belongs to the earliest question.
        for n, a in enumerate(sorted(attachments, key=lambda a: criteria.question_index.get(a.question_id, 10**6)),
                              start=1)
    ]

    def refs(question_id: str) -> str:
        return "、".join(say("doc_attachment_ref", number=a.number, caption=a.caption)
                        for a in numbered if a.question_id == question_id)

    def profile_lines(key: str, required: bool) -> list[str]:
        lines = lines_of(profile.get(key))
        return lines or [say("empty_value") if required else say("doc_not_applicable")]

    return {
        "title": criteria.document_title,
        "award": criteria.award,
        "draft_mark": say("doc_draft_mark", date=f"{day:%Y-%m-%d}") if draft else "",
        "applicant": _clean(profile.get("name")),
        "unit": _clean(profile.get("unit")),
        "date": say("doc_date", year=day.year, month=day.month, day=day.day),
        "year": say("doc_year", year=day.year),
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


def _environment() -> jinja2.Environment:
    # Autoescape keeps `&` and `<` from ending the XML early; StrictUndefined turns a mistyped tag
    # in a restyled template into an error instead of a silently empty field.
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def expected_lines(context: dict[str, Any]) -> list[str]:
    """Every piece of applicant text, in the order the document must show it."""
    lines: list[str] = []
    for row in context["profile"]:
        lines.extend(row.lines)
    for category in context["categories"]:
        for item in category.items:
            for question in item.questions:
                lines.extend(question.lines)
    return lines


def paragraph_texts(path: Path) -> list[str]:
    """The text of each paragraph of the document body, in order (table cells included)."""
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("word/document.xml"))
    return ["".join(t.text or "" for t in p.iter(f"{_W}t")) for p in root.iter(f"{_W}p")]


def count_images(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("word/document.xml"))
    return sum(1 for _ in root.iter(f"{_W}drawing"))


def verify(path: Path, lines: Iterable[str], images: int) -> None:
    """Raise DocumentError unless every line appears, in order, and every photo is embedded."""
    texts = iter(paragraph_texts(path))
    for number, line in enumerate(lines, start=1):
        if not any(line in text for text in texts):
            # The line's number, not its text: answers must not reach the logs.
            raise DocumentError(f"rendered document lacks or misorders applicant line {number} of the context")
    found = count_images(path)
    if found != images:
        raise DocumentError(f"rendered document has {found} images, expected {images}")


def render(context: dict[str, Any], path: Path, *, template: Path = TEMPLATE) -> Rendered:
    """Render the context into `path` (written through a temporary file) and verify it."""
    try:
        tpl = DocxTemplate(str(template))
        tpl.init_docx()
    except (OSError, zipfile.BadZipFile, KeyError, PackageNotFoundError) as error:
        raise DocumentError(f"template {template} cannot be opened: {error}") from error
    data = dict(context)
    data["attachments"] = [
        replace(a, image=InlineImage(tpl, str(a.path), width=Mm(a.size_mm[0])) if a.size_mm else None)
        for a in context["attachments"]
    ]
    images = sum(1 for a in data["attachments"] if a.image is not None)
    try:
        tpl.render(data, jinja_env=_environment(), autoescape=True)
    except (jinja2.TemplateError, etree.XMLSyntaxError) as error:
        raise DocumentError(f"template {template}: {error}") from error
    tpl.docx.core_properties.title = context["title"]
    tpl.docx.core_properties.author = context["applicant"]
    tpl.docx.core_properties.comments = ""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    tpl.save(str(partial))
    lines = expected_lines(context)
    try:
        verify(partial, lines, images)
    except DocumentError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return Rendered(path, hashlib.sha256(path.read_bytes()).hexdigest(), images, lines)


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


def safe_file_part(text: str) -> str:
    """A name fit for a file name on Windows, macOS and Linux (for 申报书_<姓名>.docx)."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", _clean(text)).strip("._")[:40]
