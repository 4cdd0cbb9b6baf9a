"""The 申报书 as the award office receives it: read back with python-docx, checked against the schema."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Mm
from docx.table import Table
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate
from openxml_audit import OpenXmlValidator

from bot.answers_file import Answers, AnswersFileError, load_answers_file
from bot.criteria import Criteria
from bot.document import TEMPLATE, DocumentError, render_application
from bot.document_context import EvidenceFile, build_context
from bot.document_text import lines_of
from bot.table_rows import rows_of
from tests.conftest import PROFILE, ROOT, award_bot, jpeg, png

SAMPLE = ROOT / "examples" / "answers.sample.json"
DAY = date(2026, 11, 20)


def paragraphs(path: Path) -> list[tuple[str, str]]:
    """(style, text) of every paragraph of the body, table cells included, in reading order, as a
    reader sees it: without the invisible break opportunities long runs get (bot/typeset.py)."""
    found: list[tuple[str, str]] = []

    def walk(container) -> None:
        for child in container.iter_inner_content():
            if isinstance(child, Paragraph):
                found.append((child.style.name if child.style is not None else "", child.text.replace("\u200b", "")))
            elif isinstance(child, Table):
                seen = set()  # a merged cell is listed once for each grid column and row it covers
                for row in child.rows:
                    for cell in row.cells:
                        if cell._tc not in seen:
                            seen.add(cell._tc)
                            walk(cell)

    walk(Document(str(path)))
    return found


def answer_after(found: list[tuple[str, str]], heading: str) -> list[str]:
    """The body paragraphs under one question's heading, up to the next heading."""
    texts = [text for _, text in found]
    start = texts.index(heading) + 1
    lines = []
    for style, text in found[start:]:
        if style.startswith("Heading") or style in ("材料引用", "字数标题"):
            break
        lines.append(text)
    return lines


@pytest.fixture(scope="module")
def sample(criteria: Criteria) -> Answers:
    return load_answers_file(SAMPLE, criteria, today=DAY)


