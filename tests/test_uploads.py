"""A received file is whole and what it says it is, or it is refused with the reason, before it is kept."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from bot.uploads import Refusal, check_upload, decodes_fully
from tests.conftest import jpeg, pdf, png


def photo(kind: str, size: tuple[int, int] = (48, 36)) -> bytes:
    """A photo with detail in it (a flat colour compresses to almost nothing)."""
    rng = random.Random(size[0] * 1000 + size[1])
    image = Image.new("RGB", size)
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(size[0] * size[1])])
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


@pytest.mark.parametrize(("kind", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_every_cut_off_version_of_a_photo_is_refused_and_the_whole_one_kept(kind: str, mime: str) -> None:
    whole = photo(kind)
    assert check_upload(whole, mime) is None and decodes_fully(whole)
    # Every prefix, as an upload cut off in transit or a file saved half-way: 45 of about 400 such
    # PNG and JPEG prefixes passed the old magic-number check and later broke the 申报书.
    passed = [n for n in range(1, len(whole)) if check_upload(whole[:n], mime) is None]
    assert passed == []
    assert {check_upload(whole[:n], mime) for n in range(16, len(whole), 7)} == {Refusal("file_broken")}


def test_a_file_that_is_not_what_it_says_is_refused_as_of_the_wrong_type() -> None:
    assert check_upload(png("x"), "image/jpeg") == Refusal("file_type_refused")
    assert check_upload(jpeg("x"), "image/png") == Refusal("file_type_refused")
    assert check_upload(b"MZ\x90\x00", "image/png") == Refusal("file_type_refused")
    assert check_upload(b"<html>hello</html>", "application/pdf") == Refusal("file_type_refused")
    assert check_upload(jpeg("x"), "application/x-msdownload") == Refusal("file_type_refused")


def test_a_pdf_must_open_and_have_a_page() -> None:
    assert check_upload(pdf("证书"), "application/pdf") is None
    assert check_upload(b"%PDF-<html><body>hi</body></html>", "application/pdf") == Refusal("file_broken")
    assert check_upload(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "application/pdf") == Refusal("file_broken")


def test_a_heic_photo_must_be_a_whole_heif_file() -> None:
    def box(kind: bytes, body: bytes) -> bytes:
        return (8 + len(body)).to_bytes(4, "big") + kind + body

    heic = box(b"ftyp", b"heic\0\0\0\0mif1heic") + box(b"meta", b"\0" * 24) + box(b"mdat", b"\1" * 64)
    assert check_upload(heic, "image/heic") is None
    assert check_upload(heic[:-10], "image/heic") == Refusal("file_broken")  # the picture data cut off
    no_picture = box(b"ftyp", b"heic\0\0\0\0mif1heic") + box(b"meta", b"\0" * 24)
    assert check_upload(no_picture, "image/heic") == Refusal("file_broken")
    mp4 = box(b"ftyp", b"isom\0\0\2\0isomiso2") + box(b"mdat", b"\1" * 64)
    assert check_upload(mp4, "image/heic") == Refusal("file_type_refused")  # any ISO-BMFF file passed before
    avif = box(b"ftyp", b"avif\0\0\0\0mif1avif") + box(b"meta", b"\0" * 24)
    assert check_upload(avif, "image/heic") == Refusal("file_type_refused")


def test_a_decompression_bomb_is_refused_not_decoded() -> None:
    # 9 000 × 9 000 pixels of one colour: a tiny PNG that would take over 300 MB to decode.
    buffer = io.BytesIO()
    Image.new("L", (9000, 9000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 200_000
    assert check_upload(buffer.getvalue(), "image/png") == Refusal("file_too_many_pixels")


def test_over_twenty_megabytes_is_refused_whatever_it_is() -> None:
    assert check_upload(b"\0" * (20 * 1024 * 1024 + 1), "application/pdf") == Refusal("file_too_big")


def test_a_phone_jpeg_with_extra_pictures_inside_is_a_jpeg() -> None:
    # Phones store previews and depth maps inside the JPEG (MPF): Pillow calls it MPO, Word a JPEG.
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buffer, "MPO", save_all=True,
                                                      append_images=[Image.new("RGB", (32, 24), (10, 200, 10))])
    mpo = buffer.getvalue()
    assert mpo.startswith(b"\xff\xd8\xff") and Image.open(io.BytesIO(mpo)).format == "MPO"
    assert check_upload(mpo, "image/jpeg") is None
    assert check_upload(mpo[: len(mpo) // 4], "image/jpeg") == Refusal("file_broken")  # cut in its main picture


def test_a_png_with_data_after_its_end_is_kept() -> None:
    assert check_upload(png("trailer") + b"\0" * 5000, "image/png") is None
