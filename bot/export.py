"""The coordinators' export: every applicant's latest 申报书 in one ZIP, with a 汇总 spreadsheet.

Everything is read from storage first; the files are then checked, copied and written on a worker
thread, so that an export of a hundred applications never stalls the bot. The ZIP is written under
a temporary name and renamed when complete: a crash leaves no half ZIP under the final name.
A file that is not a submitted 申报书 (a draft, or the old final of a reopened application) says
草稿 in its name, and the spreadsheet's 状态 and 版本 columns say the same.
The spreadsheet's wording (sheet names, headers, states, notes) is in messages.yaml like all other
wording the office or the applicants read.
"""

from __future__ import annotations

import asyncio
import io
import logging
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot import returns as returned
from bot.clock import MINUTE, local
from bot.criteria import Criteria
from bot.document_text import safe_file_part
from bot.evidence import check_application
from bot.files import remove_files, written_whole
from bot.returns import Return, Returns
from bot.storage import ApplicantRow, Document, Storage
from bot.validation import count_chars
from bot.wording import say

log = logging.getLogger(__name__)

# Columns before the per-question ones; the panes freeze after the name column.
_FIXED_COLUMNS = 9
_FROZEN = "C2"
_MIN_WIDTH, _MAX_WIDTH = 6, 40


@dataclass(frozen=True)
class ExportResult:
    zip_path: Path
    xlsx_path: Path
    applicants: int
    documents: int  # files put in the ZIP (.docx and .pdf), the spreadsheet not counted
    missing: list[str]  # who has no 申报书 in the ZIP: never generated, or its file is gone


@dataclass(frozen=True)
class _Entry:
    """One applicant as storage has them, read before any file is touched."""

    row: ApplicantRow
    answers: dict[str, str]
    attachments: dict[str, int]
    document: Document | None
    number: int  # which of its kind the document is (the 2nd draft): the number in the applicant's file name
    returned: Return | None = None  # returned for changes and not resubmitted: its comments are listed


