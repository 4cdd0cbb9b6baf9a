"""The 申报书's data: an application (申报表, answers, evidence files) turned into what the template
prints: the cover, the 申报表 grid, each question's paragraphs with its 附件 references, the numbered
附件, the opinion pages and the character counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.criteria import Criteria, ProfileField
from bot.criteria_layout import COVER_DATE, COVER_YEAR
from bot.document_images import image_size_mm, page_layout
from bot.document_text import file_label, lines_of, one_line
from bot.form_grid import form_grid
from bot.table_rows import rows_of
from bot.validation import count_chars
from bot.wording import say


@dataclass(frozen=True)
class EvidenceFile:
    """An attached file as the 证明材料清单 lists it."""

    question_id: str
    path: Path
    caption: str = ""
    file_name: str = ""


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
    """The template's data; photos are added as paths and become images in bot.document.render."""
    # Numbered in the order of the report, so 附件1 belongs to the earliest question.
    ordered = sorted(attachments, key=lambda a: criteria.question_index.get(a.question_id, 10**6))
    sizes = [image_size_mm(a.path) for a in ordered]
    numbered = []
    for n, (a, (size, new_page)) in enumerate(zip(ordered, page_layout(sizes), strict=True), start=1):
        file_name = one_line(a.file_name) or a.path.name
        numbered.append(AttachmentEntry(
            number=n,
            question_id=a.question_id,
            caption=one_line(a.caption) or one_line(a.file_name) or say("doc_no_caption"),
            file_name=file_name,
            path=a.path,
            size_mm=size,
            title=one_line(a.caption) or say("doc_attachment_title", question=a.question_id,
                                           kind=_kind(a.path, size is not None)),
            source=say("doc_attachment_source", question=a.question_id, file=file_label(file_name)),
            file_label=file_label(file_name),
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
        return say("doc_year", year=day.year) if field == COVER_YEAR else one_line(profile.get(field))

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
        "applicant": one_line(profile.get("name")),
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

