"""Typesetting as a reader sees it: long runs break instead of stretching a line; missing glyphs are named."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from bot.criteria import Criteria
from bot.document import render_application
from bot.pdf import PdfConverter, find_soffice
from bot.typeset import ZWSP, breakable
from tests.conftest import PROFILE, award_bot

RUNS = "95.2%、96.8%、98.1%、99.0%，"
RESULTS = [
    "2021—2024年我负责产线的质量改进工作，一次交检合格率依次为" + RUNS * 2 + "客户投诉率逐年下降，详见公司网站"
    "https://www.example.com/quality/reports/2024/annual-report_final.pdf?lang=zh-CN&page=12，产品编号为"
    "ＡＢＣ１２３ＤＥＦ４５６ＧＨＩ７８９ＪＫＬ０１２，认证编号ＱＭＳ２０２４ＡＢＣ１２３４５６７８９。",
    "我们还统计了各班组：" + RUNS * 3 + "均达到目标。",
    "网址：https://example.org/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/0123456789abcdef 是结果的来源。",
]
MAX_GAP = 1.5  # the widest gap between two characters of a line, in units of the font size


# -- breakable: pure -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["合格率99.0%", "2021—2024年", "ISO9001:2015", "（Scorecard）", "1,234,567.89元",
                                  "2007.07—2011.06 质量工程师", "ＡＢＣ１２３", ""])
def test_short_runs_and_numbers_are_left_as_written(text: str) -> None:
    assert breakable(text) == text


def test_long_runs_get_break_opportunities_at_sensible_places_and_nothing_visible_changes() -> None:
    broken = breakable("合格率" + RUNS * 2)
    assert broken.replace(ZWSP, "") == "合格率" + RUNS * 2
    assert f"95.2%、{ZWSP}96.8%" in broken
    for figure in ("95.2%", "96.8%", "98.1%", "99.0%"):  # never inside a figure
        assert broken.count(figure) == 2
    url = breakable("https://www.example.com/quality/reports/2024/annual-report.pdf")
    assert f"https://{ZWSP}www.{ZWSP}example." in url and "/" + ZWSP + "/" not in url
    # A token with no sensible place is cut only when really long, every few characters.
    digits = "1234567890" * 5
    pieces = breakable(digits).split(ZWSP)
    assert "".join(pieces) == digits and len(pieces) > 1 and max(map(len, pieces)) <= 24
    assert breakable("Supercalifragilistic") == "Supercalifragilistic"


def test_breakable_is_idempotent_and_linear() -> None:
    for text in RESULTS:
        once = breakable(text)
        assert breakable(once) == once
    small, large = (RESULTS[0] + "abc/" * 50) * 20, (RESULTS[0] + "abc/" * 50) * 2000
    start = time.perf_counter()
    breakable(small)
    t_small = time.perf_counter() - start
    start = time.perf_counter()
    breakable(large)
    t_large = time.perf_counter() - start
    assert t_large < t_small * 100 * 4 + 0.05  # 100× the text: about 100× the time, not 10,000×


# -- the PDF as a reader sees it -------------------------------------------------------------------

needs_pdf = pytest.mark.skipif((find_soffice() is None or shutil.which("pdftotext") is None)
                               and os.environ.get("CI") != "true",
                               reason="LibreOffice or poppler's pdftotext is not installed")


@pytest.fixture(scope="module")
def results_pdf(criteria: Criteria, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("typesetting")
    answers = {"7.1a": "\n".join(RESULTS)}
    docx = folder / "申报书.docx"
    render_application(criteria, PROFILE, answers, docx, day=date(2026, 11, 20))
    converter = PdfConverter.find(folder / "libreoffice")
    assert converter is not None, "LibreOffice (soffice) is not installed"
    converter.convert(docx, folder / "申报书.pdf")
    return folder / "申报书.pdf"


def line_gaps(pdf: Path, wanted: str) -> list[tuple[float, str]]:
    """For each printed line whose text is part of `wanted`: its widest gap between two words
    (in font sizes) and its text. pdftotext splits a line into words wherever there is a gap."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    rows: dict[tuple[int, int], list[tuple[float, float, float, str]]] = {}
    page = 0
    for match in re.finditer(r'<page |<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                             r"([^<]*)</word>", html):
        if match.group(0).startswith("<page"):
            page += 1
            continue
        x0, y0, x1, y1 = map(float, match.groups()[:4])
        rows.setdefault((page, round(y0)), []).append((x0, x1, y1 - y0, match.group(5)))
    whole = re.sub(r"\s+", "", wanted)
    found = []
    for words in rows.values():
        words.sort()
        text = "".join(word[3] for word in words)
        if len(text) < 6 or text.replace("&amp;", "&") not in whole:
            continue
        gaps = [(b[0] - a[1]) / a[2] for a, b in itertools.pairwise(words)]
        found.append((max(gaps, default=0.0), text))
    return found


@needs_pdf
def test_no_line_of_a_results_answer_is_stretched_in_the_pdf(results_pdf: Path) -> None:
    lines = line_gaps(results_pdf, "".join(RESULTS))
    assert len(lines) >= 6, lines  # the answer is there, over several lines
    worst = max(lines)
    assert worst[0] <= MAX_GAP, f"a gap of {worst[0]:.2f}× the font size in: {worst[1]}"


@needs_pdf
def test_copying_from_the_pdf_gives_the_text_without_zero_width_spaces(results_pdf: Path) -> None:
    text = subprocess.run(["pdftotext", str(results_pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert ZWSP not in text
    assert "95.2%、" in text and "99.0%" in text


# -- characters no font has ------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("fc-list") is None, reason="fontconfig is not installed")
def test_render_names_characters_no_font_can_draw_and_where_they_are(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"profile": {"name": "张三"},
                                   "answers": {"1.1a": "我们的𠀀字号很老。", "7.1c": "客户都说好👍，合格率99.0%"}},
                                  ensure_ascii=False), encoding="utf-8")
    done = award_bot("render", str(answers), "-o", str(tmp_path / "out.docx"), "--no-pdf")
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "没有字体能显示" in line]
    assert len(notes) == 1, done.stderr
    assert "𠀀（1.1a）" in notes[0] and "👍（7.1c）" in notes[0]
    assert notes[0].startswith("提示")
    # An answers file with ordinary text only gets no such line.
    answers.write_text(json.dumps({"profile": {"name": "张三"}, "answers": {"1.1a": "合格率99.0%，ＡＢＣ"}},
                                  ensure_ascii=False), encoding="utf-8")
    done = award_bot("render", str(answers), "-o", str(tmp_path / "plain.docx"), "--no-pdf")
    assert done.returncode == 0 and "没有字体能显示" not in done.stderr
