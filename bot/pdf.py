"""A PDF of the 申报书 beside the .docx, where LibreOffice is installed.

`soffice --convert-to pdf` alone would print the table of contents as the template left it,
without page numbers. So the conversion runs a small LibreOffice Basic macro, kept in a
LibreOffice profile of our own, that opens the document, refreshes its indexes and exports the
PDF. The Chinese font names of the template (仿宋, 黑体 …) are mapped to the server's CJK
fonts by `templates/fonts.conf`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from bot.shipped import shipped

log = logging.getLogger(__name__)

FONTS_CONF = shipped("templates") / "fonts.conf"

# Paths travel in environment variables, so no quoting of the macro URL can go wrong.
MACRO = """
Sub ToPdf
    On Error GoTo Failed
    Dim load(0) As New com.sun.star.beans.PropertyValue
    load(0).Name = "Hidden" : load(0).Value = True
    doc = StarDesktop.loadComponentFromURL(ConvertToURL(Environ("AWARD_PDF_IN")), "_blank", 0, load())
    indexes = doc.getDocumentIndexes()
    ' Twice: filling the table of contents can move headings to later pages.
    For pass = 1 To 2
        For i = 0 To indexes.getCount() - 1
            indexes.getByIndex(i).update()
        Next i
    Next pass
    Dim save(0) As New com.sun.star.beans.PropertyValue
    save(0).Name = "FilterName" : save(0).Value = "writer_pdf_Export"
    doc.storeToURL(ConvertToURL(Environ("AWARD_PDF_OUT")), save())
    doc.close(True)
Failed:
    StarDesktop.terminate()
End Sub
"""

_LIBRARIES = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd">
<library:libraries xmlns:library="http://openoffice.org/2000/library"
                   xmlns:xlink="http://www.w3.org/1999/xlink">
 <library:library library:name="Standard" xlink:href="$(USER)/basic/Standard/{kind}.xlb/"
                  xlink:type="simple" library:link="false"/>
</library:libraries>
"""
_LIBRARY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard"
                 library:readonly="false" library:passwordprotected="false">{elements}
</library:library>
"""
_MODULE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="AwardBot"
               script:language="StarBasic">{code}</script:module>
"""


class PdfError(Exception):
    """LibreOffice could not produce the PDF."""


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


class PdfConverter:
    """Turns a .docx into a PDF with LibreOffice; one conversion at a time per profile."""

    def __init__(self, soffice: str, profile_dir: Path, *, timeout: float = 180.0) -> None:
        self.soffice = soffice
        self.profile_dir = profile_dir.resolve()
        self.timeout = timeout

    @classmethod
    def find(cls, profile_dir: Path, *, timeout: float = 180.0) -> PdfConverter | None:
        """A converter if LibreOffice is installed, else None (documents are then .docx only)."""
        soffice = find_soffice()
        return cls(soffice, profile_dir, timeout=timeout) if soffice else None

    def _install_macro(self) -> None:
        basic = self.profile_dir / "user" / "basic"
        standard = basic / "Standard"
        standard.mkdir(parents=True, exist_ok=True)
        files = {
            basic / "script.xlc": _LIBRARIES.format(kind="script"),
            basic / "dialog.xlc": _LIBRARIES.format(kind="dialog"),
            standard / "script.xlb": _LIBRARY.format(elements='\n <library:element library:name="AwardBot"/>'),
            standard / "dialog.xlb": _LIBRARY.format(elements=""),
            standard / "AwardBot.xba": _MODULE.format(code=escape(MACRO)),
        }
        for path, text in files.items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")

    def convert(self, docx: Path, pdf: Path) -> None:
        """Write `pdf` from `docx`. Blocking (seconds): call it from a worker thread."""
        # LibreOffice runs elsewhere and takes only absolute paths.
        docx, pdf = docx.resolve(), pdf.resolve()
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        with open(self.profile_dir / ".award-lock", "w") as lock:
            # LibreOffice hands a second start on the same profile to the running one; take turns.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (self.profile_dir / "user" / "registrymodifications.xcu").exists():
                # A new profile's first start writes the default Basic library over ours.
                self._soffice(["--terminate_after_init"], {})
            self._install_macro()
            self._run(docx, pdf)

    def _run(self, docx: Path, pdf: Path) -> None:
        pdf.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=pdf.parent, prefix=".pdf-") as work:
            partial = Path(work) / "out.pdf"
            paths = {"AWARD_PDF_IN": str(docx), "AWARD_PDF_OUT": str(partial)}
            returncode, output = self._soffice(["macro:///Standard.AwardBot.ToPdf"], paths)
            if not partial.exists() or partial.stat().st_size == 0:
                raise PdfError(f"LibreOffice wrote no PDF (exit {returncode}): {output[-500:]}")
            os.replace(partial, pdf)

    def _soffice(self, arguments: list[str], extra_env: dict[str, str]) -> tuple[int, str]:
        scratch = self.profile_dir / "tmp"  # LibreOffice's own temporary files stay with its profile
        scratch.mkdir(exist_ok=True)
        env = dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF), HOME=str(self.profile_dir), TMPDIR=str(scratch),
                   **extra_env)
        command = [self.soffice, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
                   "--nolockcheck", f"-env:UserInstallation={self.profile_dir.resolve().as_uri()}", *arguments]
        # Its own session, so that a timeout can kill soffice.bin and not just the wrapper script.
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            output, _ = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired as error:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise PdfError(f"LibreOffice took longer than {self.timeout:.0f} s") from error
        return process.returncode, output.decode("utf-8", "replace").strip()
