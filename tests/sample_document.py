"""The example application (examples/answers.sample.json) as the document tests render it."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from bot.answers_file import Answers, load_answers_file
from bot.criteria import Criteria
from bot.document import render_application
from bot.pdf import find_soffice
from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "answers.sample.json"
CRITERIA_FILE = ROOT / "criteria" / "lyg-etdz-individual.yaml"
DAY = date(2026, 11, 20)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NEEDS_SOFFICE = pytest.mark.skipif(find_soffice() is None and os.environ.get("CI") != "true",
                                   reason="LibreOffice is not installed")


def load_sample(criteria: Criteria) -> Answers:
    return load_answers_file(SAMPLE, criteria, today=DAY)


def render_sample(criteria: Criteria, sample: Answers, folder: Path) -> Path:
    path = folder / "申报书.docx"
    render_application(criteria, sample.profile, sample.answers, path, attachments=sample.attachments, day=DAY)
    return path
