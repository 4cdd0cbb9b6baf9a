"""Photos in the 申报书: which can be shown inside the document, at what size, and how the 附件 pages
share them (two landscape photos to a page, a portrait one alone)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from docx.image.image import Image

from bot.uploads import decodes_fully

# What Word, WPS and LibreOffice can show inside the document; other files are listed only.
EMBEDDABLE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"})

# Photos are scaled to fit the text block of an A4 page with the template's margins.
MAX_IMAGE_WIDTH_MM = 150.0
MAX_IMAGE_HEIGHT_MM = 190.0
# On the 附件 pages (a text block of 156 × 225 mm, less each 附件's two title lines): a landscape or
# small photo takes half a page, so two share one; a portrait one (a certificate) the whole page.
HALF_PAGE_IMAGE_MM = (150.0, 80.0)
FULL_PAGE_IMAGE_MM = (150.0, 180.0)


def image_size_mm(path: Path) -> tuple[float, float] | None:
    """The size to print a photo at, or None when it cannot be embedded: a type Word cannot show (PDF,
    HEIC, WEBP…), a file no longer on disk, or one that does not decode in full (cut off, damaged)."""
    try:
        stat = path.stat()
        if not _whole_image(str(path), stat.st_size, stat.st_mtime_ns):
            return None
        image = Image.from_file(str(path))
    except Exception:  # python-docx raises many kinds for a file it cannot read; any of them means "list it"
        return None
    width = image.px_width / (image.horz_dpi or 72) * 25.4
    height = image.px_height / (image.vert_dpi or 72) * 25.4
    if width <= 0 or height <= 0:
        return None
    scale = min(1.0, MAX_IMAGE_WIDTH_MM / width, MAX_IMAGE_HEIGHT_MM / height)
    return width * scale, height * scale


@functools.lru_cache(maxsize=512)
def _whole_image(path: str, size: int, mtime_ns: int) -> bool:
    """Decoded once per file version: a draft and the final of the same application share the work."""
    with open(path, "rb") as file:
        return decodes_fully(file.read())


def _fit(size: tuple[float, float], box: tuple[float, float]) -> tuple[float, float]:
    scale = min(1.0, box[0] / size[0], box[1] / size[1])
    return size[0] * scale, size[1] * scale


def page_layout(sizes: Sequence[tuple[float, float] | None]) -> list[tuple[tuple[float, float] | None, bool]]:
    """Each 附件's printed size and whether it starts a page.

    Landscape photos and those small enough for half a page are fitted to half a page and printed two
    to a page; a portrait photo (a certificate) gets a page of its own, so none leaves half a page
    blank. A file that is only listed takes a half page's slot (its title and a note).
    """
    placed: list[tuple[tuple[float, float] | None, bool]] = []
    free_half = False  # the page so far holds one half-page 附件
    for size in sizes:
        half = size is None or size[1] <= size[0] or _fit(size, HALF_PAGE_IMAGE_MM) == size
        if half:
            placed.append((size and _fit(size, HALF_PAGE_IMAGE_MM), not free_half))
            free_half = not free_half
        else:
            assert size is not None  # None is always `half`
            placed.append((_fit(size, FULL_PAGE_IMAGE_MM), True))
            free_half = False
    return placed
