"""The 申报书 laid out as award offices print it (#15): the cover with 编号, 推荐单位 and the issuer, the
opinion pages, the 附件 pages, the report's length, and page numbers as GB/T 9704 places them."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import yaml
from docx import Document
from lxml import etree
from pypdf import PdfReader

from bot.answers_file import Answers
from bot.criteria import Criteria, CriteriaError, load_criteria
from bot.document import render_application
from bot.document_context import EvidenceFile, build_context
from bot.document_images import FULL_PAGE_IMAGE_MM, HALF_PAGE_IMAGE_MM, page_layout
from bot.pdf import PdfConverter
from bot.validation import count_chars
from tests.conftest import award_bot, jpeg
from tests.sample_document import CRITERIA_FILE, DAY, NEEDS_SOFFICE, SAMPLE, W, load_sample, render_sample
from tests.test_document import paragraphs


@pytest.fixture(scope="module")
def sample(criteria: Criteria) -> Answers:
    return load_sample(criteria)


@pytest.fixture(scope="module")
def docx(sample: Answers, criteria: Criteria, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_sample(criteria, sample, tmp_path_factory.mktemp("layout"))


@pytest.fixture(scope="module")
def pdf(docx: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One conversion for the module: LibreOffice is slow."""
    converter = PdfConverter.find(tmp_path_factory.mktemp("libreoffice"))
    assert converter is not None, "LibreOffice (soffice) is not installed"
    out = docx.with_suffix(".pdf")
    converter.convert(docx, out)
    return out


def texts_of(path: Path) -> list[str]:
    return [text for _, text in paragraphs(path)]


def heading(texts: list[str], text: str) -> int:
    """Where a section starts: its last occurrence (the table of contents names it first)."""
    return len(texts) - 1 - texts[::-1].index(text)


def evidence_list(path: Path):
    return next(t for t in Document(str(path)).tables if t.rows[0].cells[0].text == "序号")


# -- the cover -------------------------------------------------------------------------------


def test_the_cover_has_the_number_box_the_recommender_line_and_the_issuer_with_the_year(
    docx: Path, criteria: Criteria
) -> None:
    document = Document(str(docx))
    box, lines = document.tables[0], document.tables[1]
    assert [c.text for c in box.rows[0].cells] == ["编号", ""]  # filled in by the office
    assert [[c.text for c in row.cells] for row in lines.rows] == [
        ["申报人：", "陈海涛"], ["工作单位：", "连云港瀚海精密机械有限公司"], ["推荐单位：", ""],
        ["申报日期：", "2026年11月20日"]]
    foot = [p.text for p in document.sections[0].first_page_footer.paragraphs]
    assert foot == ["连云港经济技术开发区质量奖评审委员会办公室　制", "二〇二六年"]
    assert criteria.issuer == "连云港经济技术开发区质量奖评审委员会办公室"


def test_a_cover_line_shows_a_profile_answer_when_the_criteria_file_names_one(
    criteria: Criteria, tmp_path: Path
) -> None:
    data = yaml.safe_load(CRITERIA_FILE.read_text(encoding="utf-8"))
    data["cover"]["lines"][2]["field"] = "position"  # any profile key will do for the test
    data["cover"]["lines"].append({"label": "申报年度", "field": "year"})
    own = tmp_path / "own.yaml"
    own.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    context = build_context(load_criteria(own), {"position": "质量部经理"}, {}, day=DAY, draft=False)
    rows = [(row.label, row.value) for row in context["cover"]]
    assert rows[2] == ("推荐单位", "质量部经理") and rows[-1] == ("申报年度", "2026年度")
    data["cover"]["lines"][2]["field"] = "recomender"
    own.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CriteriaError, match=r"cover\.lines\[2\]\.field.*recomender"):
        load_criteria(own)


# -- the opinion pages ------------------------------------------------------------------------


def test_three_opinion_boxes_follow_the_pledge_in_order_each_to_sign_stamp_and_date(docx: Path) -> None:
    texts = texts_of(docx)
    headings = ["四、申报人承诺", "五、所在单位意见", "六、推荐单位意见", "七、评审委员会意见"]
    positions = [heading(texts, h) for h in headings]
    assert positions == sorted(positions)
    boxes = Document(str(docx)).tables[-3:]
    for box, who in zip(boxes, ("单位（盖章）", "推荐单位（盖章）", "评审委员会办公室（盖章）"), strict=True):
        lines = [p.text.strip() for p in box.rows[0].cells[0].paragraphs if p.text.strip()]
        assert any("签字" in line for line in lines)
        assert who in lines and lines[-1] == "年　　月　　日"
    assert "（由评审委员会填写）" in [p.text for p in boxes[2].rows[0].cells[0].paragraphs]
    # The table of contents lists them too.
    contents = texts[:heading(texts, "一、申报表")]
    assert [t for t in contents if t.endswith("意见")] == headings[1:]


