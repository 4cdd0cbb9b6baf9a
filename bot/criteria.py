"""The award's criteria file: load it, validate it, and answer questions about it.

A criteria file is the whole self-assessment guide as data (profile fields, core
concepts, categories, items, questions). Another award is another file, not new code.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.shipped import shipped
from bot.wording import say

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
NonEmpty = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileField(_Strict):
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


class Question(_Strict):
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


class Item(_Strict):
    id: Annotated[str, Field(pattern=r"^[1-9]\.[1-9]$")]
    title: NonEmpty
    questions: Annotated[list[Question], Field(min_length=1)]


class Category(_Strict):
    id: Annotated[str, Field(pattern=r"^[1-9]$")]
    title: NonEmpty
    items: Annotated[list[Item], Field(min_length=1)]


class CoreConcept(_Strict):
    number: int
    title: NonEmpty
    text: NonEmpty


class Budget(_Strict):
    question_max_chars: int | None = Field(default=None, gt=0)
    report_max_chars: int | None = Field(default=None, gt=0)


class CoverLine(_Strict):
    """A line under the cover's title: a label and what it shows."""

    label: NonEmpty
    # A profile key, `date` for the 申报日期 or `year` for the 申报年度; without it the line stays
    # blank, to be filled in by hand.
    field: str | None = None


class Cover(_Strict):
    number: str = ""  # the label of the office's 编号 box at the top right; empty: no box
    lines: Annotated[list[CoverLine], Field(min_length=1, max_length=8)]


class Opinion(_Strict):
    """One opinion page: a box for whoever signs and stamps it (所在单位, 推荐单位, 评审委员会…)."""

    title: NonEmpty
    note: str = ""  # printed in brackets at the top of the box
    signature: str = ""  # e.g. 负责人（签字）; empty: no signature line
    seal: str = ""  # e.g. 单位（盖章）; empty: no seal line


class FormCell(_Strict):
    """A profile field in the 申报表's grid: its label cell and its value cell, `span` pairs wide."""

    field: NonEmpty
    span: int = Field(default=1, ge=1)


class Form(_Strict):
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
_GRID_TYPES = frozenset({"text", "choice", "year_month", "integer", "phone", "email", "idcard"})


def complete_form(form: Form | None, profile: list[ProfileField]) -> Form:
    """The form as printed: the criteria file's, or a default of two pairs a row with the photo box,
    the tables and the long texts; a field the file's form leaves out is added at the end of its kind,
    so nothing the applicant filled in is missing from the 申报书."""
    if form is None:
        form = Form(columns=2, rows=[])
    placed = set(form.keys())
    missing = [f for f in profile if f.key not in placed]
    photo = form.photo or next((f.key for f in missing if f.type == "photo"), None)
    grid = [f.key for f in missing if f.type in _GRID_TYPES]
    rows = list(form.rows)
    # Grid fields the form leaves out: `columns` a row; tables and long texts after the form's own.
    rows += [grid[n:n + form.columns] for n in range(0, len(grid), form.columns)]
    tables = list(form.tables) + [f.key for f in missing if f.type == "table"]
    boxes = list(form.boxes) + [f.key for f in missing if f.type == "longtext"]
    return form.model_copy(update={
        "photo": photo, "rows": rows, "tables": tables, "boxes": boxes,
        "photo_rows": max(1, min(form.photo_rows, len(rows))) if rows else 1,
    })


