"""The answers file that `award-bot render` turns into a 申报书 without an interview.

JSON with `profile` (field key → value; a table field's value a list of rows, each a list of its
columns, or lines as typed; the photo a path relative to the file), `answers` (question id → text),
`attachments` (a list of {question, path, caption}; paths relative to the file), and optionally `date`
(the 申报日期, YYYY-MM-DD) and `draft` (true marks it as a draft). Every problem is reported at
once, naming the field, question or file, so a coordinator can fix the file in one go.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.criteria import Criteria, ProfileField
from bot.document_context import EvidenceFile
from bot.file_schema import problem_words
from bot.portrait import portrait
from bot.table_rows import stored
from bot.uploads import decodes_fully
from bot.validation import Invalid, count_chars, validate_field
from bot.wording import say


class AnswersFileError(Exception):
    """The file cannot be rendered; the message lists every problem, one per line."""


class _Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str
    path: str
    caption: str = ""


class _AnswersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: dict[str, Any] = Field(default_factory=dict)
    answers: dict[str, str] = Field(default_factory=dict)
    attachments: list[_Attachment] = Field(default_factory=list)
    date: dt.date | None = None  # named as in the file; the type is spelled out to not shadow it
    draft: bool = False


# An unknown key: the keys the file can have.
_UNKNOWN_KEY = ("不认识这一项（文件可用：profile、answers、attachments、date、draft；"
                "附件可用：question、path、caption）")


@dataclass(frozen=True)
class Answers:
    profile: dict[str, str]
    answers: dict[str, str]
    attachments: list[EvidenceFile]
    day: date | None
    draft: bool
    notes: list[str] = field(default_factory=list)  # not errors: what a reader of the 申报书 will miss


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise AnswersFileError(f"这些键出现了不止一次，只能保留一个：{'、'.join(repeated)}")
    return dict(pairs)


def _table(value: list[Any], field: ProfileField) -> str | None:
    """A table given as a JSON list: rows of cells (or lines as typed), stored as the interview stores it."""
    if all(isinstance(row, str) for row in value):
        return "\n".join(value)
    if not all(isinstance(row, list) and all(isinstance(c, str) for c in row) for row in value):
        return None
    if any(len(row) > len(field.columns) for row in value):
        return None
    return stored([[c.strip() for c in row] + [""] * (len(field.columns) - len(row)) for row in value if any(row)])


def _photo(path: Path, value: Any, key: str) -> str:
    """The photo's absolute path: the file as given when it is already an upright 3:4 JPEG or PNG, else a
    copy cut to 3:4 (bot.portrait.portrait) in a temporary folder removed when the program
    ends; the user's folder is left as it is. A problem is returned as a line starting "profile."."""
    if not isinstance(value, str):
        return f"profile.{key}: 应为照片文件的路径（相对于答案文件），例如 \"photos/me.jpg\""
    if not value.strip():
        return ""
    file = (path.parent / value).resolve()
    try:
        data = file.read_bytes()
    except OSError:
        return f"profile.{key}: 找不到或无法读取照片 {value}（相对于 {path.parent}）"
    if not decodes_fully(data):
        return f"profile.{key}: {value} 打不开，不像是照片（应为 JPG 或 PNG）"
    with Image.open(io.BytesIO(data)) as image:
        upright = image.getexif().get(_ORIENTATION, 1) == 1
        if image.format in ("JPEG", "PNG") and upright and image.width * 4 == image.height * 3:
            return str(file)
    cut = portrait(data)
    if cut is None:
        return f"profile.{key}: {value} 打不开，不像是照片（应为 JPG 或 PNG）"
    derived = _cut_folder() / f"{hashlib.sha256(cut).hexdigest()[:16]}.jpg"
    derived.write_bytes(cut)
    return str(derived)


_ORIENTATION = 0x0112  # EXIF: a photo stored sideways


@functools.cache
def _cut_folder() -> Path:
    folder = tempfile.TemporaryDirectory(prefix="award-photo-")  # removed at exit
    _kept.append(folder)
    return Path(folder.name)


_kept: list[tempfile.TemporaryDirectory[str]] = []


