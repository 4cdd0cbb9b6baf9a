"""LibreOffice: the PDF beside the .docx, and a template saved back by an office suite (installed by .ci/run)."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.answers_file import load_answers_file
from bot.criteria import Criteria, load_criteria
from bot.document import TEMPLATE, render_application
from bot.pdf import PdfConverter, find_soffice
from bot.wording import say
from tests.conftest import PROFILE, ROOT, FakeApplicant, award_bot

SAMPLE = ROOT / "examples" / "answers.sample.json"

# In CI LibreOffice must be there: a missing install is a failure, not a skip.
pytestmark = pytest.mark.skipif(find_soffice() is None and os.environ.get("CI") != "true",
                                reason="LibreOffice is not installed")


@pytest.fixture(scope="module")
def converter(tmp_path_factory: pytest.TempPathFactory) -> PdfConverter:
    found = PdfConverter.find(tmp_path_factory.mktemp("libreoffice"))
    assert found is not None, "LibreOffice (soffice) is not installed"
    return found


def page_texts(pdf: Path) -> list[str]:
    # Layout splits lines anywhere; compare without whitespace (and the invisible break opportunities).
    return [flat(page.extract_text() or "") for page in PdfReader(str(pdf)).pages]


def flat(text: str) -> str:
    return re.sub(r"[\s\u200b]+", "", text)


def read_back(pdf: Path) -> str:
    """The PDF's text as a reader reads it on, page after page: each page's footer (—3—) left out, so
    that a paragraph running over a page break reads whole."""
    return "".join(re.sub(r"—\d+—$", "", page) for page in page_texts(pdf))


def missing_from(pdf: Path, profile: dict[str, str], answers: dict[str, str]) -> list[str]:
    """Every line of every answer and of the 申报表's text values that the PDF does not show."""
    shown = read_back(pdf)
    missing = [f"{question_id}: {line[:30]}" for question_id, answer in answers.items()
               for line in answer.split("\n") if flat(line) and flat(line) not in shown]
    for key in ("name", "unit", "position", "title", "email", "summary"):
        missing += [f"{key}: {line[:30]}" for line in profile.get(key, "").split("\n")
                    if flat(line) and flat(line) not in shown]
    return missing


def font_names(pdf: Path) -> set[str]:
    names = set()
    for page in PdfReader(str(pdf)).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for font in fonts.values():
            names.add(str(font.get_object().get("/BaseFont")))
    return names


def test_the_pdf_shows_the_chinese_title_an_answer_and_a_table_of_contents_with_page_numbers(
    criteria: Criteria, converter: PdfConverter, tmp_path: Path
) -> None:
    sample = load_answers_file(SAMPLE, criteria, today=date(2026, 11, 20))
    docx = tmp_path / "申报书.docx"
    render_application(criteria, sample.profile, sample.answers, docx, attachments=sample.attachments,
                       day=date(2026, 11, 20))
    pdf = tmp_path / "申报书.pdf"
    converter.convert(docx, pdf)
    pages = page_texts(pdf)
    whole = "".join(pages)
    assert criteria.document_title in whole
    # Read back from the PDF, not taken from the inputs: every line the applicant wrote is printed.
    assert len(sample.answers) == 39 and missing_from(pdf, sample.profile, sample.answers) == []
    # The table of contents was refreshed: each section has a page number after its dot leader.
    contents = pages[1] + pages[2]
    assert re.search(r"一、申报表\.{5,}\d+", contents), contents[:300]
    assert re.search(r"7\.4[^.]*\.{5,}\d+", contents)
    # Each face the template names prints in its own free font (templates/fonts.conf): 仿宋 body text in
    # the light Ming face, 黑体 headings in a sans one, 楷体 in a Kai face, digits and Latin in Liberation Serif.
    fonts = " ".join(font_names(pdf))
    assert all(face in fonts for face in ("UMing", "UKai", "SansCJK", "LiberationSerif")), fonts


async def test_an_applicant_who_finishes_gets_the_docx_and_the_pdf(
    storage, criteria: Criteria, converter: PdfConverter, tmp_path: Path
) -> None:
    from bot.flows.interview import Interview

    interview = Interview(storage, criteria, data_dir=tmp_path / "files", pdf=converter)
    applicant = FakeApplicant(interview, "8001", "周九")
    await applicant.reach_questions()
    paragraphs = ["我坚持把质量放在第一位，带头落实首件检验和过程巡检制度。",
                  "2024年起每月复盘一次，问题闭环率由85%提升至98%。"]
    for paragraph in paragraphs:
        await applicant.say(paragraph)
    await applicant.command("finish")
    replies = await applicant.tap("仍然提交")
    files = [r for r in replies if r.document is not None]
    assert [Path(r.document_name).suffix for r in files] == [".docx", ".pdf"]
    assert all(r.document.exists() for r in files)
    # The PDF sent is this applicant's submitted 申报书: their 申报表 and both paragraphs of their answer,
    # read back from the file, and no draft mark.
    assert missing_from(files[1].document, PROFILE, {"1.1a": "\n".join(paragraphs)}) == []
    assert flat(say("doc_draft_mark", date="|")).split("|")[0] not in read_back(files[1].document)
    again = await applicant.command("document")
    assert [r.document for r in again] == [r.document for r in files]


def test_a_template_saved_back_by_an_office_suite_still_renders_every_answer(
    criteria: Criteria, tmp_path: Path
) -> None:
    # A coordinator opens the template, changes something and saves it: the office suite rewrites
    # all of its XML (runs split, fields turned into its own markup). The tags must survive that.
    soffice = find_soffice()
    assert soffice is not None
    copy = tmp_path / "restyled.docx"
    copy.write_bytes(TEMPLATE.read_bytes())
    saved = tmp_path / "saved"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                    "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(saved), str(copy)],
                   check=True, capture_output=True, timeout=180)
    sample = load_answers_file(SAMPLE, criteria, today=date(2026, 11, 20))
    out = tmp_path / "out.docx"
    # render_application reads the result back and raises unless every answer line is there, in order.
    rendered = render_application(criteria, sample.profile, sample.answers, out, attachments=sample.attachments,
                                  day=date(2026, 11, 20), template=saved / "restyled.docx")
    assert rendered.images == len(sample.attachments) + 1  # every photo of the example, and the applicant's
    assert len(rendered.expected_lines) > 39


def test_award_bot_demo_writes_the_pdf_beside_the_docx_with_every_answer(tmp_path: Path) -> None:
    # As the README has it: a relative -o and the default, relative AWARD_DATA_DIR.
    done = award_bot("demo", "-o", "sample.docx", cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    sample = load_answers_file(SAMPLE, load_criteria(), today=date(2026, 11, 20))
    assert missing_from(tmp_path / "sample.pdf", sample.profile, sample.answers) == []
