"""The award office's commands on files and the database: `award-bot backup`, `export`, `remind`,
`render` and `demo` (an answers file made into a 申报书), `check` (the evidence checks on one answer)
and `criteria validate`."""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import evidence
from bot.answers_file import Answers, AnswersFileError, load_answers_file
from bot.config import Settings
from bot.criteria import Criteria, CriteriaError, load_criteria
from bot.document import DocumentError, render_application
from bot.export import export_all
from bot.glyphs import missing_glyphs
from bot.pdf import PdfConverter, PdfError
from bot.shipped import shipped
from bot.storage import Storage, StorageError, backup_database
from bot.wording import say

SAMPLE = shipped("examples") / "answers.sample.json"


def backup_main(db: Path, path: Path) -> int:
    """`award-bot backup`: a checked copy of the database."""
    try:
        counts = backup_database(db, path)
    except (StorageError, sqlite3.Error, OSError) as exc:
        print(f"备份失败：{reason(exc)}", file=sys.stderr)
        return 1
    print(f"{path}: {counts['applicants']} 位申报人，{counts['answers']} 条回答，"
          f"{counts['documents']} 份申报书记录（完整性检查通过）")
    return 0


def check_answer(settings: Settings, question_id: str, attachments: int) -> int:
    try:
        criteria = load_criteria(settings.criteria)
    except CriteriaError as exc:
        print(exc, file=sys.stderr)
        return 1
    question = criteria.question(question_id.strip().lower())
    if question is None:
        valid = " ".join(q.id for q in criteria.questions)
        print(f"未知题号 (unknown question id) {question_id!r}；可用的题号：{valid}", file=sys.stderr)
        return 2
    if sys.stdin.isatty():  # a person at the keyboard may not know the program waits for them
        print(say("cli_check_reading"), file=sys.stderr)
    warnings = evidence.check(question, sys.stdin.read(), attachments)
    print(json.dumps([{"code": w.code, "message": w.message} for w in warnings], ensure_ascii=False, indent=2))
    return 0


def validate_criteria(path: Path) -> int:
    try:
        criteria = load_criteria(path)
    except CriteriaError as exc:
        print(exc, file=sys.stderr)
        return 1
    items = sum(len(c.items) for c in criteria.categories)
    print(
        f"{path}: OK — {criteria.award}（版本 {criteria.version}）："
        f"{len(criteria.core_concepts)} 条核心理念，{len(criteria.categories)} 个类目，{items} 个条目，"
        f"{len(criteria.questions)} 道题，申报表 {len(criteria.profile)} 项"
    )
    return 0


def demo_main(settings: Settings, output: Path | None, no_pdf: bool) -> int:
    """The example application rendered; without -o into a new temporary folder, never the current one."""
    if output is not None:
        return render_main(settings, SAMPLE, output, no_pdf)
    folder = Path(tempfile.mkdtemp(prefix="award-bot-demo-"))
    print(say("cli_demo_folder", folder=folder))
    # LibreOffice's profile goes there too: the default files folder is data/ in the current folder.
    return render_main(settings, SAMPLE, folder / "sample.docx", no_pdf, profile=folder / ".libreoffice")


def render_main(settings: Settings, answers_path: Path, output: Path, no_pdf: bool,
                profile: Path | None = None) -> int:
    try:
        criteria = load_criteria(settings.criteria)
        loaded = load_answers_file(answers_path, criteria, today=datetime.now(ZoneInfo(settings.timezone)).date())
    except (CriteriaError, AnswersFileError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if output.suffix.lower() != ".docx":
        print(f"{output}: 输出文件应以 .docx 结尾", file=sys.stderr)
        return 1
    day = loaded.day or datetime.now(ZoneInfo(settings.timezone)).date()
    try:
        rendered = render_application(criteria, loaded.profile, loaded.answers, output, attachments=loaded.attachments,
                                      day=day, draft=loaded.draft, template=settings.template)
    except DocumentError as exc:
        print(f"申报书没有生成：{exc}", file=sys.stderr)
        return 1
    print(f"{output}: {len(loaded.answers)}/{len(criteria.questions)} 题，{rendered.images} 张图片")
    for note in loaded.notes:
        print(f"提示：{note}", file=sys.stderr)
    for attachment in rendered.not_embedded:
        print(f"提示：附件{attachment.number}（{attachment.file_name}）放不进文档，只列在证明材料清单中："
              "Word 显示不了这种格式（能显示的是 JPG、PNG、GIF、BMP、TIFF），或文件不完整、已损坏", file=sys.stderr)
    try:
        return _render_pdf(settings, output, no_pdf, profile)
    finally:
        # After the normal output: characters that would print as a box or not at all.
        missing = missing_glyphs(_texts_of(criteria, loaded))
        if missing:
            listed = "、".join(f"{char}（{'、'.join(places)}）" for char, places in missing.items())
            print(say("render_missing_glyphs", chars=listed), file=sys.stderr)


def _texts_of(criteria: Criteria, loaded: Answers) -> list[tuple[str, str]]:
    """Every text of an answers file with where it is (申报表 label, question id, 附件说明)."""
    labels = {f.key: f.label for f in criteria.profile}
    texts = [(labels.get(key, key), str(value)) for key, value in loaded.profile.items()]
    texts += list(loaded.answers.items())
    texts += [(say("render_glyphs_caption", question=a.question_id), a.caption) for a in loaded.attachments]
    return texts


def _render_pdf(settings: Settings, output: Path, no_pdf: bool, profile: Path | None) -> int:
    if no_pdf or not settings.pdf:
        return 0
    converter = PdfConverter.find(profile or settings.libreoffice_profile)
    if converter is None:
        print("没有安装 LibreOffice，未生成 PDF（Debian: apt-get install libreoffice-writer-nogui fonts-noto-cjk）",
              file=sys.stderr)
        return 0
    pdf = output.with_suffix(".pdf")
    try:
        converter.convert(output, pdf)
    except PdfError as exc:
        print(f"PDF 没有生成：{exc}", file=sys.stderr)
        return 1
    print(f"{pdf}: PDF")
    return 0


async def with_storage(settings: Settings, work: Callable[[Storage, Criteria], Awaitable[int]]) -> int:
    """Run a command-line verb on the configured criteria and database, closing it afterwards."""
    try:
        criteria = load_criteria(settings.criteria)
        storage = await Storage.open(settings.db)
    except (CriteriaError, StorageError) as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        return await work(storage, criteria)
    finally:
        await storage.close()


async def export_main(settings: Settings, folder: Path, storage: Storage, criteria: Criteria) -> int:
    try:
        result = await export_all(storage, criteria, folder, tz=ZoneInfo(settings.timezone))
    except OSError as exc:
        print(f"导出失败：无法写入 {folder}（{reason(exc)}）。请换一个可写的文件夹。", file=sys.stderr)
        return 1
    print(f"{result.zip_path}: {result.applicants} 人，{result.documents} 个文件")
    print(f"{result.xlsx_path}: 汇总表")
    if result.missing:
        print(f"还没有申报书：{'、'.join(result.missing)}", file=sys.stderr)
    return 0


def reason(exc: BaseException) -> str:
    """An error as a person reads it: the OS's words for a file problem, no traceback."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)
