"""Characters no font of the PDF conversion can draw: 𠀀 would print as a box, 👍 not at all.

The PDF is made by LibreOffice with the fonts fontconfig offers under `templates/fonts.conf`;
the same fontconfig is asked, once per distinct rare character, whether any font covers it.
Colour emoji fonts do not count: LibreOffice leaves their bitmaps out of the PDF.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable

from bot.pdf import FONTS_CONF

# Blocks every CJK server font has: checked without asking fontconfig.
_COMMON = (
    (0x0000, 0x024F),  # ASCII, Latin-1, Latin Extended
    (0x2000, 0x206F),  # general punctuation
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xFF00, 0xFFEF),  # full-width forms
)


def _common(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _COMMON)


@functools.lru_cache(maxsize=4096)
def drawable(char: str) -> bool:
    """Whether a font of the PDF conversion has a glyph for `char` (True when fontconfig is missing)."""
    if _common(char) or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp", "Mn"):
        return True
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return True  # cannot tell: say nothing rather than something wrong
    env = dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF))
    try:
        found = subprocess.run([fc_list, f":charset={ord(char):x}", "color"], capture_output=True, text=True,
                               env=env, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return True
    return any(line.strip() and "color=True" not in line for line in found.splitlines())


def missing_glyphs(texts: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """For (where, text) pairs: each character no font can draw, with where it occurs (in order)."""
    missing: dict[str, list[str]] = {}
    for where, text in texts:
        for char in dict.fromkeys(text):  # each distinct character once per text
            if not drawable(char):
                places = missing.setdefault(char, [])
                if where not in places:
                    places.append(where)
    return missing