def load_answers_file(path: Path, criteria: Criteria, *, today: date) -> Answers:
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise AnswersFileError(f"{path}: 文件不存在") from error
    except (OSError, UnicodeDecodeError) as error:
        raise AnswersFileError(f"{path}: 无法读取（应为 UTF-8 编码的 JSON）：{error}") from error
    try:
        data = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        where = f"第 {error.lineno} 行第 {error.colno} 列"
        raise AnswersFileError(f"{path}: {where}不是有效的 JSON：{error.msg}") from error
    except AnswersFileError as error:
        raise AnswersFileError(f"{path}: {error}") from error
    try:
        parsed = _AnswersFile.model_validate(data)
    except ValidationError as error:
        lines = [f"{path}:"]
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "（整个文件）"
            lines.append(f"  {where}: {problem_words(problem, 'json', unknown_key=_UNKNOWN_KEY)}")
        raise AnswersFileError("\n".join(lines)) from error

    problems: list[str] = []
    notes: list[str] = []
    fields = {f.key: f for f in criteria.profile}
    profile: dict[str, str] = {}
    for key, value in parsed.profile.items():
        field_ = fields.get(key)
        if field_ is None:
            problems.append(f"profile.{key}: 申报表没有这一项（可用的有：{'、'.join(fields)}）")
            continue
        if field_.type == "photo":
            photo = _photo(path, value, key)
            if isinstance(photo, str) and photo.startswith("profile."):
                problems.append(photo)
            elif photo:
                profile[key] = photo
            continue
        if field_.type == "table" and isinstance(value, list):
            value = _table(value, field_)
            if value is None:
                example = json.dumps([field_.columns], ensure_ascii=False)
                problems.append(f"profile.{key}: 应为行的列表，每行是 {len(field_.columns)} 列的文字列表，"
                                f"例如 {example}")
                continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            problems.append(f"profile.{key}: 应为文字（加引号的字符串）")
            continue
        if str(value).strip() == "" and not field_.required:
            continue
        checked = validate_field(field_, str(value), today=today, profile=profile)
        if isinstance(checked, Invalid):
            problems.append(f"profile.{key}: {say(checked.key, **checked.params)}")
        else:
            profile[key] = checked
    known = {q.id for q in criteria.questions}
    for question_id in parsed.answers:
        if question_id not in known:
            problems.append(f"answers.{question_id}: 没有这道题（题号为 {criteria.questions[0].id} … "
                            f"{criteria.questions[-1].id}）")
    attachments: list[EvidenceFile] = []
    for number, attachment in enumerate(parsed.attachments):
        where = f"attachments[{number}]"
        if attachment.question not in known:
            problems.append(f"{where}.question: 没有 {attachment.question} 这道题")
        file = (path.parent / attachment.path).resolve()
        if not file.is_file():
            problems.append(f"{where}.path: 找不到文件 {attachment.path}（相对于 {path.parent}）")
        attachments.append(EvidenceFile(attachment.question, file, attachment.caption, Path(attachment.path).name))
    if parsed.date is not None and not 2000 <= parsed.date.year <= today.year + 1:
        problems.append(f"date: {parsed.date} 不像申报日期（应在 2000 年到 {today.year + 1} 年之间）")
    if problems:
        raise AnswersFileError("\n".join([f"{path}: {len(problems)} 处问题", *(f"  {p}" for p in problems)]))

    answers = {qid: text for qid, text in parsed.answers.items() if text.strip()}
    missing_fields = [f.label for f in criteria.profile if f.required and f.key not in profile]
    if missing_fields:
        notes.append(f"申报表未填：{'、'.join(missing_fields)}")
    unanswered = [q.id for q in criteria.questions if q.id not in answers]
    if unanswered:
        notes.append(f"未回答的题（申报书中显示「（未填写）」）：{'、'.join(unanswered)}")
    for question in criteria.questions:
        limit = criteria.max_chars(question)
        length = count_chars(answers.get(question.id, ""))
        if limit and length > limit:
            notes.append(f"{question.id} 有 {length} 字，超过建议的 {limit} 字")
    return Answers(profile, answers, attachments, parsed.date, parsed.draft, notes)
