"""What is wrong with a criteria file beyond its schema (ids that repeat or sit under the wrong parent,
a form or cover naming fields that do not exist), and where: a problem's place in the file as its
line and path, `第 N 行 categories[0].items[1].questions[2].id（1.2c）`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from bot.criteria_layout import COVER_DATE, COVER_YEAR, GRID_TYPES, Form, cell_key

if TYPE_CHECKING:
    from bot.criteria import Criteria, ProfileField

Problem = tuple[tuple[str | int, ...], str]  # where (a pydantic-style location) and what


def consistency_problems(criteria: Criteria) -> list[Problem]:
    """What the schema alone cannot see: ids that repeat or sit under the wrong parent."""
    problems: list[Problem] = []
    fields = {f.key: f for f in criteria.profile}
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
        problems.extend(form_problems(criteria.form, fields))
    for n, line in enumerate(criteria.cover.lines if criteria.cover else []):
        if line.field not in (None, COVER_DATE, COVER_YEAR) and line.field not in fields:
            problems.append((("cover", "lines", n, "field"),
                             f"封面的「{line.label}」显示 {line.field}，但申报表（profile）没有这个 key；"
                             f"可用 {COVER_DATE}（申报日期）、{COVER_YEAR}（申报年度）或 profile 里的 key，"
                             "不写 field 则留空待手填"))
    return problems


def _path(loc: tuple[str | int, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def form_problems(form: Form, fields: dict[str, ProfileField]) -> list[Problem]:
    """Keys the form names that are no profile field, named twice, or of a type that cannot sit there."""
    problems: list[Problem] = []
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
            check(cell_key(cell), loc, "表格行（rows）", GRID_TYPES | {"longtext"})
    for n, key in enumerate(form.tables):
        check(key, ("form", "tables", n), "子表（tables）", frozenset({"table"}))
    for n, key in enumerate(form.boxes):
        check(key, ("form", "boxes", n), "文字框（boxes）", GRID_TYPES | {"longtext"})
    if form.rows and form.photo_rows > len(form.rows):
        problems.append((("form", "photo_rows"), f"照片框占 {form.photo_rows} 行（photo_rows），但 rows 只有 "
                                                 f"{len(form.rows)} 行"))
    return problems


_FORM_PLACES = "照片（type: photo）放 photo，表格（type: table）放 tables，其余放 rows 或 boxes"


def describe(root: yaml.Node | None, data: Any, loc: tuple[Any, ...]) -> str:
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

