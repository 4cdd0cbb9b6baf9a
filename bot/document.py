"""The Word application (申报书): a context built from an application, rendered into the template.

The template (`templates/application.docx.j2`, or the coordinator's own via AWARD_TEMPLATE)
decides the look; this module only supplies data. docxtpl fails silently on bad input (an `&`
without autoescape truncates the document, a control character swallows later markup), so user
text is cleaned, rendering is autoescaped with strict undefined variables, and the written file
is read back and checked before anyone receives it.

The context is built in bot/document_context.py (the 申报表 grid in bot/form_grid.py, photos in
bot/document_images.py), the read-back in bot/document_readback.py.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import traceback
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from docx.opc.exceptions import PackageNotFoundError
from docx.opc.parts.coreprops import CorePropertiesPart
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no stubs
from markupsafe import Markup, escape

from bot.criteria import Criteria
from bot.document_context import AttachmentEntry, EvidenceFile, build_context
from bot.document_readback import expected_lines, readback_problem
from bot.files import written_whole
from bot.form_grid import form_table
from bot.shipped import shipped

# `X as X` above: re-exported for modules that still import them from here (bot/flows/materials.py,
# bot/export.py, bot/flows/documents.py, bot/flows/coordinator.py, tests/test_document.py).

TEMPLATE = shipped("templates") / "application.docx.j2"

log = logging.getLogger(__name__)


class DocumentError(Exception):
    """The 申报书 could not be produced, or came out incomplete."""


@dataclass(frozen=True)
class Rendered:
    path: Path
    sha256: str
    images: int
    expected_lines: list[str] = field(default_factory=list, repr=False)
    not_embedded: list[AttachmentEntry] = field(default_factory=list)  # listed only: Word cannot show them


def _as_xml_text(value: Any) -> Any:
    """Every printed value, escaped for the XML, with "_" as a character reference.

    After rendering, docxtpl turns "{_{", "}_}", "{_%" and "%_}" into "{{", "}}", "{%" and "%}"
    (so that template authors can print tags): applicant text containing them would change. An
    underscore written as &#95; reads back as "_" and never forms those sequences.
    """
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(str(escape(value)).replace("_", "&#95;"))
    return value


def _environment() -> jinja2.Environment:
    # Autoescape keeps `&` and `<` from ending the XML early; StrictUndefined turns a mistyped tag
    # in a restyled template into an error instead of a silently empty field.
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, finalize=_as_xml_text)


def _own_core_properties(tpl: DocxTemplate) -> None:
    """Drop a core-properties part python-docx did not recognise, so it is not written twice.

    Some editors save docProps/core.xml under a content type python-docx does not map to its
    core-properties class; python-docx then adds a second part of the same name, and Word calls
    the file corrupt.
    """
    package = tpl.docx.part.package
    for r_id, rel in list(package.rels.items()):
        if rel.reltype.endswith("/core-properties") and not isinstance(rel.target_part, CorePropertiesPart):
            del package.rels[r_id]


def _load_template(template: Path) -> DocxTemplate:
    try:
        tpl = DocxTemplate(str(template))
        tpl.init_docx()
    except FileNotFoundError as error:
        raise DocumentError(f"找不到模板 {template}") from error
    except (OSError, zipfile.BadZipFile, KeyError, PackageNotFoundError, etree.XMLSyntaxError) as error:
        raise DocumentError(f"模板 {template} 不是有效的 .docx 文件（{type(error).__name__}: {error}）") from error
    _own_core_properties(tpl)
    return tpl


class _ImageFailed(Exception):
    """Embedding a stored photo failed while rendering (not the template's fault)."""


def _fill(context: dict[str, Any], template: Path, attachments: list[AttachmentEntry]) -> DocxTemplate:
    tpl = _load_template(template)
    data = dict(context)
    try:
        data["form"] = form_table(tpl, context["form"])
    except Exception as error:
        if context["form"].images and _from_image(error):
            raise _ImageFailed() from error
        raise
    data["attachments"] = [
        replace(a, image=InlineImage(tpl, str(a.path), width=Mm(a.size_mm[0])) if a.size_mm else None)
        for a in attachments
    ]
    try:
        tpl.render(data, jinja_env=_environment(), autoescape=True)
    except jinja2.TemplateSyntaxError as error:
        raise DocumentError(f"模板 {template} 的标签有误（第 {error.lineno} 行附近）：{error.message}") from error
    except jinja2.UndefinedError as error:
        raise DocumentError(f"模板 {template} 用了不存在的名字：{error.message}") from error
    except Exception as error:
        if any(a.size_mm for a in attachments) and _from_image(error):
            raise _ImageFailed() from error
        # A restyled template can fail in many ways (a tag doing arithmetic, broken XML after the
        # tags are filled): whatever it is, it is the template's problem and must be reported as such.
        raise DocumentError(f"模板 {template} 无法生成申报书（{type(error).__name__}: {error}）") from error
    return tpl


def _from_image(error: BaseException) -> bool:
    """Whether an exception came from reading a picture (python-docx's image code, or a file gone)."""
    frames = traceback.extract_tb(error.__traceback__)
    return isinstance(error, OSError) or any("/docx/image/" in frame.filename for frame in frames)


def render(context: dict[str, Any], path: Path, *, template: Path = TEMPLATE) -> Rendered:
    """Render the context into `path` (written through a temporary file) and verify it.

    A stored file never stops the 申报书: photos are checked before (image_size_mm), and should
    embedding one still fail, the document is made again with every photo listed, not shown.
    """
    attachments: list[AttachmentEntry] = list(context["attachments"])
    try:
        tpl = _fill(context, template, attachments)
    except _ImageFailed:
        log.warning("a stored photo could not be embedded; the 申报书 lists every photo instead")
        attachments = [replace(a, size_mm=None) for a in attachments]
        context = {**context, "form": context["form"].without_photo()}
        tpl = _fill(context, template, attachments)
    images = sum(1 for a in attachments if a.size_mm) + context["form"].images
    tpl.docx.core_properties.title = context["title"]
    tpl.docx.core_properties.author = context["applicant"]
    tpl.docx.core_properties.comments = ""
    try:
        with written_whole(path) as (partial,):
            tpl.save(str(partial))
            problem = readback_problem(partial, expected_lines(context), images)
            if problem:
                raise DocumentError(problem)
    except OSError as error:
        raise DocumentError(f"无法写入 {path}：{error.strerror or error}") from error
    skipped = [a for a in attachments if a.size_mm is None]
    return Rendered(path, hashlib.sha256(path.read_bytes()).hexdigest(), images,
                    [line for _, line in expected_lines(context)], skipped)


def render_application(
    criteria: Criteria,
    profile: dict[str, str],
    answers: dict[str, str],
    path: Path,
    *,
    attachments: Sequence[EvidenceFile] = (),
    day: date,
    draft: bool = False,
    template: Path = TEMPLATE,
) -> Rendered:
    context = build_context(criteria, profile, answers, attachments, day=day, draft=draft)
    return render(context, path, template=template)


def check_template(criteria: Criteria, template: Path) -> None:
    """Render an empty application once, so a broken template is found at start-up, not on submission."""
    with tempfile.TemporaryDirectory() as folder:
        render_application(criteria, {}, {}, Path(folder) / "check.docx", day=date.today(), draft=True,
                           template=template)

