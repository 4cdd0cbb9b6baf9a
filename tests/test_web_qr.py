"""QR codes for the web channel: the office prints a PNG, the page shows an SVG; both must carry
exactly the link, be readable by an ordinary phone camera, and be safe to put into a page."""

from __future__ import annotations

import io
import re

import pytest
import segno
from PIL import Image

from bot.web.qr import QUIET_ZONE, make_code, qr_png, qr_svg

URL = "https://award.example.cn/web/start?invite=Zk3x9-Qa_2"
LONG_URL = "https://award.example.cn/web/start?invite=" + "x7Q-_" * 52  # 302 characters


def test_the_printed_code_is_a_png_any_image_program_opens() -> None:
    png = qr_png(URL)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    with Image.open(io.BytesIO(png)) as image:
        assert image.width == image.height > 100


def test_the_png_has_a_quiet_zone_and_is_drawn_to_scale() -> None:
    code = make_code(URL)
    png = qr_png(URL, scale=5)
    with Image.open(io.BytesIO(png)) as image:
        assert image.width == (code.symbol_size(border=0)[0] + 2 * QUIET_ZONE) * 5
        pixels = image.convert("L")
        border = QUIET_ZONE * 5
        # The quiet zone is all white; the first module inside it (a finder pattern corner) is black.
        assert all(pixels.getpixel((x, y)) == 255 for x in range(border) for y in range(image.height))
        assert pixels.getpixel((border, border)) == 0


def test_the_code_carries_exactly_the_link() -> None:
    code = make_code(URL)
    # A full QR Code (phone cameras rarely read Micro QR), in byte mode, at least error level M.
    assert code.is_micro is False
    assert code.mode == "byte"
    assert code.error in {"M", "Q", "H"}
    # Encoding the link afresh gives the same modules: nothing added, trimmed or re-cased.
    assert code.matrix == segno.make(URL, micro=False, error="m").matrix
    assert code.matrix != segno.make(URL + "x", micro=False, error="m").matrix


def test_a_long_link_still_fits() -> None:
    assert len(LONG_URL) >= 300
    code = make_code(LONG_URL)
    assert code.matrix == segno.make(LONG_URL, micro=False, error="m").matrix
    with Image.open(io.BytesIO(qr_png(LONG_URL))) as image:
        assert image.width > 100
    assert "viewBox" in qr_svg(LONG_URL)


def test_an_impossible_link_is_refused_clearly() -> None:
    with pytest.raises(ValueError):
        qr_png("")
    with pytest.raises(ValueError):
        qr_png("https://x.example/" + "a" * 5_000)  # beyond QR version 40
    with pytest.raises(ValueError):
        qr_png(URL, scale=0)


def test_the_page_svg_is_inline_scalable_and_black_on_white() -> None:
    svg = qr_svg(URL)
    assert svg.startswith("<svg ")
    assert svg.endswith("</svg>")
    assert "<?xml" not in svg
    size = make_code(URL).symbol_size(border=QUIET_ZONE)[0]
    assert f'viewBox="0 0 {size} {size}"' in svg
    assert not re.search(r"<svg[^>]*\s(width|height)=", svg)  # CSS decides the size
    assert 'stroke="#000"' in svg
    assert 'fill="#fff"' in svg
    assert "<script" not in svg.lower()


def test_the_page_svg_is_labelled_for_screen_readers_without_reading_out_the_link() -> None:
    svg = qr_svg(URL, label='用微信或相机扫码 "打开" <申报>')
    assert 'role="img"' in svg
    assert 'aria-label="用微信或相机扫码 &quot;打开&quot; &lt;申报&gt;"' in svg
    assert "<title>用微信或相机扫码" in svg
    assert "<申报>" not in svg  # the label is escaped, so it cannot open an element
    assert "invite=" not in svg
    assert "<title>二维码</title>" in qr_svg(URL)


def test_a_hostile_link_cannot_inject_markup_into_the_svg() -> None:
    svg = qr_svg('https://x.example/"><script>alert(1)</script>')
    assert "<script" not in svg.lower()
    assert "alert" not in svg
