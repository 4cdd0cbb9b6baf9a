"""The Word application (申报书) assembled from an application's profile and answers.

A plain python-docx rendering for now, so that applicants receive their document; the
template-based 申报书 with cover, table of contents and signature pages replaces it (#5).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from docx import Document
from docx.shared import Mm

from bot.criteria import Criteria
from bot.wording import say


def render_application(criteria: Criteria, profile: dict[str, str], answers: dict[str, str], path: Path) -> str:
    """Write the .docx to `path` and return its SHA-256."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)  # A4
    document.add_heading(criteria.document_title, level=0)
    document.add_heading(say("doc_profile_heading"), level=1)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for field in criteria.profile:
        cells = table.add_row().cells
        cells[0].text = field.label
        cells[1].text = profile.get(field.key) or say("empty_value")
    document.add_heading(say("doc_report_heading"), level=1)
    for category in criteria.categories:
        document.add_heading(f"{category.id} {category.title}", level=2)
        for item in category.items:
            document.add_heading(f"{item.id} {item.title}", level=3)
            for question in item.questions:
                document.add_paragraph(f"{question.id} {question.text}", style="Intense Quote")
                for line in (answers.get(question.id) or say("empty_value")).split("\n"):
                    document.add_paragraph(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()
