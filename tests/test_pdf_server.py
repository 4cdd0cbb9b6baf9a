"""One LibreOffice kept running for the bot's PDFs (#18): reused, restarted when it dies or hangs.

.ci/run installs python3-uno (LibreOffice's UNO bridge for the system Python) beside LibreOffice;
in CI a missing one is a failure, not a skip.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from bot.answers_file import load_answers_file
from bot.criteria import load_criteria
from bot.document import render_application
from bot.pdf import PdfConverter, find_soffice
from bot.pdf_server import PIDFILE, PdfServer, uno_python
from tests.conftest import ROOT
from tests.test_pdf import page_texts

if (find_soffice() is None or uno_python() is None) and os.environ.get("CI") != "true":
    pytest.skip("LibreOffice or python3-uno is not installed", allow_module_level=True)

SAMPLE = ROOT / "examples" / "answers.sample.json"


def running_in(group: int) -> list[int]:
    """The processes of this process group still running (a killed one may linger as a zombie)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def docx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    criteria = load_criteria()
    sample = load_answers_file(SAMPLE, criteria, today=date.today())
    path = tmp_path_factory.mktemp("document") / "申报书.docx"
    render_application(criteria, sample.profile, sample.answers, path, day=date(2026, 11, 20),
                       attachments=sample.attachments)
    return path


def test_one_libreoffice_serves_every_pdf_and_is_replaced_when_it_dies_or_hangs(docx, tmp_path) -> None:
    # One story, one LibreOffice at a time: each start costs a second or two of CPU.
    # 15 s for a PDF of 0.5 s: a hang, not a loaded machine (starting it may take longer: START_SECONDS).
    server = PdfServer.find(tmp_path / "libreoffice", timeout=15)
    assert isinstance(server, PdfServer), "python3-uno is not installed"
    try:
        for n in range(3):
            server.convert(docx, tmp_path / f"{n}.pdf")
        assert server.started == 1 and server.pid is not None
        pages = page_texts(tmp_path / "2.pdf")
        # The table of contents was refreshed, as the one-off macro does: its lines end in page numbers.
        assert "目录" in pages[1] and "一、申报表" in pages[1] and "陈海涛" in "".join(pages)
        assert (tmp_path / "0.pdf").read_bytes()[:5] == b"%PDF-"

        os.killpg(server.pid, signal.SIGKILL)  # it died: the next PDF starts another
        time.sleep(0.2)
        server.convert(docx, tmp_path / "after-death.pdf")
        assert server.started == 2 and (tmp_path / "after-death.pdf").stat().st_size > 10_000

        hung = server.pid
        assert hung is not None
        os.killpg(hung, signal.SIGSTOP)  # alive, answering nothing: replaced within the timeout
        server.convert(docx, tmp_path / "after-hang.pdf")
        assert server.started == 3 and server.pid != hung and (tmp_path / "after-hang.pdf").exists()
        assert not running_in(hung)  # the hung one is gone, not left behind
    finally:
        server.close()
    assert not running_in(hung)


def test_a_libreoffice_left_by_a_killed_bot_is_ended_at_the_next_start(docx, tmp_path) -> None:
    first = PdfServer.find(tmp_path / "libreoffice", timeout=20)
    assert isinstance(first, PdfServer)
    first.convert(docx, tmp_path / "one.pdf")
    orphan = first.pid
    [pidfile] = (tmp_path / "libreoffice").glob(f"server-*/{PIDFILE}")
    # As after SIGKILL of the bot: nobody stops its LibreOffice, and its process is gone.
    gone = subprocess.Popen(["true"])
    gone.wait()
    pidfile.write_text(f"{gone.pid} {orphan}", encoding="utf-8")
    first._office = None
    second = PdfServer.find(tmp_path / "libreoffice", timeout=20)
    assert isinstance(second, PdfServer)
    try:
        second.convert(docx, tmp_path / "two.pdf")
        time.sleep(0.2)
        assert not running_in(orphan) and pidfile.read_text().split()[1] != str(orphan)
    finally:
        second.close()


def test_without_the_uno_bridge_each_pdf_starts_libreoffice_afresh(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("bot.pdf_server.SYSTEM_PYTHON", "/bin/false")
    monkeypatch.setattr("bot.pdf_server.uno_python", lambda python="/bin/false": None)
    found = PdfServer.find(tmp_path / "libreoffice")
    assert type(found) is PdfConverter


def test_two_bot_processes_each_keep_their_own_libreoffice(docx, tmp_path) -> None:
    # award-bot run and award-bot web side by side: neither ends nor borrows the other's LibreOffice.
    ours = PdfServer.find(tmp_path / "libreoffice", timeout=20)
    assert isinstance(ours, PdfServer)
    other = subprocess.Popen([sys.executable, "-c", (
        "import sys; from pathlib import Path; from bot.pdf_server import PdfServer; "
        f"s = PdfServer.find(Path({str(tmp_path / 'libreoffice')!r})); s.convert(Path({str(docx)!r}), "
        f"Path({str(tmp_path / 'other.pdf')!r})); print(s.pid, flush=True); sys.stdin.read()")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, text=True)
    try:
        theirs = int(other.stdout.readline())  # type: ignore[union-attr]
        ours.convert(docx, tmp_path / "ours.pdf")
        assert ours.pid != theirs and running_in(theirs) and (tmp_path / "other.pdf").exists()
    finally:
        other.communicate("")
        ours.close()