# -- 附件 ---------------------------------------------------------------------------------------


def test_each_attachment_starts_with_its_number_and_title_in_the_order_of_the_list(
    docx: Path, sample: Answers
) -> None:
    texts = texts_of(docx)
    listed = evidence_list(docx)
    rows = [[c.text for c in row.cells] for row in listed.rows[1:]]
    assert [row[0] for row in rows] == [str(n) for n in range(1, len(sample.attachments) + 1)]
    starts = [next(i for i, t in enumerate(texts) if t.startswith(f"附件{row[0]}　")) for row in rows]
    assert starts == sorted(starts) and starts[0] > heading(texts, "三、证明材料清单")
    for row, start in zip(rows, starts, strict=True):
        assert texts[start] == f"附件{row[0]}　{row[2]}"  # the title is the caption in the list
        assert texts[start + 1].startswith(f"对应条款 {row[1]}")


def test_file_names_in_the_list_keep_their_hyphenated_parts_together(docx: Path) -> None:
    listed = evidence_list(docx)
    shown = [row.cells[3].text for row in listed.rows[1:]]
    assert "fpy\u2011chart\u20112021\u20112025.png" in shown  # non-breaking hyphens
    assert not any("-" in name for name in shown)


def test_two_landscape_photos_share_a_page_and_a_portrait_certificate_has_one_to_itself() -> None:
    landscape, portrait, small = (150.0, 106.0), (140.0, 190.0), (40.0, 60.0)
    placed = page_layout([landscape, landscape, portrait, landscape, small, None])
    assert [new_page for _, new_page in placed] == [True, False, True, True, False, True]
    (first, _), (_, _), (tall, _), *_ = placed
    assert first[1] <= HALF_PAGE_IMAGE_MM[1] and first[0] / first[1] == pytest.approx(150 / 106)
    assert tall[1] == pytest.approx(FULL_PAGE_IMAGE_MM[1])  # the whole page's height, not half of it
    assert placed[4][0] == small  # small enough: printed at its own size


def test_a_portrait_certificate_and_a_file_that_cannot_be_shown_are_laid_out_as_attachments(
    criteria: Criteria, tmp_path: Path
) -> None:
    tall = tmp_path / "证书-竖版.jpg"
    tall.write_bytes(jpeg("portrait", size=(600, 850)))
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    files = [EvidenceFile("7.4a", tall, "", tall.name), EvidenceFile("7.4b", scan, "", scan.name)]
    path = tmp_path / "out.docx"
    render_application(criteria, {"name": "王五"}, {}, path, attachments=files, day=DAY)
    found = paragraphs(path)
    texts = [t for _, t in found]
    assert "附件1　7.4a 的图片" in texts and "附件2　7.4b 的PDF 文件" in texts
    styles = dict((t, s) for s, t in found)
    assert styles["附件1　7.4a 的图片"] == styles["附件2　7.4b 的PDF 文件"] == "附件标题（另起一页）"
    height = Document(str(path)).inline_shapes[0].height.mm
    assert height > HALF_PAGE_IMAGE_MM[1] + 20  # a certificate fills its page


# -- the report's length ----------------------------------------------------------------------


def test_the_report_ends_with_its_length_per_category_and_in_total_against_the_budget(
    docx: Path, sample: Answers, criteria: Criteria
) -> None:
    texts = texts_of(docx)
    start = texts.index("自评报告字数统计")
    assert start > texts.index(f"7.4b　{criteria.question('7.4b').text}")
    assert start < heading(texts, "三、证明材料清单")
    table = texts[start + 1:heading(texts, "三、证明材料清单")]
    for category in criteria.categories:
        chars = sum(count_chars(sample.answers.get(q.id, "")) for i in category.items for q in i.questions)
        label = texts.index(f"{category.id}　{category.title}", start)
        assert texts[label + 1] == f"{chars} 字"
    total = sum(count_chars(text) for text in sample.answers.values())
    assert table[-2:] == ["合计", f"{total} 字（上限 30000 字）"]


