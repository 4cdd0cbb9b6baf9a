"""The 申报书 files an applicant receives are named so that they can tell them apart in any folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.criteria import Criteria
from bot.flows.documents import document_stem
from bot.flows.interview import Interview
from bot.storage import Storage
from tests.conftest import PROFILE, FakeApplicant, answer_for

# Forbidden in file names on Windows (and so in WeChat and Telegram downloads saved there).
FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


class FakePdf:
    """Stands in for LibreOffice: writes a tiny PDF beside the .docx."""

    def convert(self, docx: Path, pdf: Path) -> None:
        pdf.write_bytes(b"%PDF-1.4\n% fake\n")


def names(replies: list) -> list[str]:
    return [r.document_name for r in replies if r.document is not None]


def applicant_named(storage: Storage, criteria: Criteria, folder: Path, user: str) -> FakeApplicant:
    return FakeApplicant(Interview(storage, criteria, data_dir=folder, pdf=FakePdf()), user, "wf")


async def test_wang_fang_can_tell_her_drafts_and_her_submissions_apart(
    storage: Storage, criteria: Criteria, tmp_path: Path
) -> None:
    wang = applicant_named(storage, criteria, tmp_path / "files", "8001")
    await wang.consent()
    await wang.fill_profile({**PROFILE, "name": "王芳"})
    await wang.say(answer_for("1.1a"))

    # Her first preview: the name says who, that it is a draft, and which one; the PDF matches.
    first = [r for r in await wang.command("draft") if r.document is not None]
    assert names(first) == ["申报书-王芳-第1版-草稿.docx", "申报书-王芳-第1版-草稿.pdf"]
    assert "第 1 版" in first[0].text and "草稿" in first[0].text
    # She adds a sentence and previews again: the second draft.
    await wang.say("补充：带领班组完成了三项工艺改进。")
    second = await wang.command("draft")
    assert names(second) == ["申报书-王芳-第2版-草稿.docx", "申报书-王芳-第2版-草稿.pdf"]
    assert "第 2 版" in wang.text
    # Asking for it again gives the same file under the same name.
    assert names(await wang.command("document")) == names(second)

    # Submitting gives her first submitted 申报书: no 草稿 in its name, numbered as the first of its kind.
    await wang.command("finish")
    final = [r for r in await wang.tap("仍然提交") if r.document is not None]
    assert names(final) == ["申报书-王芳-第1版.docx", "申报书-王芳-第1版.pdf"]
    assert "第 1 版" in final[0].text and "草稿" not in final[0].text
    assert names(await wang.command("document")) == names(final)

    # She reopens, changes a sentence, previews and submits again: each keeps counting its own kind.
    await wang.command("reopen")
    await wang.say("再补充：获得市级质量标兵称号。")
    assert names(await wang.command("draft"))[0] == "申报书-王芳-第3版-草稿.docx"
    await wang.command("finish")
    assert names(await wang.tap("仍然提交"))[0] == "申报书-王芳-第2版.docx"


async def test_without_a_name_in_the_form_the_file_is_still_named_sensibly(
    storage: Storage, criteria: Criteria, tmp_path: Path
) -> None:
    nameless = FakeApplicant(Interview(storage, criteria, data_dir=tmp_path / "files", pdf=FakePdf()), "8002")
    await nameless.consent()  # no 申报表 yet and no name from the channel: no name to put in the file name
    assert names(await nameless.command("draft")) == ["申报书-第1版-草稿.docx", "申报书-第1版-草稿.pdf"]
    # Someone who registered on the web as 王芳 has her name in it before the 申报表's 姓名 is filled.
    registered = applicant_named(storage, criteria, tmp_path / "files", "8004")
    await registered.consent()
    assert names(await registered.command("draft"))[0] == "申报书-wf-第1版-草稿.docx"


async def test_a_name_that_looks_like_a_path_gives_a_plain_file_name(
    storage: Storage, criteria: Criteria, tmp_path: Path
) -> None:
    sly = applicant_named(storage, criteria, tmp_path / "files", "8003")
    await sly.consent()
    await sly.fill_profile({**PROFILE, "name": "../王芳"})
    [docx, pdf] = names(await sly.command("draft"))
    assert (docx, pdf) == ("申报书-王芳-第1版-草稿.docx", "申报书-王芳-第1版-草稿.pdf")


@pytest.mark.parametrize("name", [
    "../x", "..\\..\\x", "/etc/passwd", 'a/b\\c:d*e?f"g<h>i|j', "王\x00芳\x07\t\n", "王芳\u202ecod.exe",
    "..", " . ", "///", "C:", "欧阳·娜娜" * 50, "=HYPERLINK(\"x\")",
])
def test_any_name_gives_one_safe_short_file_name(name: str) -> None:
    for kind in ("draft", "final"):
        stem = document_stem(name, kind, 12)
        file_name = f"{stem}.docx"
        assert not FORBIDDEN.search(file_name) and "\u202e" not in file_name
        assert Path(file_name).name == file_name and ".." not in file_name
        assert stem.startswith("申报书-") and stem.endswith("第12版-草稿" if kind == "draft" else "第12版")
        assert len(file_name) <= 40 and len(file_name.encode()) < 255


def test_names_keep_what_identifies_the_applicant() -> None:
    assert document_stem("王芳", "draft", 2) == "申报书-王芳-第2版-草稿"
    assert document_stem("王芳", "final", 1) == "申报书-王芳-第1版"
    assert document_stem("欧阳 娜娜", "final", 1) == "申报书-欧阳_娜娜-第1版"
    assert document_stem("../x", "draft", 1) == "申报书-x-第1版-草稿"
    assert document_stem("", "final", 3) == document_stem(None, "final", 3) == "申报书-第3版"
    assert document_stem("///", "draft", 1) == "申报书-第1版-草稿"
