"""The 一、申报表 as a form (#15): a grid laid out from the criteria file's `form`, the photo in its box,
the 身份证号 whole, 经历 and 荣誉 as sub-tables with room to write, the 简介 box; a default for files
without `form`, and a clear refusal of a bad one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from docx import Document
from docx.shared import Mm
from docx.table import Table
from openxml_audit import OpenXmlValidator
from PIL import Image

from bot.answers_file import Answers, AnswersFileError, load_answers_file
from bot.criteria import Criteria, CriteriaError, load_criteria
from bot.document import render_application
from bot.document_context import build_context
from bot.form_grid import TABLE_MIN_ROWS
from bot.pdf import PdfConverter
from bot.table_rows import rows_of
from tests.conftest import ROOT, award_bot
from tests.sample_document import CRITERIA_FILE, DAY, NEEDS_SOFFICE, SAMPLE, W, load_sample, render_sample
from tests.test_document import paragraphs


@pytest.fixture(scope="module")
def sample(criteria: Criteria) -> Answers:
    return load_sample(criteria)


@pytest.fixture(scope="module")
def docx(sample: Answers, criteria: Criteria, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_sample(criteria, sample, tmp_path_factory.mktemp("form"))


def form_table(path: Path) -> Table:
    return next(t for t in Document(str(path)).tables if t.rows[0].cells[0].text == "姓名")


def cells_of(table: Table) -> list[list[str]]:
    """Each row's distinct cells' text (a merged cell once), left to right."""
    rows = []
    for row in table.rows:
        seen, texts = set(), []
        for cell in row.cells:
            if cell._tc not in seen:
                seen.add(cell._tc)
                texts.append(cell.text.replace("\u200b", ""))
        rows.append(texts)
    return rows


def test_the_grid_has_each_label_beside_its_value_in_the_order_of_the_form(
    docx: Path, sample: Answers, criteria: Criteria
) -> None:
    rows = cells_of(form_table(docx))
    form = criteria.form_layout
    assert form.columns == 3 and form.photo == "photo"
    for r, layout in enumerate(form.rows):
        texts = rows[r]
        for n, cell in enumerate(layout):
            field = criteria.field(cell if isinstance(cell, str) else cell.field)
            assert texts[2 * n] == field.label, (r, n)
            value = sample.profile[field.key]
            assert texts[2 * n + 1] == (value.replace("-", ".") if field.type == "year_month" else value), field.key
    assert rows[0][:6] == ["姓名", "陈海涛", "性别", "男", "民族", "汉族"]
    # Labels in 黑体 (the template's 申报表标签 style), values in 申报表内容.
    first = form_table(docx).rows[0].cells
    assert first[0].paragraphs[0].style.name == "申报表标签"
    assert first[1].paragraphs[0].style.name == "申报表内容"


def test_the_idcard_is_printed_whole_in_the_application(docx: Path, sample: Answers) -> None:
    number = sample.profile["idcard"]
    assert len(number) == 18
    rows = cells_of(form_table(docx))
    assert ["身份证号", number] == rows[2][:2]


def test_the_photo_sits_in_a_3_by_4_box_at_the_right_of_the_first_rows(docx: Path, criteria: Criteria) -> None:
    table = form_table(docx)
    photo_rows = criteria.form_layout.photo_rows
    boxes = [row.cells[-1] for row in table.rows[:photo_rows]]
    assert all(box._tc is boxes[0]._tc for box in boxes)  # one cell, merged down
    assert table.rows[photo_rows].cells[-1]._tc is not boxes[0]._tc
    drawings = list(boxes[0]._tc.iter(f"{W}drawing"))
    assert len(drawings) == 1
    shape = next(s for s in Document(str(docx)).inline_shapes)  # the first picture is the photo
    assert abs(shape.width - Mm(25)) < Mm(0.2) and abs(shape.height * 3 - shape.width * 4) < Mm(0.5)
    # Rows below the photo reach across: their last value takes the photo's column too.
    assert table.rows[photo_rows].cells[-1]._tc is table.rows[photo_rows].cells[-2]._tc


def test_work_and_honours_are_sub_tables_with_their_columns_as_header_and_a_row_each(
    docx: Path, sample: Answers, criteria: Criteria
) -> None:
    rows = cells_of(form_table(docx))
    for key in ("experience", "honours"):
        field = criteria.field(key)
        entries = rows_of(sample.profile[key], len(field.columns))
        assert len(entries) >= 4
        start = next(n for n, row in enumerate(rows) if row[0] == field.label)
        assert rows[start] == [field.label, *field.columns]
        for n, entry in enumerate(entries, start=1):
            assert rows[start + n][-len(field.columns):] == entry
    summary = next(row for row in rows if row[0] == "个人简介及主要事迹")
    assert summary[1].startswith("陈海涛，2007年参加工作")


def test_an_empty_application_has_rows_to_write_in_and_the_photo_words(criteria: Criteria, tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    render_application(criteria, {"name": "王五"}, {}, path, day=DAY, draft=True)
    table = form_table(path)
    rows = cells_of(table)
    assert rows[0][-1] == "照片\n（一寸或二寸）"
    assert not list(table._tbl.iter(f"{W}drawing"))
    for key in ("experience", "honours"):
        field = criteria.field(key)
        start = next(n for n, row in enumerate(rows) if row[0] == field.label)
        assert rows[start][1:] == field.columns
        blank = rows[start + 1:start + 1 + TABLE_MIN_ROWS]
        assert len(blank) == TABLE_MIN_ROWS and all(not any(row[-len(field.columns):]) for row in blank)
    # Required values not given say so; optional ones stay blank, to be filled in by hand.
    assert rows[1][1] == "（未填写）" and rows[1][-2] == ""  # 参加工作时间, left of the photo box


def test_a_criteria_file_without_form_gets_two_pairs_a_row_in_profile_order(tmp_path: Path) -> None:
    data = yaml.safe_load(CRITERIA_FILE.read_text(encoding="utf-8"))
    del data["form"]
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    loaded = load_criteria(old)
    form = loaded.form_layout
    grid = [f.key for f in loaded.profile if f.type not in ("photo", "table", "longtext")]
    assert form.columns == 2 and form.photo == "photo"
    assert form.rows == [grid[n:n + 2] for n in range(0, len(grid), 2)]
    assert form.tables == ["experience", "honours"] and form.boxes == ["summary"]
    path = tmp_path / "old.docx"
    render_application(loaded, {"name": "王五", "gender": "男"}, {}, path, day=DAY)
    assert cells_of(form_table(path))[0][:4] == ["姓名", "王五", "性别", "男"]


def test_a_field_the_form_leaves_out_is_still_printed(tmp_path: Path) -> None:
    data = yaml.safe_load(CRITERIA_FILE.read_text(encoding="utf-8"))
    data["form"]["rows"] = [row for row in data["form"]["rows"] if "name" not in row]
    data["form"]["boxes"] = []
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    form = load_criteria(path).form_layout
    assert ["name", "gender", "ethnicity"] == form.rows[-1] and form.boxes == ["summary"]


def bad_form(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(CRITERIA_FILE.read_text(encoding="utf-8"))
    change(data["form"])
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "expected"), [
    (lambda form: form["rows"].append(["hobby"]), r"form\.rows\[9\]\[0\].*hobby.*申报表（profile）没有这个 key"),
    (lambda form: form["rows"].append(["name"]), r"name（姓名）出现了两次"),
    (lambda form: form.update(photo="name"), r"form\.photo.*name（姓名）的 type 是 text，不能放在照片框"),
    (lambda form: form["tables"].append("summary"), r"summary.*不能放在子表"),
    (lambda form: form["rows"][2].append("ethnicity"), r"第 3 行（rows\[2\]）占 4 格，超出每行 3 格"),
    (lambda form: form.update(photo_rows=20), r"form\.photo_rows"),
])
def test_a_bad_form_is_refused_with_a_clear_message(tmp_path: Path, change, expected) -> None:
    path = bad_form(tmp_path, change)
    with pytest.raises(CriteriaError, match=expected):
        load_criteria(path)


def test_award_bot_criteria_validate_names_the_line_of_a_field_placed_twice(tmp_path: Path) -> None:
    path = bad_form(tmp_path, lambda form: form["boxes"].append("idcard"))
    done = award_bot("criteria", "validate", str(path))
    assert done.returncode != 0
    assert "第 " in done.stderr + done.stdout and "idcard（身份证号）出现了两次" in done.stderr + done.stdout


# -- the answers file --------------------------------------------------------------------------


def answers_file(tmp_path: Path, profile: dict) -> Path:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    data["profile"].update(profile)
    data["attachments"] = []
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_an_answers_file_photo_not_3_by_4_is_cut_into_a_copy_and_the_original_left_alone(
    criteria: Criteria, tmp_path: Path
) -> None:
    wide = tmp_path / "wide.png"
    Image.new("RGB", (800, 600), (200, 30, 30)).save(wide)
    before = wide.read_bytes()
    loaded = load_answers_file(answers_file(tmp_path, {"photo": "wide.png"}), criteria, today=DAY)
    cut = Path(loaded.profile["photo"])
    assert cut != wide and wide.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "answers.json", "wide.png"]
    with Image.open(cut) as image:
        assert image.size == (390, 520)
    # Already 3:4: used as it is.
    same = load_answers_file(SAMPLE, criteria, today=DAY)
    assert same.profile["photo"] == str(ROOT / "examples" / "photos" / "portrait-silhouette.jpg")


def test_an_answers_file_with_a_missing_or_broken_photo_or_bad_table_says_so(
    criteria: Criteria, tmp_path: Path
) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    with pytest.raises(AnswersFileError) as missing:
        load_answers_file(answers_file(tmp_path, {"photo": "nobody.jpg", "honours": [["2024", "a", "b", "c"]]}),
                          criteria, today=DAY)
    assert "profile.photo: 找不到或无法读取照片 nobody.jpg" in str(missing.value)
    assert "profile.honours: 应为行的列表" in str(missing.value)
    with pytest.raises(AnswersFileError, match=r"profile\.photo: broken\.jpg 打不开"):
        load_answers_file(answers_file(tmp_path, {"photo": "broken.jpg"}), criteria, today=DAY)


def test_an_old_answers_file_still_renders_and_names_the_new_required_fields(
    criteria: Criteria, tmp_path: Path
) -> None:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    for key in ("ethnicity", "idcard", "photo", "school", "work_start", "unit_code", "address", "office_phone",
                "honours", "summary"):
        del data["profile"][key]
    data["profile"]["experience"] = "2007.07—2011.06 连云港某重型机械有限公司 机加工艺员"
    data["attachments"] = []
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    loaded = load_answers_file(path, criteria, today=DAY)
    assert "申报表未填：民族、身份证号" in loaded.notes
    out = tmp_path / "old.docx"
    render_application(criteria, loaded.profile, loaded.answers, out, day=DAY)
    rows = cells_of(form_table(out))
    assert ["起止年月", "工作单位", "职务"] in [row[1:] for row in rows]
    assert ["2007.07—2011.06", "连云港某重型机械有限公司", "机加工艺员"] in [row[-3:] for row in rows]


def test_the_form_is_valid_office_open_xml_and_verified_value_by_value(docx: Path, criteria: Criteria,
                                                                       sample: Answers) -> None:
    result = OpenXmlValidator().validate(str(docx))
    assert result.is_valid, [e.description for e in result.errors[:10]]
    context = build_context(criteria, sample.profile, sample.answers, day=DAY, draft=False)
    where = {w for w, _ in context["form"].values()}
    assert {"身份证号", "主要工作经历", "主要荣誉", "个人简介及主要事迹"} <= where


def test_user_text_with_docxtpl_sequences_in_the_grid_comes_out_as_typed(criteria: Criteria, tmp_path: Path) -> None:
    path = tmp_path / "u.docx"
    render_application(criteria, {"name": "王_{_{五}_}", "school": "{_%大学%_} a_b"}, {}, path, day=DAY)
    texts = [text for _, text in paragraphs(path)]
    assert "王_{_{五}_}" in texts and "{_%大学%_} a_b" in texts


# -- as printed ------------------------------------------------------------------------------


@NEEDS_SOFFICE
def test_in_the_pdf_the_form_fills_one_page_with_the_photo_the_tables_and_the_box(
    docx: Path, sample: Answers, tmp_path_factory: pytest.TempPathFactory
) -> None:
    converter = PdfConverter.find(tmp_path_factory.mktemp("libreoffice"))
    assert converter is not None
    pdf = docx.with_suffix(".pdf")
    converter.convert(docx, pdf)
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    form = next(n for n, page in enumerate(pages) if page.lstrip().startswith("一、申报表"))
    page = pages[form]
    for text in (sample.profile["idcard"], "主要荣誉", "起止年月", "授予单位",
                 "连云港市总工会", "个人简介"):
        assert text in page, text
    # The whole 简介 is on the form's page, and the report starts on the next: no page for a last line.
    assert "IATF 16949 认证" in page.replace("\u200b", "")
    assert pages[form + 1].lstrip().startswith("二、自评报告")