@pytest.fixture(scope="module")
def sample_docx(sample: Answers, criteria: Criteria, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("doc") / "sample.docx"
    render_application(criteria, sample.profile, sample.answers, path, attachments=sample.attachments, day=DAY)
    return path


def test_the_full_example_shows_every_answer_verbatim_in_criteria_order(
    sample: Answers, sample_docx: Path, criteria: Criteria
) -> None:
    assert len(sample.answers) == len(criteria.questions) == 39
    found = paragraphs(sample_docx)
    texts = [text for _, text in found]
    headings = [f"{q.id}　{q.text}" for q in criteria.questions]
    positions = [texts.index(heading) for heading in headings]
    assert positions == sorted(positions), "questions out of criteria order"
    for question in criteria.questions:
        shown = answer_after(found, f"{question.id}　{question.text}")
        # Verbatim: the applicant's words, not one character changed, each line its own paragraph.
        written = [line.strip() for line in sample.answers[question.id].split("\n") if line.strip()]
        assert shown == written, question.id
    # The 16 items and 7 categories are headings too, in order.
    item_positions = [texts.index(f"{i.id}　{i.title}") for c in criteria.categories for i in c.items]
    assert item_positions == sorted(item_positions) and len(item_positions) == 16


def test_the_cover_and_form_name_the_applicant_and_every_profile_value(
    sample: Answers, sample_docx: Path, criteria: Criteria
) -> None:
    texts = [text for _, text in paragraphs(sample_docx)]
    assert criteria.document_title in texts
    assert sample.profile["name"] in texts and sample.profile["unit"] in texts
    assert "2026年11月20日" in texts
    # The cover's foot: the issuing office and the year of the 申报日期.
    foot = [p.text for p in Document(str(sample_docx)).sections[0].first_page_footer.paragraphs]
    assert foot == [f"{criteria.issuer}　制", "二〇二六年"]
    for field in criteria.profile:
        if field.type == "photo":  # the photo itself, in its box (tests/test_document_form.py)
            continue
        assert field.label in texts
        if field.type == "table":
            for row in rows_of(sample.profile[field.key], len(field.columns)):
                assert all(cell in texts for cell in row if cell), field.key
            continue
        printed = sample.profile.get(field.key)
        if field.type == "year_month":
            printed = printed.replace("-", ".")  # 1984.09, as forms write it
        for line in (text.replace("\u200b", "") for text in lines_of(printed)):
            assert line in texts, field.key
    for heading in ("三、证明材料清单", "四、申报人承诺", "五、所在单位意见", "六、推荐单位意见", "七、评审委员会意见"):
        assert heading in texts
    assert any("盖章" in text for text in texts) and any("签字" in text for text in texts)
    # A final document carries no draft mark.
    assert not any("草稿" in text for text in texts)


def test_every_attached_photo_is_embedded_and_fits_the_page(sample: Answers, sample_docx: Path) -> None:
    document = Document(str(sample_docx))
    photos = {hashlib.sha256(a.path.read_bytes()).hexdigest() for a in sample.attachments}
    assert len(photos) >= 3
    embedded = {hashlib.sha256(part.blob).hexdigest() for part in document.part.package.image_parts}
    assert photos <= embedded
    assert len(document.inline_shapes) == len(sample.attachments) + 1  # and the applicant's photo
    for shape in document.inline_shapes:
        assert shape.width <= Mm(150.5) and shape.height <= Mm(190.5)
    texts = [text for _, text in paragraphs(sample_docx)]
    for n, attachment in enumerate(sample.attachments, start=1):
        title = texts.index(f"附件{n}　{attachment.caption}")
        assert texts[title + 1].startswith(f"对应条款 {attachment.question_id}")


def test_the_document_is_valid_office_open_xml(sample_docx: Path) -> None:
    result = OpenXmlValidator().validate(str(sample_docx))
    assert result.is_valid, [e.description for e in result.errors[:10]]


def test_user_text_with_markup_characters_and_control_characters_comes_through_intact(
    criteria: Criteria, tmp_path: Path
) -> None:
    tricky = {
        "1.1a": 'R&D 中心的不良率<0.5%，Cpk>1.33；"5S" 与 \'Zero Defect\'，“质量月”。\n第二段 & 结束',
        # A vertical tab pasted from Word, a bell and a form feed: dropped or turned into line breaks,
        # without swallowing the & and < that follow.
        "1.1b": "甲方\x0b乙方 & 丙方 <备注>\x07 结束\x0c下一行 a<b",
        # Template syntax typed by an applicant is text, never a tag.
        "1.1c": "{{ applicant }} 与 {%p if draft %} 以及 {# 注释 #} 原样保留",
        # Columns pasted from Excel keep their tab; a right-to-left override would print backwards.
        "1.2a": "项目\t数值\r\n合格率\t99%\u202e反向",
        "7.4b": "最后一题 & 的 <末尾>",
    }
    path = tmp_path / "tricky.docx"
    render_application(criteria, {"name": "李&<四>", "unit": "A&B <有限> 公司"}, tricky, path, day=DAY)
    found = paragraphs(path)
    q = {question.id: question for question in criteria.questions}
    assert answer_after(found, f"1.1a　{q['1.1a'].text}") == [
        'R&D 中心的不良率<0.5%，Cpk>1.33；"5S" 与 \'Zero Defect\'，“质量月”。', "第二段 & 结束"]
    assert answer_after(found, f"1.1b　{q['1.1b'].text}") == ["甲方", "乙方 & 丙方 <备注> 结束", "下一行 a<b"]
    assert answer_after(found, f"1.1c　{q['1.1c'].text}") == [tricky["1.1c"]]
    assert answer_after(found, f"1.2a　{q['1.2a'].text}") == ["项目\t数值", "合格率\t99%反向"]
    # Nothing was cut off after the tricky answers: the last question and the closing pages are there.
    assert answer_after(found, f"7.4b　{q['7.4b'].text}") == ["最后一题 & 的 <末尾>"]
    texts = [text for _, text in found]
    assert "李&<四>" in texts and "A&B <有限> 公司" in texts and "五、所在单位意见" in texts
    assert OpenXmlValidator().validate(str(path)).is_valid


def test_a_draft_shows_empty_answers_and_says_it_is_a_draft(criteria: Criteria, tmp_path: Path) -> None:
    path = tmp_path / "draft.docx"
    render_application(criteria, {"name": "王五"}, {"1.1a": "只答了一题。"}, path, day=DAY, draft=True)
    found = paragraphs(path)
    q = criteria.questions[1]
    assert answer_after(found, f"{q.id}　{q.text}") == ["（未填写）"]
    texts = [text for _, text in found]
    # Empty required fields of the grid say so; an empty required table shows its empty rows instead.
    assert texts.count("（未填写）") == 38 + sum(1 for f in criteria.profile
                                           if f.required and f.key != "name" and f.type != "table")
    assert any("草稿" in text for text in texts)
    header = Document(str(path)).sections[0].header
    assert any("草稿" in p.text for p in header.paragraphs)
    assert "（未提交证明材料）" in texts


def test_files_word_cannot_embed_are_listed_not_embedded(criteria: Criteria, tmp_path: Path) -> None:
    pdf = tmp_path / "证书扫描件.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    photo = next((ROOT / "examples" / "photos").glob("*.png"))
    files = [EvidenceFile("7.4a", pdf, "省级荣誉证书", pdf.name), EvidenceFile("1.2a", photo, "", photo.name)]
    path = tmp_path / "mixed.docx"
    render_application(criteria, {"name": "赵六"}, {"7.4a": "获得省级荣誉。"}, path, attachments=files, day=DAY)
    texts = [text for _, text in paragraphs(path)]
    assert len(Document(str(path)).inline_shapes) == 1
    # Numbered in report order (1.2a before 7.4a); a photo without caption is named by its question.
    assert "附件1　1.2a 的图片" in texts
    assert "附件2　省级荣誉证书" in texts and "（此文件无法嵌入申报书，原件随申报材料另附。）" in texts
    assert photo.name.replace("-", "\u2011") in texts  # the list's 文件 column
    assert "证书扫描件.pdf" in texts and "省级荣誉证书" in texts
    assert any("附件2（省级荣誉证书）" in text for text in texts)


def test_the_template_uses_exactly_the_data_the_code_supplies(criteria: Criteria) -> None:
    context = build_context(criteria, {}, {}, day=DAY, draft=False)
    # `profile` (a row a field) stays in the context for templates restyled before the 申报表 grid.
    assert DocxTemplate(str(TEMPLATE)).get_undeclared_template_variables() == set(context) - {"profile"}
    # East Asian fonts come from the template's styles, not from code.
    with zipfile.ZipFile(TEMPLATE) as archive:
        styles = archive.read("word/styles.xml").decode("utf-8")
    assert 'w:eastAsia="仿宋"' in styles and 'w:eastAsia="黑体"' in styles
    listing = award_script("build_template.py", "--list")
    assert "[Heading 4] {{ question.id }}　{{ question.text }}" in listing
    assert "[Normal] {{p form }}" in listing


def award_script(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True, text=True,
                          check=True, timeout=60)
    return done.stdout


def test_a_restyled_template_with_a_mistyped_tag_is_refused_not_left_blank(criteria: Criteria, tmp_path: Path) -> None:
    template = tmp_path / "restyled.docx"
    document = Document(str(TEMPLATE))
    document.add_paragraph("{{ applicant_nmae }}")
    document.save(str(template))
    with pytest.raises(DocumentError, match="applicant_nmae"):
        render_application(criteria, {"name": "王五"}, {}, tmp_path / "out.docx", day=DAY, template=template)
    assert not (tmp_path / "out.docx").exists()


def lossy_template(folder: Path, tag: str, lossy: str) -> Path:
    """The shipped template restyled so that it loses text: `tag` in its XML replaced by `lossy`."""
    template = folder / "lossy.docx"
    with zipfile.ZipFile(TEMPLATE) as source, zipfile.ZipFile(template, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                assert tag.encode() in data, tag
                data = data.replace(tag.encode(), lossy.encode())
            target.writestr(item, data)
    return template


def test_a_template_that_loses_a_line_of_an_answer_is_refused_and_nothing_is_written(
    criteria: Criteria, tmp_path: Path
) -> None:
    # Only each answer's first paragraph is printed: the read-back finds the second missing.
    template = lossy_template(tmp_path, "for line in question.lines %}", "for line in question.lines[:1] %}")
    out = tmp_path / "out" / "申报书.docx"
    out.parent.mkdir()
    answers = {"1.1a": "第一段：班前会讲质量。", "2.1b": "第一段：目标分解到班组。\n第二段：每月对照检查。"}
    with pytest.raises(DocumentError, match=r"缺少「2\.1b」的第 2 段"):
        render_application(criteria, {"name": "王五"}, answers, out, day=DAY, template=template)
    assert list(out.parent.iterdir()) == []  # neither the document nor a partial file
    # The same template with one-paragraph answers loses nothing, and is let through.
    render_application(criteria, {"name": "王五"}, {"1.1a": answers["1.1a"]}, out, day=DAY, template=template)
    assert answer_after(paragraphs(out), f"1.1a　{criteria.question('1.1a').text}") == [answers["1.1a"]]


def test_a_template_that_leaves_out_the_application_form_is_refused(criteria: Criteria, tmp_path: Path) -> None:
    template = lossy_template(tmp_path, "{{p form }}", "")
    with pytest.raises(DocumentError, match=r"缺少「.+」的第 1 段"):
        render_application(criteria, PROFILE, {}, tmp_path / "out.docx", day=DAY, template=template)
    assert not (tmp_path / "out.docx").exists()


def test_render_and_demo_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "申报书.docx"
    done = award_bot("render", str(SAMPLE), "-o", str(out), "--no-pdf")
    assert done.returncode == 0, done.stderr
    assert "39/39" in done.stdout
    assert Document(str(out)).paragraphs
    demo = award_bot("demo", "-o", str(tmp_path / "sample.docx"), "--no-pdf")
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "sample.docx").stat().st_size > 50_000


def test_render_names_every_unknown_field_question_and_missing_file(tmp_path: Path) -> None:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    data["profile"]["hobby"] = "钓鱼"
    data["profile"]["phone"] = "12345"
    data["answers"]["8.1a"] = "不存在的题"
    del data["answers"]["7.4b"]
    data["attachments"].append({"question": "7.9z", "path": "photos/没有这个文件.jpg", "caption": "x"})
    for attachment in data["attachments"][:-1]:
        shutil.copy(SAMPLE.parent / attachment["path"], tmp_path / Path(attachment["path"]).name)
        attachment["path"] = Path(attachment["path"]).name
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    done = award_bot("render", str(answers), "-o", str(tmp_path / "out.docx"), "--no-pdf")
    assert done.returncode == 1
    for name in ("profile.hobby", "profile.phone", "answers.8.1a", "7.9z", "没有这个文件.jpg"):
        assert name in done.stderr
    assert not (tmp_path / "out.docx").exists()
    # A refused file gets its problems, never the notes on a rendered one (7.4b is unanswered).
    assert "提示" not in done.stderr and "未回答" not in done.stderr


def test_answers_file_mistakes_are_explained_in_chinese(criteria: Criteria, tmp_path: Path) -> None:
    def problems(text: str) -> str:
        path = tmp_path / "a.json"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(AnswersFileError) as caught:
            load_answers_file(path, criteria, today=DAY)
        return str(caught.value)

    assert "JSON 对象" in problems('["不是对象"]')
    assert "profile.name: 应为文字" in problems('{"profile": {"name": {"姓": "王"}}}')
    assert "answers.1.1a: 应为文字" in problems('{"answers": {"1.1a": 3}}')
    assert "不止一次" in problems('{"answers": {"1.1a": "甲", "1.1a": "乙"}}')
    assert "YYYY-MM-DD" in problems('{"date": "去年"}')
    assert "不像申报日期" in problems('{"date": "1900-01-01"}')
    assert "不认识这一项" in problems('{"answer": {}}')


def test_a_sparse_answers_file_renders_with_notes_on_what_is_missing(tmp_path: Path) -> None:
    sparse = tmp_path / "sparse.json"
    sparse.write_text(json.dumps({"profile": {"name": "王五"}, "answers": {"1.1a": "甲" * 1600}},
                                 ensure_ascii=False), encoding="utf-8")
    done = award_bot("render", str(sparse), "-o", str(tmp_path / "sparse.docx"), "--no-pdf")
    assert done.returncode == 0, done.stderr
    assert "申报表未填" in done.stderr and "工作单位" in done.stderr
    assert "未回答" in done.stderr and "7.4b" in done.stderr
    assert "1.1a 有 1600 字" in done.stderr


def test_broken_output_paths_and_templates_are_reported_without_a_traceback(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("x")
    done = award_bot("render", str(SAMPLE), "-o", str(blocked / "out.docx"), "--no-pdf")
    assert done.returncode == 1 and "无法写入" in done.stderr and "Traceback" not in done.stderr
    template = tmp_path / "bad.docx"
    with zipfile.ZipFile(TEMPLATE) as source, zipfile.ZipFile(template, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"</w:body>", b"</w:bod>")
            target.writestr(item, data)
    done = award_bot("render", str(SAMPLE), "-o", str(tmp_path / "o.docx"), "--no-pdf",
                     env={"AWARD_TEMPLATE": str(template)})
    assert done.returncode == 1 and "不是有效的 .docx" in done.stderr and "Traceback" not in done.stderr
    arithmetic = tmp_path / "arithmetic.docx"
    document = Document(str(TEMPLATE))
    document.add_paragraph("{{ applicant + 1 }}")
    document.save(str(arithmetic))
    done = award_bot("render", str(SAMPLE), "-o", str(tmp_path / "o.docx"), "--no-pdf",
                     env={"AWARD_TEMPLATE": str(arithmetic)})
    assert done.returncode == 1 and "无法生成申报书" in done.stderr and "Traceback" not in done.stderr
    # The bot refuses to start with it, instead of failing when the first applicant finishes.
    done = award_bot("console", stdin="", env={"AWARD_TEMPLATE": str(arithmetic), "AWARD_DB": str(tmp_path / "d.db")})
    assert done.returncode == 1 and "申报书模板不能用" in done.stderr


def test_render_refuses_a_broken_json_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"profile": {"name": "王五",}}', encoding="utf-8")
    done = award_bot("render", str(broken), "-o", str(tmp_path / "out.docx"))
    assert done.returncode == 1 and "第 1 行" in done.stderr


def test_docxtpl_sequences_typed_by_an_applicant_come_out_exactly_as_written(
    criteria: Criteria, tmp_path: Path
) -> None:
    # docxtpl turns {_{ }_} {_% %_} into {{ }} {% %} after rendering, for template authors: an
    # applicant's text with them failed verification (no 申报书 at all) or was silently changed.
    typed = "公式 {_{ a }_} 与 {_% if %_} 原样，下划线 a_b、__init__、{_{_{"
    photo = tmp_path / "a_{_{b}_}.png"
    photo.write_bytes(png("caption test"))
    files = [EvidenceFile("7.4a", photo, "说明 {_% x %_} 与 }_}", photo.name)]
    path = tmp_path / "underscores.docx"
    render_application(criteria, {"name": "王_{_{五}_}", "unit": "{_%有限%_}公司"}, {"1.1a": typed, "7.4a": typed},
                       path, attachments=files, day=DAY)
    found = paragraphs(path)
    q = {question.id: question for question in criteria.questions}
    assert answer_after(found, f"1.1a　{q['1.1a'].text}") == [typed]
    texts = "\n".join(text for _, text in found)
    assert "王_{_{五}_}" in texts and "{_%有限%_}公司" in texts
    assert "说明 {_% x %_} 与 }_}" in texts and "a_{_{b}_}.png" in texts
    assert "{{ a }}" not in texts and "{% if %}" not in texts


def test_a_broken_or_missing_stored_photo_is_listed_and_never_stops_the_document(
    criteria: Criteria, tmp_path: Path
) -> None:
    # Stored before photos were checked on arrival: a PNG cut off after its header, a JPEG cut in its
    # header (python-docx raised UnexpectedEndOfFileError on it), and a photo since gone from disk.
    cut_png, cut_jpeg, gone = tmp_path / "cut.png", tmp_path / "cut.jpg", tmp_path / "gone.jpg"
    cut_png.write_bytes(png("cut")[:60])
    cut_jpeg.write_bytes(jpeg("cut")[:30])
    whole = tmp_path / "whole.jpg"
    whole.write_bytes(jpeg("whole", size=(64, 48)))
    files = [EvidenceFile("7.4a", path, caption, path.name)
             for path, caption in ((cut_png, "截图"), (cut_jpeg, "证书"), (gone, "照片"), (whole, "完好的证书"))]
    path = tmp_path / "robust.docx"
    rendered = render_application(criteria, {"name": "孙七"}, {"7.4a": "获得省级荣誉。"}, path, attachments=files,
                                  day=DAY)
    assert rendered.images == 1 and len(Document(str(path)).inline_shapes) == 1
    assert sorted(a.file_name for a in rendered.not_embedded) == ["cut.jpg", "cut.png", "gone.jpg"]
    texts = "\n".join(text for _, text in paragraphs(path))
    assert "cut.png" in texts and "cut.jpg" in texts and "gone.jpg" in texts and "完好的证书" in texts
