"""Exports one .docx as a PDF through a running LibreOffice, over UNO (bot/pdf_server.py runs it).

It runs under the system Python, whose python3-uno package brings LibreOffice's UNO bridge, not
under the bot's virtual environment: it imports nothing of the bot.

    /usr/bin/python3 bot/uno_export.py PIPE [IN.docx OUT.pdf]

Without IN and OUT it only waits until LibreOffice answers on the named pipe PIPE (a fresh one
needs a second or two). A pipe, not a TCP port: no other local user can reach it. As the one-off
conversion's Basic macro does (bot/pdf.py), it refreshes the document's indexes twice, so that
the table of contents has its page numbers, then exports the PDF.
"""

from __future__ import annotations

import os
import sys
import time

import uno  # type: ignore[import-not-found]

CONNECT_SECONDS = 600.0  # the caller's own timeout decides how long LibreOffice may take to start


def _property(name: str, value: object) -> object:
    prop = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    prop.Name, prop.Value = name, value
    return prop


def connect(pipe: str) -> object:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + CONNECT_SECONDS
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:  # NoConnectException (a UNO exception) until LibreOffice listens
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def export(context: object, source: str, target: str) -> None:
    manager = context.ServiceManager  # type: ignore[attr-defined]
    desktop = manager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(source), "_blank", 0,
                                            (_property("Hidden", True),))
    try:
        indexes = document.getDocumentIndexes()
        for _ in range(2):  # filling the table of contents can move headings to later pages
            for index in range(indexes.getCount()):
                indexes.getByIndex(index).update()
        document.storeToURL(uno.systemPathToFileUrl(target), (_property("FilterName", "writer_pdf_Export"),))
    finally:
        document.close(True)


def main(argv: list[str]) -> int:
    context = connect(argv[0])
    if len(argv) == 3:
        export(context, argv[1], argv[2])
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Straight out: python3-uno can crash (SIGSEGV) tearing the UNO bridge down at interpreter exit,
    # after the PDF is written; there is nothing left to clean up here.
    os._exit(code)
