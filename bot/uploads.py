"""What a received file really is, checked before anything is kept: any channel calls this.

A file's first bytes prove little: a PNG cut off after its header, or a JPEG cut in its header,
passes a magic-number check and later breaks the 申报书. So images are decoded in full
(Pillow), PDFs are opened and their pages counted (pypdf), and a HEIC file must be a whole
ISO-BMFF file of a HEIF brand. A refusal carries the wording key that tells the applicant why.
"""

from __future__ import annotations

import io
import logging
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from bot.wording import say

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download; the web takes the same
ALLOWED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"})
SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/heic": ".heic",
            "application/pdf": ".pdf"}

# Phones save many photos as JPEGs with extra pictures inside (previews, depth maps): Pillow calls
# those MPO; they are JPEGs to Word, python-docx and everyone else.
_PILLOW_FORMATS = {"image/jpeg": ("JPEG", "MPO"), "image/png": ("PNG",), "image/webp": ("WEBP",)}
# Brands of HEIF images (ISO/IEC 23008-12); 'mif1'/'msf1' alone are generic and also AVIF's.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
# Decoded in full, a PNG or WEBP takes 4 bytes a pixel: above this (a 600 dpi A4 scan is 35 million)
# a small file could take gigabytes, so it is refused. A JPEG is decoded at an eighth of its size.
MAX_DECODED_PIXELS = 40_000_000

_PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk with its checksum

# pypdf says what it repairs at WARNING; a broken upload is refused with a reason, not logged.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Refusal:
    """Why a file is not kept: a wording key (file_type_refused, file_broken, file_too_big…)."""

    key: str


def check_declared(mime: str, size: int | None) -> Refusal | None:
    """What can be refused before a file is even fetched: its declared type and size."""
    if mime not in ALLOWED_TYPES:
        return Refusal("file_type_refused")
    if size is not None and size > MAX_FILE_BYTES:
        return Refusal("file_too_big")
    return None


def check_upload(data: bytes, mime: str) -> Refusal | None:
    """None when `data` is a whole, readable file of type `mime`; else why not. Blocking: call it off the loop."""
    declared = check_declared(mime, len(data))
    if declared is not None:
        return declared
    if mime == "application/pdf":
        return _check_pdf(data)
    if mime == "image/heic":
        return _check_heif(data)
    return _check_image(data, _PILLOW_FORMATS[mime])


def decodes_fully(data: bytes) -> bool:
    """Whether an image file of any format Pillow knows is whole (for stored files, before embedding)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            expected = Image.open(io.BytesIO(data)).format or ""
    except Exception:
        return False
    return _check_image(data, (expected,)) is None


def _check_image(data: bytes, expected_formats: tuple[str, ...]) -> Refusal | None:
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns above 89 million pixels and refuses above twice that.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in expected_formats:
                return Refusal("file_type_refused")
            if image.format not in ("JPEG", "MPO") and image.width * image.height > MAX_DECODED_PIXELS:
                return Refusal("file_too_many_pixels")
            if image.format == "PNG":
                # Pillow draws a PNG whose end is cut off; Word may not. Its chunks' checksums and its
                # closing IEND chunk must be there.
                if _PNG_END not in data:
                    return Refusal("file_broken")
                image.verify()
                image = Image.open(io.BytesIO(data))
            if image.format in ("JPEG", "MPO"):
                # Decoding at an eighth of the size still reads every byte of the picture, so a cut-off
                # file is found, at a fraction of the time of a full-size decode.
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except UnidentifiedImageError:
        # Starts like the declared type, yet cannot be read: a damaged file, not a wrong type.
        return Refusal("file_broken" if _looks_like(data, expected_formats[0]) else "file_type_refused")
    except Image.DecompressionBombError:
        return Refusal("file_too_many_pixels")
    except Exception:  # Pillow raises many kinds for a broken file (OSError, SyntaxError, ValueError…)
        return Refusal("file_broken")
    return None


def _looks_like(data: bytes, image_format: str) -> bool:
    if image_format == "WEBP":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return data.startswith({"JPEG": b"\xff\xd8\xff", "PNG": b"\x89PNG\r\n\x1a\n"}.get(image_format, b"\0\0\0\0"))


def _check_pdf(data: bytes) -> Refusal | None:
    if not data.startswith(b"%PDF-"):
        return Refusal("file_type_refused")
    from pypdf import PdfReader  # imported here: only PDFs need it

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if len(reader.pages) < 1:
            return Refusal("file_broken")
    except Exception:  # pypdf's errors for a broken file are many and not all PdfReadError
        return Refusal("file_broken")
    return None


def _check_heif(data: bytes) -> Refusal | None:
    """A HEIF image: boxes that exactly fill the file, the first an 'ftyp' naming a HEIF brand, a 'meta'
    and an 'mdat'. Pillow cannot decode HEIC without a plug-in, so its structure is what is checked."""
    if data[4:8] != b"ftyp":
        return Refusal("file_type_refused")
    size = struct.unpack(">I", data[:4])[0]
    brands = [data[8:12]] + [data[i:i + 4] for i in range(16, min(size, len(data)), 4)]
    if not _HEIF_BRANDS.intersection(brands):
        return Refusal("file_type_refused")
    boxes, offset = set(), 0
    while offset < len(data):
        if offset + 8 > len(data):
            return Refusal("file_broken")
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:  # a 64-bit size follows
            if offset + 16 > len(data):
                return Refusal("file_broken")
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        elif size == 0:  # the last box, to the end of the file
            size = len(data) - offset
        if size < 8 or offset + size > len(data):
            return Refusal("file_broken")
        boxes.add(kind)
        offset += size
    # The picture is described in 'meta' and stored in 'mdat': without either there is no photo.
    return None if {b"meta", b"mdat"} <= boxes else Refusal("file_broken")


def refusal_text(refused: Refusal, name: str, size: int) -> str:
    """What the applicant is told about a refused file, whichever channel it came by."""
    if refused.key == "file_too_big":
        return say("file_too_big", name=name, mb=round(size / 1024 / 1024, 1))
    if refused.key == "file_broken":
        return say("file_broken", name=name)
    if refused.key == "file_too_many_pixels":
        return say("file_too_many_pixels", name=name)
    return say("file_type_refused", name=name)
