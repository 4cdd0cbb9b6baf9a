"""The answers file that `award-bot render` turns into a 申报书 without an interview.

JSON with `profile` (field key → value), `answers` (question id → text), `attachments`
(a list of {question, path, caption}; paths relative to the file), and optionally `date`
(the 申报日期, YYYY-MM-DD) and `draft` (true marks it as a draft). Every problem is reported at
once, naming the field, question or file, so a coordinator can fix the file in one go.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.criteria import Criteria
from bot.document import EvidenceFile
from bot.validation import Invalid, validate_field
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
    profile: dict[str, str | int] = Field(default_factory=dict)
    answers: dict[str, str] = Field(default_factory=dict)
    attachments: list[_Attachment] = Field(default_factory=list)
    date: dt.date | None = None  # named as in the file; the type is spelled out to not shadow it
    draft: bool = False


@dataclass(frozen=True)
class Answers:
    profile: dict[str, str]
    answers: dict[str, str]
    attachments: list[EvidenceFile]
    day: date | None
    draft: bool


def load_answers_file(path: Path, criteria: Criteria, *, today: date) -> Answers:
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise AnswersFileError(f"{path}: 文件不存在") from error
    except (OSError, UnicodeDecodeError) as error:
        raise AnswersFileError(f"{path}: 无法读取（应为 UTF-8 编码的 JSON）：{error}") from error
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        where = f"第 {error.lineno} 行第 {error.colno} 列"
        raise AnswersFileError(f"{path}: {where}不是有效的 JSON：{error.msg}") from error
    try:
        parsed = _AnswersFile.model_validate(data)
    except ValidationError as error:
        lines = [f"{path}:"]
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "（整个文件）"
            lines.append(f"  {where}: {problem['msg']}")
        raise AnswersFileError("\n".join(lines)) from error

    problems: list[str] = []
    fields = {f.key: f for f in criteria.profile}
    profile: dict[str, str] = {}
    for key, value in parsed.profile.items():
        field = fields.get(key)
        if field is None:
            problems.append(f"profile.{key}: 申报表没有这一项（可用的有：{'、'.join(fields)}）")
            continue
        if str(value).strip() == "" and not field.required:
            continue
        checked = validate_field(field, str(value), today=today)
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
    if problems:
        raise AnswersFileError("\n".join([f"{path}: {len(problems)} 处问题", *(f"  {p}" for p in problems)]))
    answers = {qid: text for qid, text in parsed.answers.items() if text.strip()}
    return Answers(profile, answers, attachments, parsed.date, parsed.draft)
