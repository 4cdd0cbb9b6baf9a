"""Files that ship with the program: the criteria, the Word template and font map, the example.

In a checkout they are the top-level folders criteria/, templates/ and examples/. An installed
wheel carries the same folders inside the package, as bot/_shipped/<folder> (see pyproject.toml),
since a wheel cannot put files beside site-packages.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped(folder: str) -> Path:
    installed = _PACKAGE / "_shipped" / folder
    return installed if installed.is_dir() else _PACKAGE.parent / folder
