"""The office exports every application: one ZIP of the latest 申报书 and a 汇总 spreadsheet."""

from __future__ import annotations

import asyncio
import io
import os
import threading
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docx import Document as WordDocument
from openpyxl import load_workbook

import bot.export
from bot.criteria import Criteria
from bot.evidence import check
from bot.export import ExportResult, export_all
from bot.flows.interview import Interview
from bot.storage import Storage
from bot.validation import count_chars
from tests.conftest import PROFILE, FakeApplicant, answer_for, application_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-11-20 09:05 UTC is 17:05 in Lianyungang.
NOW = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
# A results answer an assessor would find thin: no figures, no years.
THIN = "我负责的产线质量一直很好，客户都很满意，领导也多次表扬。"


class FakePdf:
    """Stands in for LibreOffice: writes a tiny PDF beside the .docx."""

    def convert(self, docx: Path, pdf: Path) -> None:
        pdf.write_bytes(b"%PDF-1.4\n% fake\n")


async def applicants_in_three_states(storage: Storage, criteria: Criteria, docs: Path) -> dict[str, FakeApplicant]:
    """张三 submitted (a draft first, then the final), 李四 is half-way with a draft, 王五 only filled the 申报表."""
    submitted = FakeApplicant(Interview(storage, criteria, data_dir=docs, pdf=FakePdf()), "7001", "zs")
    await submitted.reach_questions()
    await submitted.say(answer_for("1.1a"))
    await submitted.command("draft")
    await submitted.command("jump", "7.1a")
    await submitted.say(THIN)
    await submitted.command("finish")
    await submitted.tap("仍然提交")

    halfway = FakeApplicant(Interview(storage, criteria, data_dir=docs), "7002", "ls")
    await halfway.consent()
    await halfway.fill_profile({**PROFILE, "name": "李四", "unit": "连云港港口集团/装卸公司"})
    for question in criteria.questions[:3]:
        await halfway.say(answer_for(question.id))
        await halfway.tap("下一题")
    await halfway.command("draft")

    profile_only = FakeApplicant(Interview(storage, criteria, data_dir=docs), "7003", "ww")
    await profile_only.consent()
    await profile_only.fill_profile({**PROFILE, "name": "王五", "unit": "江苏某某化工有限公司"})
    return {"submitted": submitted, "halfway": halfway, "profile_only": profile_only}