def form_problems(form: Form, fields: dict[str, ProfileField]) -> list[tuple[tuple[str | int, ...], str]]:
    """Keys the form names that are no profile field, named twice, or of a type that cannot sit there."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen: dict[str, str] = {}
    available = "、".join(fields)

    def check(key: str, loc: tuple[str | int, ...], where: str, types: frozenset[str] | None) -> None:
        field = fields.get(key)
        if field is None:
            problems.append((loc, f"申报表格式（form）{where}写了 {key}，但申报表（profile）没有这个 key；"
                                  f"可用：{available}"))
            return
        if key in seen:
            problems.append((loc, f"申报表格式（form）里 {key}（{field.label}）出现了两次（已在 {seen[key]}），"
                                  "每个字段只能放一处"))
            return
        seen[key] = _path(loc)
        if types is not None and field.type not in types:
            problems.append((loc, f"{key}（{field.label}）的 type 是 {field.type}，不能放在{where}：{_FORM_PLACES}"))

    if form.photo is not None:
        check(form.photo, ("form", "photo"), "照片框（photo）", frozenset({"photo"}))
    for r, row in enumerate(form.rows):
        for c, cell in enumerate(row):
            loc: tuple[str | int, ...] = ("form", "rows", r, c) if isinstance(cell, str) else ("form", "rows", r, c,
                                                                                              "field")
            check(cell_key(cell), loc, "表格行（rows）", _GRID_TYPES | {"longtext"})
    for n, key in enumerate(form.tables):
        check(key, ("form", "tables", n), "子表（tables）", frozenset({"table"}))
    for n, key in enumerate(form.boxes):
        check(key, ("form", "boxes", n), "文字框（boxes）", _GRID_TYPES | {"longtext"})
    if form.rows and form.photo_rows > len(form.rows):
        problems.append((("form", "photo_rows"), f"照片框占 {form.photo_rows} 行（photo_rows），但 rows 只有 "
                                                 f"{len(form.rows)} 行"))
    return problems


_FORM_PLACES = "照片（type: photo）放 photo，表格（type: table）放 tables，其余放 rows 或 boxes"


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


class Criteria(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    version: Annotated[int, Field(ge=1)]
    award: NonEmpty
    document_title: NonEmpty
    source: str = ""
    budget: Budget = Budget()
    core_concepts: list[CoreConcept] = Field(default_factory=list)
    profile: Annotated[list[ProfileField], Field(min_length=1)]
    categories: Annotated[list[Category], Field(min_length=1)]
    # The 申报书's cover and opinion pages; a file without them gets the defaults above.
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

    def items(self) -> Iterator[tuple[Category, Item]]:
        for category in self.categories:
            for item in category.items:
                yield category, item

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


def consistency_problems(criteria: Criteria) -> list[tuple[tuple[str | int, ...], str]]:
    """What the schema alone cannot see: ids that repeat or sit under the wrong parent."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    first_seen: dict[str, str] = {}

    def once(kind: str, value: str, loc: tuple[str | int, ...]) -> None:
        key = f"{kind}:{value}"
        if key in first_seen:
            problems.append((loc, f"{kind}重复：{value}（与 {first_seen[key]} 相同）"))
        else:
            first_seen[key] = _path(loc)

    for n, field in enumerate(criteria.profile):
        once("申报表字段 key ", field.key, ("profile", n, "key"))
    for c, category in enumerate(criteria.categories):
        once("类目 id ", category.id, ("categories", c, "id"))
        for i, item in enumerate(category.items):
            loc = ("categories", c, "items", i)
            once("条目 id ", item.id, (*loc, "id"))
            if not item.id.startswith(category.id + "."):
                problems.append(((*loc, "id"), f"条目 {item.id} 不属于类目 {category.id}"))
            for q, question in enumerate(item.questions):
                qloc = (*loc, "questions", q, "id")
                once("题目 id ", question.id, qloc)
                if question.item_id != item.id:
                    problems.append((qloc, f"题目 {question.id} 不属于条目 {item.id}"))
    if criteria.form is not None:
        problems.extend(form_problems(criteria.form, criteria._fields))
    for n, line in enumerate(criteria.cover.lines if criteria.cover else []):
        if line.field not in (None, COVER_DATE, COVER_YEAR) and line.field not in criteria._fields:
            problems.append((("cover", "lines", n, "field"),
                             f"封面的「{line.label}」显示 {line.field}，但申报表（profile）没有这个 key；"
                             f"可用 {COVER_DATE}（申报日期）、{COVER_YEAR}（申报年度）或 profile 里的 key，"
                             "不写 field 则留空待手填"))
    return problems


def _path(loc: tuple[str | int, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


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
        lines = [f"{path}: {_describe(root, data, tuple(error['loc']))}: {_message(error)}" for error in exc.errors()]
        raise CriteriaError("\n".join(lines)) from exc
    problems = consistency_problems(criteria)
    if problems:
        raise CriteriaError("\n".join(f"{path}: {_describe(root, data, loc)}: {text}" for loc, text in problems))
    return criteria


def _message(error: Any) -> str:
    """pydantic's finding in the words of someone editing the file."""
    kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    known = {
        "missing": "缺少必填项",
        "extra_forbidden": "不认识的键（拼写错误？）",
        "literal_error": f"应为 {ctx.get('expected')} 之一，实际是 {given!r}",
        "string_pattern_mismatch": f"格式不对：{given!r} 不符合 {ctx.get('pattern')}",
        "string_too_short": "不能为空",
        "too_short": "不能为空",
        "string_type": f"应为文本，实际是 {given!r}",
        "int_parsing": f"应为整数，实际是 {given!r}",
        "int_type": f"应为整数，实际是 {given!r}",
        "bool_parsing": f"应为 true 或 false，实际是 {given!r}",
        "list_type": "应为列表（- 开头的若干项）",
        "model_type": "应为映射（key: value）",
        "greater_than": f"应大于 {ctx.get('gt')}",
        "greater_than_equal": f"应不小于 {ctx.get('ge')}",
    }
    return known.get(kind, str(error["msg"]))


def _describe(root: yaml.Node | None, data: Any, loc: tuple[Any, ...]) -> str:
    """Turn a pydantic location into `第 N 行 categories[0].items[1].questions[2].id (1.2c)`."""
    node = root
    value = data
    label = ""
    path = _path(loc)
    for part in loc:
        value, node = _step(value, node, part)
        if isinstance(value, dict):
            named = value.get("id") or value.get("key")
            label = named if isinstance(named, str) else ""
    line = f"第 {node.start_mark.line + 1} 行 " if node is not None else ""
    return f"{line}{path or '（顶层）'}" + (f"（{label}）" if label else "")


def _step(value: Any, node: yaml.Node | None, part: Any) -> tuple[Any, yaml.Node | None]:
    child_value: Any = None
    if isinstance(value, dict) and part in value:
        child_value = value[part]
    elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        child_value = value[part]
    child_node: yaml.Node | None = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(part):
                child_node = value_node
                break
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        child_node = node.value[part]
    # A missing key is reported at its parent's line.
    return child_value, child_node if child_node is not None else node


def parse_target(criteria: Criteria, text: str) -> str | None:
    """Accept '3.1', '3.1b', '３.１Ｂ' and return a known item or question id, or None."""
    normalised = text.strip().translate(_FULLWIDTH).lower().replace("。", ".").replace("．", ".")
    if criteria.question(normalised) or criteria.item(normalised):
        return normalised
    return None


_FULLWIDTH = str.maketrans({chr(0xFF10 + d): str(d) for d in range(10)} | {
    chr(0xFF21 + n): chr(0x61 + n) for n in range(26)} | {chr(0xFF41 + n): chr(0x61 + n) for n in range(26)})
