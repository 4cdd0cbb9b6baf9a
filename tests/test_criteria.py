"""The award's guide as data: verbatim, complete, in order — and a broken file says what is wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.criteria import CriteriaError, load_criteria, parse_target
from tests.conftest import ROOT, award_bot

GUIDE = ROOT / "criteria" / "source" / "lyg-etdz-individual-guide.txt"
SHARED_SEED = ROOT.parent / "shared" / "seed" / "000_0553d68272a6fe18.txt"
CRITERIA_FILE = ROOT / "criteria" / "lyg-etdz-individual.yaml"


def guide_questions() -> list[tuple[str, str]]:
    """(question id, sentence) in the order the guide lists them, read from the guide itself."""
    found = []
    item = None
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        heading = re.match(r"^([1-7]\.[1-9])\s", line)
        if heading:
            item = heading.group(1)
            continue
        part = re.match(r"^([a-c])）(.+)$", line)
        if part and item:
            found.append((item + part.group(1), part.group(2).strip()))
    return found


def test_the_guide_in_the_repo_is_the_seed() -> None:
    if not SHARED_SEED.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert GUIDE.read_bytes() == SHARED_SEED.read_bytes()


def test_every_question_of_the_guide_is_in_the_file_verbatim_with_its_id_and_in_order(criteria) -> None:
    expected = guide_questions()
    assert len(expected) == 39
    assert [(q.id, q.text) for q in criteria.questions] == expected


def test_the_file_has_seven_categories_sixteen_items_and_eight_core_concepts(criteria) -> None:
    assert [c.title for c in criteria.categories] == [
        "意识与素质", "目标与计划", "顾客", "学习与发展", "工作过程", "改进与创新", "结果"]
    assert sum(len(c.items) for c in criteria.categories) == 16
    assert len(criteria.core_concepts) == 8
    guide = GUIDE.read_text(encoding="utf-8")
    for concept in criteria.core_concepts:
        for paragraph in concept.text.split("\n"):
            assert paragraph in guide, concept.title


def test_results_are_result_questions_and_everything_has_a_hint_and_example(criteria) -> None:
    for question in criteria.questions:
        assert question.kind == ("result" if question.id.startswith("7.") else "process"), question.id
        assert question.hint and question.example


def test_the_profile_has_the_fields_of_the_application_form(criteria) -> None:
    labels = [f.label for f in criteria.profile]
    for label in ["姓名", "性别", "出生年月", "政治面貌", "学历/学位", "工作单位", "职务", "职称",
                  "从事质量工作年限", "手机", "电子邮箱", "主要工作经历", "身份证号", "照片", "主要荣誉"]:
        assert label in labels
    assert {f.type for f in criteria.profile} >= {"phone", "email", "year_month", "choice", "idcard", "photo",
                                                  "table"}


def test_items_and_questions_can_be_named_as_people_type_them(criteria) -> None:
    assert parse_target(criteria, "3.1") == "3.1"
    assert parse_target(criteria, " 3.1B ") == "3.1b"
    assert parse_target(criteria, "３．１ｂ") == "3.1b"
    assert parse_target(criteria, "9.9") is None
    assert parse_target(criteria, "7.4c") is None


# -- broken files -------------------------------------------------------------------


def broken(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(CRITERIA_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def first_question(data):
    return data["categories"][0]["items"][0]["questions"][0]


def test_a_question_without_an_id_is_rejected_naming_the_file_line_and_place(tmp_path) -> None:
    path = broken(tmp_path, lambda d: first_question(d).pop("id"))
    with pytest.raises(CriteriaError) as error:
        load_criteria(path)
    message = str(error.value)
    assert str(path) in message
    assert "categories[0].items[0].questions[0].id" in message
    assert "缺少必填项" in message
    # The line named is where that question starts in the file.
    line = int(re.search(r"第 (\d+) 行", message).group(1))
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].strip() == "- kind: process"
    assert "（1.1）" not in message  # not blamed on the item around it


def test_a_duplicate_question_id_is_rejected(tmp_path) -> None:
    def duplicate(data):
        data["categories"][0]["items"][0]["questions"][1]["id"] = "1.1a"

    with pytest.raises(CriteriaError, match=r"题目 id 重复：1\.1a"):
        load_criteria(broken(tmp_path, duplicate))


def test_a_bad_kind_or_field_type_is_rejected_with_the_allowed_values(tmp_path) -> None:
    def bad(data):
        first_question(data)["kind"] = "essay"
        data["profile"][0]["type"] = "telephone"

    with pytest.raises(CriteriaError) as error:
        load_criteria(broken(tmp_path, bad))
    message = str(error.value)
    assert "questions[0].kind（1.1a）" in message and "'process' or 'result'" in message
    assert "profile[0].type（name）" in message and "'phone'" in message


def test_a_question_filed_under_the_wrong_item_is_rejected_naming_both(tmp_path) -> None:
    def bad(data):
        first_question(data)["id"] = "2.1d"  # under 1.1, and no other question has this id

    path = broken(tmp_path, bad)
    with pytest.raises(CriteriaError) as error:
        load_criteria(path)
    message = str(error.value)
    assert "categories[0].items[0].questions[0].id（2.1d）: 题目 2.1d 不属于条目 1.1" in message
    line = int(re.search(r"第 (\d+) 行", message).group(1))
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].strip() == "- id: 2.1d"


def test_a_misspelt_key_is_rejected_naming_it(tmp_path) -> None:
    def bad(data):
        first_question(data)["hnit"] = "typo"

    with pytest.raises(CriteriaError) as error:
        load_criteria(broken(tmp_path, bad))
    assert "categories[0].items[0].questions[0].hnit（1.1a）: 不认识的键" in str(error.value)


def test_a_file_that_is_not_yaml_names_the_line(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nversion: [1\n", encoding="utf-8")
    with pytest.raises(CriteriaError, match=r"bad\.yaml: 第 \d+ 行: YAML 格式错误"):
        load_criteria(path)


def test_award_bot_criteria_validate_reports_ok_and_errors(tmp_path) -> None:
    ok = award_bot("criteria", "validate")
    assert ok.returncode == 0, ok.stderr
    assert "39 道题" in ok.stdout and "16 个条目" in ok.stdout
    path = broken(tmp_path, lambda d: first_question(d).pop("text"))
    bad = award_bot("criteria", "validate", str(path))
    assert bad.returncode == 1
    assert "questions[0].text" in bad.stderr and "缺少必填项" in bad.stderr


def test_a_duplicate_category_is_reported_at_its_own_line(tmp_path) -> None:
    def duplicate(data):
        data["categories"][1]["id"] = "1"

    path = broken(tmp_path, duplicate)
    with pytest.raises(CriteriaError) as error:
        load_criteria(path)
    message = str(error.value)
    assert "categories[1].id（1）: 类目 id 重复：1（与 categories[0].id 相同）" in message
    line = int(re.search(r"第 (\d+) 行", message).group(1))
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].strip() == "- id: '1'"


@pytest.mark.parametrize(("content", "expected"), [
    ("", "文件是空的"),
    ("- a\n- b\n", "不是列表或单个值"),
])
def test_an_empty_file_or_a_list_is_explained(tmp_path, content, expected) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CriteriaError, match=expected):
        load_criteria(path)


def test_a_folder_or_a_missing_file_is_explained(tmp_path) -> None:
    with pytest.raises(CriteriaError, match="这是一个文件夹"):
        load_criteria(tmp_path)
    with pytest.raises(CriteriaError, match="找不到文件"):
        load_criteria(tmp_path / "nope.yaml")


def test_a_range_with_min_above_max_is_rejected(tmp_path) -> None:
    def bad(data):
        years = next(f for f in data["profile"] if f["key"] == "years")
        years["min"], years["max"] = 60, 0

    with pytest.raises(CriteriaError, match=r"profile\[15\]（years）: min（60）不能大于 max（0）"):
        load_criteria(broken(tmp_path, bad))


def test_the_issuer_may_be_named_with_the_award_or_beside_it(tmp_path) -> None:
    data = yaml.safe_load(CRITERIA_FILE.read_text(encoding="utf-8"))
    assert load_criteria(CRITERIA_FILE).issuer == data["award"]["issuer"]  # award.issuer, as shipped
    data["award"], data["issuer"] = data["award"]["name"], "某某评审委员会办公室"
    beside = tmp_path / "beside.yaml"
    beside.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    loaded = load_criteria(beside)
    assert (loaded.award, loaded.issuer) == ("连云港经济技术开发区质量奖个人奖", "某某评审委员会办公室")
    data["award"] = {"name": "某奖", "issuer": "甲", "year": 2026}
    beside.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CriteriaError, match="award 只能有 name 和 issuer"):
        load_criteria(beside)