def summary_rows(path_or_bytes: Path | bytes) -> tuple[list[str], dict[str, dict[str, object]]]:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    book = load_workbook(source)
    sheet = book["汇总"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    return header, {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}


async def test_the_office_gets_every_application_in_one_zip_with_a_summary(
    storage: Storage, criteria: Criteria, tmp_path: Path
) -> None:
    await applicants_in_three_states(storage, criteria, tmp_path / "docs")
    out = tmp_path / "exports" / "today"  # created on the way

    result = await export_all(storage, criteria, out, tz=SHANGHAI, now=NOW)

    assert isinstance(result, ExportResult)
    assert result.zip_path == out / "质量奖申报材料_20261120-1705.zip"
    assert result.xlsx_path == out / "质量奖申报汇总_20261120-1705.xlsx"
    assert result.applicants == 3 and result.missing == ["王五"]
    # 张三's final .docx and its PDF, 李四's draft (marked so): numbered in the order they started.
    with zipfile.ZipFile(result.zip_path) as archive:
        names = sorted(archive.namelist())
        assert names == sorted([
            "01_张三_连云港某某精密机械有限公司.docx",
            "01_张三_连云港某某精密机械有限公司.pdf",
            "02_李四_连云港港口集团_装卸公司_草稿.docx",
            "汇总.xlsx",
        ])
        assert result.documents == 3
        final = WordDocument(io.BytesIO(archive.read("01_张三_连云港某某精密机械有限公司.docx")))
        inside = archive.read("汇总.xlsx")
    texts = [p.text for p in final.paragraphs]
    assert answer_for("1.1a") in texts and THIN in texts
    assert not any("草稿" in t for t in texts), "the latest (final) version, not the earlier draft"
    # The spreadsheet beside the ZIP is the one inside it; nothing half-written is left behind.
    assert result.xlsx_path.read_bytes() == inside
    assert sorted(p.name for p in out.iterdir()) == sorted([result.zip_path.name, result.xlsx_path.name])

    header, rows = summary_rows(result.xlsx_path)
    assert header[:9] == ["申报编号", "姓名", "工作单位", "状态", "已答题数（共 39 题）", "未处理提示数", "最后活动",
                          "提交时间", "申报书版本"]
    assert header[9:13] == ["1.1a 字数", "1.1a 提示", "1.1b 字数", "1.1b 提示"]
    assert len(header) == 9 + 2 * len(criteria.questions)
    assert set(rows) == {"张三", "李四", "王五"}
    zhang, li, wang = rows["张三"], rows["李四"], rows["王五"]
    assert [zhang["申报编号"], li["申报编号"], wang["申报编号"]] == [1, 2, 3]
    assert (zhang["状态"], zhang["已答题数（共 39 题）"], zhang["申报书版本"]) == ("已提交", 2, "第 1 版（正式版）")
    assert (li["状态"], li["已答题数（共 39 题）"], li["申报书版本"]) == ("填写中", 3, "第 1 版（草稿）")
    assert (wang["状态"], wang["已答题数（共 39 题）"], wang["申报书版本"]) == ("未开始", 0, "无")
    assert wang["工作单位"] == "江苏某某化工有限公司" and wang["提交时间"] in ("", None)
    submitted_at = datetime.strptime(str(zhang["提交时间"]), "%Y-%m-%d %H:%M")
    assert abs(submitted_at.replace(tzinfo=SHANGHAI) - datetime.now(UTC)).total_seconds() < 600
    assert len(str(li["最后活动"])) == len("2026-11-20 17:05")

    # 字数 and 提示 say what the evidence checks say, per answer.
    question = criteria.question("7.1a")
    assert question is not None
    assert zhang["7.1a 字数"] == count_chars(THIN)
    labels = {"too_short": "偏短", "missing_figures": "缺数字", "missing_trend": "缺趋势"}
    assert [w.code for w in check(question, THIN)] == list(labels)
    assert zhang["7.1a 提示"] == "偏短、缺数字、缺趋势"
    first = criteria.questions[0]
    assert [w.code for w in check(first, answer_for(first.id))] == ["too_short"]
    assert zhang["1.1a 字数"] == count_chars(answer_for("1.1a")) and zhang["1.1a 提示"] == "偏短"
    assert zhang["1.1b 提示"] in ("", None)
    # Unanswered questions are not counted as warnings: 张三 has 4 open ones, 1.1a's and 7.1a's.
    assert zhang["未处理提示数"] == 4 and wang["未处理提示数"] == 0
    assert wang["1.1a 字数"] == 0


async def test_the_spreadsheet_is_easy_to_read_and_explains_itself(
    storage: Storage, criteria: Criteria, tmp_path: Path
) -> None:
    await applicants_in_three_states(storage, criteria, tmp_path / "docs")
    result = await export_all(storage, criteria, tmp_path / "out", tz=SHANGHAI, now=NOW)
    book = load_workbook(result.xlsx_path)
    assert book.sheetnames == ["汇总", "退回意见", "说明"]  # 退回意见: the office's open comments
    sheet = book["汇总"]
    assert all(cell.font.bold for cell in sheet[1]) and not sheet["B2"].font.bold
    assert sheet.freeze_panes == "C2"  # the header and the names stay in view
    assert 8 <= sheet.column_dimensions["C"].width <= 40
    notes = [[cell.value for cell in row] for row in book["说明"].iter_rows()]
    assert "2026-11-20 17:05" in notes[0][0]
    explained = {row[0] for row in notes[2:]}
    assert {"申报编号", "状态", "未处理提示数", "申报书版本", "压缩包中的文件"} <= explained


async def test_a_deleted_document_file_is_reported_missing_not_a_crash(
    storage: Storage, criteria: Criteria, tmp_path: Path
) -> None:
    people = await applicants_in_three_states(storage, criteria, tmp_path / "docs")
    halfway = await application_of(storage, people["halfway"])
    latest = await storage.latest_document(halfway.id)
    assert latest is not None
    await asyncio.to_thread(Path(latest.path).unlink)  # someone tidied the documents folder by hand
    submitted = await application_of(storage, people["submitted"])
    final = await storage.latest_document(submitted.id)
    assert final is not None and final.pdf_path
    await asyncio.to_thread(Path(final.pdf_path).unlink)  # the .docx alone is still worth sending

    result = await export_all(storage, criteria, tmp_path / "out", tz=SHANGHAI, now=NOW)

    assert sorted(result.missing) == sorted(["李四", "王五"]) and result.documents == 1
    with zipfile.ZipFile(result.zip_path) as archive:
        assert sorted(archive.namelist()) == ["01_张三_连云港某某精密机械有限公司.docx", "汇总.xlsx"]
    _, rows = summary_rows(result.xlsx_path)
    assert rows["李四"]["申报书版本"] == "第 1 版（文件已不在服务器上）"


async def test_exporting_with_no_applicants_gives_an_empty_summary(
    storage: Storage, criteria: Criteria, tmp_path: Path
) -> None:
    result = await export_all(storage, criteria, tmp_path, tz=SHANGHAI,
                              now=datetime(2026, 1, 2, 3, 4, tzinfo=SHANGHAI))
    assert result.zip_path.name == "质量奖申报材料_20260102-0304.zip"
    assert (result.applicants, result.documents, result.missing) == (0, 0, [])
    with zipfile.ZipFile(result.zip_path) as archive:
        assert archive.namelist() == ["汇总.xlsx"]
    header, rows = summary_rows(result.xlsx_path)
    assert header[0] == "申报编号" and rows == {}


async def test_names_that_are_empty_odd_or_formula_like_are_safe(
    storage: Storage, criteria: Criteria, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    nameless = FakeApplicant(Interview(storage, criteria, data_dir=docs), "7101", "小蔡 的手机")
    await nameless.consent()  # stops before typing a name: the chat name stands in
    await nameless.command("draft")
    sly = FakeApplicant(Interview(storage, criteria, data_dir=docs), "7102", "x")
    await sly.consent()
    await sly.fill_profile({**PROFILE, "name": "=HYPERLINK(\"x\")", "unit": "A/B:C*公司"})
    await sly.command("draft")

    result = await export_all(storage, criteria, tmp_path / "out", tz=SHANGHAI, now=NOW)

    with zipfile.ZipFile(result.zip_path) as archive:
        names = set(archive.namelist())
    assert names == {"01_小蔡_的手机_草稿.docx", "02_=HYPERLINK(_x_)_A_B_C_公司_草稿.docx", "汇总.xlsx"}
    book = load_workbook(result.xlsx_path)
    cell = book["汇总"]["B3"]
    assert cell.value == "=HYPERLINK(\"x\")" and cell.data_type == "s"  # text, never a formula


async def test_a_failed_export_leaves_no_half_zip_under_the_final_name(
    storage: Storage, criteria: Criteria, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await applicants_in_three_states(storage, criteria, tmp_path / "docs")
    out = tmp_path / "out"

    def broken_workbook(*args: object, **kwargs: object) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr("bot.export._workbook", broken_workbook)
    with pytest.raises(OSError, match="disk full"):
        await export_all(storage, criteria, out, tz=SHANGHAI, now=NOW)
    assert list(out.iterdir()) == []


async def test_a_spreadsheet_that_cannot_be_put_in_place_takes_its_zip_with_it(
    storage: Storage, criteria: Criteria, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await applicants_in_three_states(storage, criteria, tmp_path / "docs")
    out = tmp_path / "out"
    rename = os.replace

    def full_disk_at_the_spreadsheet(source: Any, target: Any) -> None:
        if str(target).endswith(".xlsx"):
            raise OSError("disk full")
        rename(source, target)

    monkeypatch.setattr("bot.files.os.replace", full_disk_at_the_spreadsheet)
    with pytest.raises(OSError, match="disk full"):
        await export_all(storage, criteria, out, tz=SHANGHAI, now=NOW)
    assert list(out.iterdir()) == []  # no ZIP without its spreadsheet, and no .part left behind


async def test_the_bot_keeps_answering_while_an_export_copies_files(
    storage: Storage, criteria: Criteria, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await applicants_in_three_states(storage, criteria, tmp_path / "docs")
    entered, released = threading.Event(), threading.Event()
    copy = bot.export._add_documents

    def slow_copy(*args: Any) -> Any:
        entered.set()
        assert released.wait(10), "the applicant was kept waiting by the export"
        return copy(*args)

    monkeypatch.setattr("bot.export._add_documents", slow_copy)
    export = asyncio.create_task(export_all(storage, criteria, tmp_path / "out", tz=SHANGHAI, now=NOW))
    assert await asyncio.to_thread(entered.wait, 10)
    await people["halfway"].say("导出期间又补充了一句。")  # answered while the files are being copied
    assert "已保存" in people["halfway"].text
    released.set()
    assert (await export).applicants == 3


async def test_the_office_never_takes_a_draft_for_a_submitted_application(
    storage: Storage, criteria: Criteria, tmp_path: Path
) -> None:
    people = await applicants_in_three_states(storage, criteria, tmp_path / "docs")

    def exported(result: ExportResult) -> tuple[set[str], dict[str, dict[str, object]]]:
        with zipfile.ZipFile(result.zip_path) as archive:
            files = {name for name in archive.namelist() if name.endswith(".docx")}
        return files, summary_rows(result.xlsx_path)[1]

    # 张三 reopens his submitted application to change it: until he submits again, the office's copy
    # of his old final is marked, and the spreadsheet says why.
    zhang = people["submitted"]
    await zhang.command("reopen")
    result = await export_all(storage, criteria, tmp_path / "out1", tz=SHANGHAI, now=NOW)
    files, rows = exported(result)
    assert files == {"01_张三_连云港某某精密机械有限公司_草稿.docx", "02_李四_连云港港口集团_装卸公司_草稿.docx"}
    assert rows["张三"]["状态"] == "填写中"
    assert rows["张三"]["申报书版本"] == "第 1 版（原正式版，申报已重新打开，尚未再次提交）"

    # He submits again: his second final is in the ZIP under the plain name.
    await zhang.say("补充一句。")
    await zhang.command("finish")
    await zhang.tap("仍然提交")
    result = await export_all(storage, criteria, tmp_path / "out2", tz=SHANGHAI, now=NOW)
    files, rows = exported(result)
    assert files == {"01_张三_连云港某某精密机械有限公司.docx", "02_李四_连云港港口集团_装卸公司_草稿.docx"}
    assert (rows["张三"]["状态"], rows["张三"]["申报书版本"]) == ("已提交", "第 2 版（正式版）")
    # Whatever the state, the file name and the 状态 column agree.
    by_number = {str(row["申报编号"]).zfill(2): row for row in rows.values()}
    for name in files:
        assert name.endswith("_草稿.docx") == (by_number[name[:2]]["状态"] != "已提交"), name
