"""The award's criteria file: load it, validate it, and answer questions about it.

A criteria file is the whole self-assessment guide as data (profile fields, core
concepts, categories, items, questions). Another award is another file, not new code.
How it lays out the 申报书 (cover, opinion pages, 申报表) is in bot/criteria_layout.py; the checks
beyond the schema, and where a problem sits in the file, in bot/criteria_check.py.
"""

from __future__ import annotations

import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from bot.criteria_check import consistency_problems, describe
from bot.criteria_layout import Cover, Form, Opinion, complete_form, default_cover, default_opinions
from bot.file_schema import NonEmpty, Strict, problem_words
from bot.shipped import shipped

DEFAULT_CRITERIA = shipped("criteria") / "lyg-etdz-individual.yaml"

# Codes of the evidence checks (see DESIGN.md, stable interface).
WARNING_CODES = (
    "empty",
    "too_short",
    "missing_figures",
    "missing_trend",
    "missing_past_comparison",
    "missing_benchmark",
    "missing_attachment",
)

# idcard: a 身份证号 (bot/idcard.py); table: rows the applicant adds one at a time, in `columns`
# (bot/flows/table_field.py); photo: the applicant's 1- or 2-inch photo for the 申报表's box.
FieldType = Literal["text", "longtext", "choice", "year_month", "integer", "phone", "email", "idcard", "table",
                    "photo"]


class ProfileField(Strict):
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,20}$")]
    label: NonEmpty
    type: FieldType
    required: bool = True
    help: str = ""
    max_length: int | None = Field(default=None, gt=0)
    min: int | None = None
    max: int | None = None
    choices: list[NonEmpty] = Field(default_factory=list)
    columns: list[NonEmpty] = Field(default_factory=list)  # a table's, in order; the first a time (起止年月)
    max_rows: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _choices_fit_type(self) -> ProfileField:
        if self.type == "table" and len(self.columns) < 2:
            raise ValueError("type 为 table 的字段必须给出至少两列 columns")
        if self.type != "table" and (self.columns or self.max_rows):
            raise ValueError("只有 type 为 table 的字段可以有 columns 和 max_rows")
        if self.type == "choice" and not self.choices:
            raise ValueError("type 为 choice 的字段必须给出 choices")
        if self.type != "choice" and self.choices:
            raise ValueError("只有 type 为 choice 的字段可以有 choices")
        if len(set(self.choices)) != len(self.choices):
            raise ValueError("choices 有重复项")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min（{self.min}）不能大于 max（{self.max}）")
        return self


class Question(Strict):
    id: Annotated[str, Field(pattern=r"^[1-9]\.[1-9][a-z]$")]
    kind: Literal["process", "result"]
    text: NonEmpty
    hint: NonEmpty
    example: NonEmpty
    evidence: list[Literal[WARNING_CODES]] = Field(default_factory=list)  # type: ignore[valid-type]
    max_chars: int | None = Field(default=None, gt=0)

    @property
    def item_id(self) -> str:
        return self.id[:-1]

    @property
    def category_id(self) -> str:
        return self.id.split(".")[0]


class Item(Strict):
    id: Annotated[str, Field(pattern=r"^[1-9]\.[1-9]$")]
    title: NonEmpty
    questions: Annotated[list[Question], Field(min_length=1)]


class Category(Strict):
    id: Annotated[str, Field(pattern=r"^[1-9]$")]
    title: NonEmpty
    items: Annotated[list[Item], Field(min_length=1)]


class CoreConcept(Strict):
    number: int
    title: NonEmpty
    text: NonEmpty


class Budget(Strict):
    question_max_chars: int | None = Field(default=None, gt=0)
    report_max_chars: int | None = Field(default=None, gt=0)