def test_a_report_over_the_budget_says_by_how_much(criteria: Criteria) -> None:
    small = criteria.model_copy(update={"budget": criteria.budget.model_copy(update={"report_max_chars": 10})})
    context = build_context(small, {}, {"1.1a": "甲" * 25}, day=DAY, draft=False)
    assert context["count_total"].chars == "25 字（上限 10 字，超出 15 字）"


# -- page numbers --------------------------------------------------------------------------------


def test_odd_page_numbers_are_right_and_even_ones_left_in_the_word_file(docx: Path) -> None:
    with zipfile.ZipFile(docx) as archive:
        settings = etree.fromstring(archive.read("word/settings.xml"))
    assert settings.find(f"{W}evenAndOddHeaders") is not None
    body = Document(str(docx)).sections[1]
    document = Document(str(docx))

    def alignment(footer) -> str:
        paragraph = footer.paragraphs[0]
        style = document.styles[paragraph.style.name]
        return str(style.paragraph_format.alignment)

    assert "PAGE" in body.footer._element.xml and "PAGE" in body.even_page_footer._element.xml
    assert alignment(body.footer).startswith("RIGHT") and alignment(body.even_page_footer).startswith("LEFT")


@NEEDS_SOFFICE
def test_in_the_pdf_page_1_has_its_number_right_and_page_2_left(pdf: Path) -> None:
    reader = PdfReader(str(pdf))

    def number_x(page) -> tuple[str, float]:
        found: list[tuple[float, str]] = []
        page.extract_text(visitor_text=lambda text, cm, tm, *_: found.append((tm[4], tm[5], text)))
        bottom = [(x, t) for x, y, t in found if y < 100 and t.strip()]
        line = "".join(t for _, t in sorted(bottom))
        return re.sub(r"\s+", "", line), min(x for x, _ in bottom)

    texts = [re.sub(r"\s+", "", p.extract_text() or "") for p in reader.pages]
    first = next(i for i, t in enumerate(texts) if t.startswith("一、申报表"))
    centre = float(reader.pages[first].mediabox.width) / 2
    assert number_x(reader.pages[first])[0] == "—1—" and number_x(reader.pages[first])[1] > centre
    assert number_x(reader.pages[first + 1])[0] == "—2—" and number_x(reader.pages[first + 1])[1] < centre
    # The cover shows the issuer at its foot; the 证明材料清单 prints whole file names.
    assert "连云港经济技术开发区质量奖评审委员会办公室制" in texts[0] and "二〇二六年" in texts[0]
    listing = next(page.extract_text() for page, text in zip(reader.pages, texts, strict=True)
                   if text.startswith("三、证明材料清单"))
    assert any("fpy" in line and "2025.png" in line for line in listing.splitlines())
    assert "七、评审委员会意见" in texts[-1] and "盖章" in texts[-1]


# -- criteria files written before #15 ---------------------------------------------------------


def test_a_criteria_file_without_the_new_keys_loads_and_renders_with_the_default_pages(
    criteria: Criteria, tmp_path: Path
) -> None:
    data = yaml.safe_load(CRITERIA_FILE.read_text(encoding="utf-8"))
    data["award"] = data["award"]["name"]  # the award named as before: no issuer
    for key in ("cover", "opinions"):
        del data[key]
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    done = award_bot("criteria", "validate", str(old))
    assert done.returncode == 0, done.stderr
    loaded = load_criteria(old)
    assert [o.title for o in loaded.opinion_pages] == ["所在单位意见", "推荐单位意见", "评审委员会意见"]
    path = tmp_path / "old.docx"
    render_application(loaded, {"name": "王五", "unit": "某公司"}, {}, path, day=DAY)
    texts = texts_of(path)
    assert "推荐单位：" in texts and "编号" in texts and "七、评审委员会意见" in texts
    foot = [p.text for p in Document(str(path)).sections[0].first_page_footer.paragraphs]
    assert foot == ["", "二〇二六年"]  # no issuer named: only the year
    # The old answers file renders with it, from the command line.
    done = award_bot("render", str(SAMPLE), "-o", str(tmp_path / "sample.docx"), "--no-pdf",
                     env={"AWARD_CRITERIA": str(old)})
    assert done.returncode == 0, done.stderr
    assert "七、评审委员会意见" in texts_of(tmp_path / "sample.docx")
