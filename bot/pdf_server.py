"""One LibreOffice kept running for the bot's lifetime, so that a PDF follows its .docx in well under
a second instead of the two or three a cold start of LibreOffice takes (bot/pdf.py).

LibreOffice listens on a named pipe of an unguessable name (UNO has no authentication, so not a
TCP port), with a profile of its own; each conversion is a short run of
bot/uno_export.py under the system Python (Debian's python3-uno gives it LibreOffice's UNO bridge).
Conversions go one at a time. A conversion that fails or takes longer than `timeout` kills this
LibreOffice; the next is started and the conversion tried once more on it. Where there is no UNO
bridge, `find` gives the one-off converter instead, as `award-bot render` always uses.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from bot.pdf import FONTS_CONF, PdfConverter, PdfError, find_soffice

log = logging.getLogger(__name__)

UNO_EXPORT = Path(__file__).with_name("uno_export.py")
PIDFILE = "office.pid"  # the bot's pid and its LibreOffice's process group, for a later start to end
SYSTEM_PYTHON = "/usr/bin/python3"


def _end_left_over(profiles: Path) -> None:
    """A bot killed with SIGKILL leaves its LibreOffice running (in a session of its own): end those
    whose bot is gone. Each bot process has its own (server-PID): `award-bot run` and `award-bot web`
    side by side each keep theirs."""
    for pidfile in profiles.glob(f"server-*/{PIDFILE}"):
        try:
            owner, group = (int(part) for part in pidfile.read_text(encoding="utf-8").split())
        except (OSError, ValueError):
            continue
        if owner == os.getpid() or _alive(owner):
            continue
        try:
            # Only if that process is still a LibreOffice: the number may have gone to another process.
            if b"office" in Path(f"/proc/{group}/cmdline").read_bytes():
                os.killpg(group, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass
        shutil.rmtree(pidfile.parent, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def uno_python(python: str = SYSTEM_PYTHON) -> str | None:
    """The Python that can import LibreOffice's UNO bridge, or None."""
    try:
        done = subprocess.run([python, "-c", "import uno"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return python if done.returncode == 0 else None


class PdfServer(PdfConverter):
    """A running LibreOffice for every conversion; started at the first, stopped with close()."""

    # A LibreOffice starting on a loaded machine may take a while to answer: not a hang.
    START_SECONDS = 60.0

    def __init__(self, soffice: str, profile_dir: Path, python: str, *, timeout: float = 60.0) -> None:
        super().__init__(soffice, profile_dir, timeout=timeout)
        self.python = python
        self._lock = threading.Lock()
        self._office: subprocess.Popen[bytes] | None = None
        self._pipe = ""
        self.started = 0  # how many LibreOffices this server has started: one, unless one died or hung
        atexit.register(self.close)  # the bot's lifetime; a LibreOffice left by a killed bot: see _start

    @classmethod
    def find(cls, profile_dir: Path, *, timeout: float = 60.0) -> PdfConverter | None:
        """A running LibreOffice where the UNO bridge is installed; else the one-off converter, or None."""
        soffice = find_soffice()
        if soffice is None:
            return None
        python = uno_python()
        if python is None:
            log.info("python3-uno is not installed: each PDF starts LibreOffice afresh")
            return PdfConverter(soffice, profile_dir, timeout=timeout)
        return cls(soffice, profile_dir, python, timeout=timeout)

    @property
    def pid(self) -> int | None:
        return self._office.pid if self._office is not None and self._office.poll() is None else None

    def convert(self, docx: Path, pdf: Path) -> None:
        """Write `pdf` from `docx`, on the running LibreOffice. Blocking: call it from a worker thread."""
        docx, pdf = docx.resolve(), pdf.resolve()
        with self._lock:
            try:
                self._convert(docx, pdf)
            except PdfError as error:
                log.warning("PDF conversion failed (%s); trying once more on a fresh LibreOffice", error)
                self._stop()
                self._convert(docx, pdf)

    def close(self) -> None:
        with self._lock:
            self._stop()
            shutil.rmtree(self.profile_dir / f"server-{os.getpid()}", ignore_errors=True)

    def _convert(self, docx: Path, pdf: Path) -> None:
        if self.pid is None:
            self._start()
        pdf.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=pdf.parent, prefix=".pdf-") as work:
            partial = Path(work) / "out.pdf"
            self._uno(str(docx), str(partial))
            if not partial.exists() or partial.stat().st_size == 0:
                raise PdfError("LibreOffice wrote no PDF")
            os.replace(partial, pdf)

    def _start(self) -> None:
        self._stop()
        # Not the one-off converter's profile, nor another bot process's: LibreOffice hands a start on
        # a profile in use to the LibreOffice already running on it.
        _end_left_over(self.profile_dir)
        profile = self.profile_dir / f"server-{os.getpid()}"
        scratch = profile / "tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        # A named pipe of an unguessable name, not a TCP port: UNO has no authentication, and any local
        # user could otherwise drive this LibreOffice, as the bot's user.
        self._pipe = f"award-bot-{os.getpid()}-{secrets.token_hex(16)}"
        env = dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF), HOME=str(profile), TMPDIR=str(scratch))
        command = [self.soffice, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
                   "--nolockcheck", f"-env:UserInstallation={profile.resolve().as_uri()}",
                   f"--accept=pipe,name={self._pipe};urp;StarOffice.ComponentContext"]
        # Its own session, so that stopping it kills soffice.bin and not just the wrapper script.
        self._office = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        self.started += 1
        (profile / PIDFILE).write_text(f"{os.getpid()} {self._office.pid}", encoding="utf-8")
        self._uno(limit=self.START_SECONDS)  # until it answers

    def _uno(self, *paths: str, limit: float | None = None) -> None:
        limit = self.timeout if limit is None else limit
        try:
            done = subprocess.run([self.python, str(UNO_EXPORT), self._pipe, *paths], capture_output=True,
                                  timeout=limit)
        except subprocess.TimeoutExpired as error:
            raise PdfError(f"LibreOffice took longer than {limit:.0f} s") from error
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace")[-300:]
            raise PdfError(f"LibreOffice failed (exit {done.returncode}): {detail}")

    def _stop(self) -> None:
        office, self._office = self._office, None
        if office is None:
            return
        try:
            os.killpg(office.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        office.wait()