class Criteria(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    version: Annotated[int, Field(ge=1)]
    award: NonEmpty
    document_title: NonEmpty
    source: str = ""
    budget: Budget = Budget()
    core_concepts: list[CoreConcept] = Field(default_factory=list)
    profile: Annotated[list[ProfileField], Field(min_length=1)]
    categories: Annotated[list[Category], Field(min_length=1)]
    # The 申报书's cover and opinion pages; a file without them gets the defaults (bot/criteria_layout.py).
    issuer: str = ""  # who issues the form, printed at the foot of the cover (…办公室 制)
    cover: Cover | None = None
    opinions: Annotated[list[Opinion], Field(max_length=6)] | None = None
    # The 申报表's layout; a file without it gets a default from the profile fields in order.
    form: Form | None = None

    @model_validator(mode="before")
    @classmethod
    def _award_with_issuer(cls, data: Any) -> Any:
        """`award: {name: …, issuer: …}` names the issuing office with the award (award.issuer); a plain
        `award: 名称` with a top-level `issuer:` says the same."""
        if isinstance(data, dict) and isinstance(data.get("award"), dict):
            award = dict(data["award"])
            unknown = set(award) - {"name", "issuer"}
            if unknown:
                raise ValueError(f"award 只能有 name 和 issuer，多了：{'、'.join(sorted(unknown))}")
            data = {**data, "award": award.get("name", ""), "issuer": award.get("issuer", data.get("issuer", ""))}
        return data

    # -- navigation -------------------------------------------------------

    @cached_property
    def questions(self) -> list[Question]:
        return [q for c in self.categories for i in c.items for q in i.questions]

    @cached_property
    def question_index(self) -> dict[str, int]:
        return {q.id: n for n, q in enumerate(self.questions)}

    @cached_property
    def _items(self) -> dict[str, Item]:
        return {i.id: i for c in self.categories for i in c.items}

    @cached_property
    def _categories(self) -> dict[str, Category]:
        return {c.id: c for c in self.categories}

    @cached_property
    def _fields(self) -> dict[str, ProfileField]:
        return {f.key: f for f in self.profile}

    def question(self, question_id: str) -> Question | None:
        index = self.question_index.get(question_id)
        return None if index is None else self.questions[index]

    def item(self, item_id: str) -> Item | None:
        return self._items.get(item_id)

    def category(self, category_id: str) -> Category | None:
        return self._categories.get(category_id)

    def field(self, key: str) -> ProfileField | None:
        return self._fields.get(key)

    def max_chars(self, question: Question) -> int | None:
        return question.max_chars or self.budget.question_max_chars

    @cached_property
    def cover_layout(self) -> Cover:
        return self.cover if self.cover is not None else default_cover()

    @cached_property
    def opinion_pages(self) -> list[Opinion]:
        return self.opinions if self.opinions is not None else default_opinions()

    @cached_property
    def form_layout(self) -> Form:
        """The 申报表 as printed (see complete_form)."""
        return complete_form(self.form, self.profile)


class CriteriaError(Exception):
    """A criteria file that cannot be used; the message names file, place and problem."""


def load_criteria(path: str | Path = DEFAULT_CRITERIA) -> Criteria:
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CriteriaError(f"{path}: 找不到文件") from exc
    except IsADirectoryError as exc:
        raise CriteriaError(f"{path}: 这是一个文件夹，请给出 criteria 的 .yaml 文件") from exc
    except OSError as exc:
        raise CriteriaError(f"{path}: 无法读取：{exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CriteriaError(f"{path}: 不是 UTF-8 编码的文本文件") from exc
    try:
        data = yaml.safe_load(source)
        root = yaml.compose(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else "未知位置"
        raise CriteriaError(f"{path}: {where}: YAML 格式错误：{getattr(exc, 'problem', exc)}") from exc
    if data is None:
        raise CriteriaError(f"{path}: 文件是空的")
    if not isinstance(data, dict):
        raise CriteriaError(
            f"{path}: 第 1 行: 文件顶层应是 key: value 的映射（id、version、categories……），而不是列表或单个值"
        )
    try:
        criteria = Criteria.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: {describe(root, data, tuple(error['loc']))}: {problem_words(error, 'yaml')}"
                 for error in exc.errors()]
        raise CriteriaError("\n".join(lines)) from exc
    problems = consistency_problems(criteria)
    if problems:
        raise CriteriaError("\n".join(f"{path}: {describe(root, data, loc)}: {text}" for loc, text in problems))
    return criteria


def parse_target(criteria: Criteria, text: str) -> str | None:
    """Accept '3.1', '3.1b', '３.１Ｂ' and return a known item or question id, or None."""
    # NFKC: full-width digits and letters as typed on a Chinese keyboard, and ． as a dot.
    normalised = unicodedata.normalize("NFKC", text).strip().lower().replace("。", ".")
    if criteria.question(normalised) or criteria.item(normalised):
        return normalised
    return None