async def export_all(
    storage: Storage, criteria: Criteria, out_dir: Path, *, tz: ZoneInfo, now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Write the ZIP of latest 申报书 and the 汇总 spreadsheet into out_dir (created if missing).

    `progress(done, total)`, if given, is called from the worker thread as each applicant's document
    is added to the ZIP (the desk shows 已打包 12/40 份): it must only store what it is given.

    The export is recorded, with whose data it holds, before its files are written: an applicant
    who erases their data meanwhile takes the record with them, and the export, which holds them,
    is then removed and made again without them.
    """
    moment = _local(now or datetime.now(UTC), tz)
    stamp = moment.strftime("%Y%m%d-%H%M")
    out_dir = await asyncio.to_thread(out_dir.absolute)
    zip_path = out_dir / (say("export_zip_name", stamp=stamp) + ".zip")
    xlsx_path = out_dir / (say("export_xlsx_name", stamp=stamp) + ".xlsx")
    for _attempt in range(3):
        # In the order applicants started: a person keeps their number from one export to the next.
        rows = sorted(await storage.applicant_rows(), key=lambda row: row.application_id)
        returns = await Returns(storage).all_open()
        entries = []
        for row in rows:
            answers = await storage.answers(row.application_id)
            counts = await storage.attachment_counts(row.application_id)
            document = await storage.latest_document(row.application_id)
            number = 0 if document is None else (
                await storage.document_number(row.application_id, document.kind, document.version))
            entries.append(_Entry(row, answers, dict(counts), document, number, returns.get(row.application_id)))
        export_id = await storage.record_export(zip_path, xlsx_path, [row.application_id for row in rows])
        try:
            result = await asyncio.to_thread(_write, entries, criteria, zip_path, xlsx_path, tz, moment, progress)
        except BaseException:
            await storage.forget_export(export_id)
            raise
        if await storage.export_recorded(export_id):
            log.info("export %s: %d applicants, %d files, %d without a document",
                     result.zip_path.name, result.applicants, result.documents, len(result.missing))
            return result
        log.info("an applicant erased their data while the export was written; making it again")
        await asyncio.to_thread(remove_files, [zip_path, xlsx_path])
    raise OSError("applicants kept erasing their data while the export was written")


# -- on the worker thread ------------------------------------------------------------------


def _write(entries: list[_Entry], criteria: Criteria, zip_path: Path, xlsx_path: Path, tz: ZoneInfo,
           now: datetime, progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Both files or neither: a failure (a full disk) leaves no ZIP without its spreadsheet, no .part."""
    with written_whole(zip_path, xlsx_path) as (zip_part, xlsx_part):
        with zipfile.ZipFile(zip_part, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            documents, missing, versions = _add_documents(archive, entries, progress)
            # Built after the copies, so that it says what the ZIP really holds.
            workbook = _workbook(entries, versions, criteria, tz, now)
            archive.writestr(say("export_xlsx_in_zip") + ".xlsx", workbook)
        xlsx_part.write_bytes(workbook)
    return ExportResult(zip_path, xlsx_path, len(entries), documents, missing)


def _add_documents(archive: zipfile.ZipFile, entries: list[_Entry],
                   progress: Callable[[int, int], None] | None = None) -> tuple[int, list[str], list[str]]:
    """Copy each latest 申报书 (and its PDF) in; returns files copied, who has none, and the version column."""
    # An applicant's number is their application's id: the same in every export, never reused.
    width = max(2, len(str(max((entry.row.application_id for entry in entries), default=0))))
    copied, missing, versions = 0, list[str](), list[str]()
    for done, entry in enumerate(entries):
        if progress is not None:
            progress(done, len(entries))  # how many are in so far, before this one's copy
        doc = entry.document
        stem = _file_stem(entry.row.application_id, width, entry.row, draft=_is_draft(entry))
        if doc is not None and _add(archive, Path(doc.path), f"{stem}.docx"):
            copied += 1
            if doc.pdf_path and _add(archive, Path(doc.pdf_path), f"{stem}.pdf"):
                copied += 1
            versions.append(_version(entry))
            continue
        missing.append(_person(entry.row))
        if doc is None:
            versions.append(say("export_version_none"))
        else:
            log.warning("export: document v%s of application %s is no longer on disk",
                        doc.version, entry.row.application_id)
            versions.append(say("export_version_lost", version=entry.number))
    if progress is not None:
        progress(len(entries), len(entries))
    return copied, missing, versions


def _add(archive: zipfile.ZipFile, path: Path, name: str) -> bool:
    """Copy one file into the ZIP; False (and nothing written) if it is no longer there."""
    try:
        if not path.is_file():
            return False
        archive.write(path, name)
    except FileNotFoundError:  # deleted between the check and the copy
        return False
    return True


def _workbook(entries: list[_Entry], versions: list[str], criteria: Criteria, tz: ZoneInfo,
              now: datetime) -> bytes:
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = say("export_sheet_summary")
    questions = criteria.questions
    header: list[str] = [
        say("export_col_number"), say("export_col_name"), say("export_col_unit"), say("export_col_status"),
        say("export_col_answered", total=len(questions)), say("export_col_warnings"), say("export_col_last_active"),
        say("export_col_submitted"), say("export_col_version"),
    ]
    for question in questions:
        header += [say("export_col_chars", question=question.id), say("export_col_hints", question=question.id)]
    sheet.append(header)
    for line, (entry, version) in enumerate(zip(entries, versions, strict=True), start=2):
        row = entry.row
        warnings = check_application(criteria, entry.answers, entry.attachments)
        labels = {
            qid: [say(f"evidence_label_{w.code}") for w in found if w.code != "empty"]
            for qid, found in warnings.items()
        }
        answered = sum(1 for q in questions if entry.answers.get(q.id, "").strip())
        values: list[Any] = [
            # A number, so that the office can sort and filter by it; the header gives the total.
            row.application_id, _person(row), row.unit, _status(row, answered), answered,
            sum(len(found) for found in labels.values()), local(row.last_active_at, tz),
            local(row.submitted_at, tz), version,
        ]
        for question in questions:
            values += [count_chars(entry.answers.get(question.id, "")), "、".join(labels[question.id])]
        _append(sheet, line, values)
    _style(sheet)

    _comments_sheet(book, entries, criteria, tz)
    notes = book.create_sheet(say("export_sheet_notes"))
    notes.append([say("export_notes_title", time=now.strftime(MINUTE), tz=tz.key)])
    notes.append([say("export_notes_column"), say("export_notes_meaning")])
    for column, meaning in [
        (header[0], say("export_note_number")), (header[1], say("export_note_name")),
        (header[2], say("export_note_unit")), (header[3], say("export_note_status")),
        (header[4], say("export_note_answered")), (header[5], say("export_note_warnings")),
        (header[6], say("export_note_last_active")), (header[7], say("export_note_submitted")),
        (header[8], say("export_note_version")),
        (say("export_notes_files"), say("export_note_files")),
        (say("export_col_chars", question="…"), say("export_note_chars")),
        (say("export_col_hints", question="…"), say("export_note_hints")),
    ]:
        notes.append([column, meaning])
    for cell in notes[2]:
        cell.font = Font(bold=True)
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 90

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _comments_sheet(book: Workbook, entries: list[_Entry], criteria: Criteria, tz: ZoneInfo) -> None:
    """退回修改 still open: one line per comment, so the office can check each one off."""
    sheet = book.create_sheet(say("export_sheet_returned"))
    sheet.append([say("export_col_number"), say("export_col_name"), say("export_col_unit"),
                  say("export_col_returned_at"), say("export_col_target"), say("export_col_comment")])
    line = 1
    for entry in entries:
        if entry.returned is None:
            continue
        for target in returned.ordered(criteria, [c.target for c in entry.returned.comments]):
            comment = entry.returned.comment_on(target)
            assert comment is not None
            line += 1
            _append(sheet, line, [entry.row.application_id, _person(entry.row), entry.row.unit,
                                  local(entry.returned.returned_at, tz),
                                  returned.target_label(criteria, target), comment.text])
    if sheet.max_row == 1:
        sheet.append([say("export_returned_none")])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEF", (8, 12, 24, 18, 30, 60), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _style(sheet: Worksheet) -> None:
    bold, grey = Font(bold=True), PatternFill("solid", fgColor="DDDDDD")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, grey
        cell.alignment = Alignment(horizontal="center", vertical="center")
    sheet.freeze_panes = _FROZEN
    sheet.auto_filter.ref = sheet.dimensions
    for index, column in enumerate(sheet.iter_cols(), start=1):
        widest = max(_display_width(cell.value) for cell in column)
        sheet.column_dimensions[get_column_letter(index)].width = min(_MAX_WIDTH, max(_MIN_WIDTH, widest + 2))


# -- small helpers ----------------------------------------------------------------------------


def _person(row: ApplicantRow) -> str:
    return row.name.strip() or row.display_name.strip() or say("document_no_name")


def _file_stem(number: int, width: int, row: ApplicantRow, *, draft: bool) -> str:
    name = safe_file_part(row.name) or safe_file_part(row.display_name) or say("document_no_name")
    unit = safe_file_part(row.unit)
    stem = "_".join(part for part in (f"{number:0{width}d}", name, unit) if part)
    # In the name itself, so that a draft copied out of the ZIP is never taken for a submission.
    return say("export_file_draft", stem=stem) if draft else stem


def _is_draft(entry: _Entry) -> bool:
    """Not the submitted 申报书: a draft, or any document of an application that is not submitted now
    (reopened: its old final is being revised)."""
    return entry.row.status != "submitted" or entry.document is None or entry.document.kind != "final"


def _status(row: ApplicantRow, answered: int) -> str:
    if row.status == "submitted":
        return say("export_status_submitted")
    if row.returned:
        return say("export_status_returned")
    return say("export_status_new") if answered == 0 else say("export_status_active")


def _version(entry: _Entry) -> str:
    """Says what the file name says: a draft, the submitted version, or a final since reopened."""
    doc = entry.document
    assert doc is not None
    if doc.kind != "final":
        return say("export_version_draft", version=entry.number)
    if _is_draft(entry):
        return say("export_version_reopened", version=entry.number)
    return say("export_version_final", version=entry.number)


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def _append(sheet: Worksheet, line: int, values: list[Any]) -> None:
    """One row of what people typed: always text, never a formula (a name or comment such as
    =HYPERLINK(…) must not become a live link in the office's spreadsheet)."""
    sheet.append([_cell_text(v) for v in values])
    # Not sheet[sheet.max_row]: max_row scans every cell, which made the export quadratic.
    for cell in next(sheet.iter_rows(min_row=line, max_row=line, max_col=len(values))):
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def _cell_text(value: Any) -> Any:
    """Text as the applicant typed it, minus control characters a spreadsheet cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _display_width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
