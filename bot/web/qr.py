"""QR codes that open the web channel: a PNG to print, an inline SVG for a page.

segno is pure Python, so this adds no native dependency. Always a full QR Code, never a Micro QR
(segno picks Micro for short data when allowed, and most phone cameras cannot read Micro QR).
"""

from __future__ import annotations

import html
import io

import segno

# 'M' recovers ~15 % damage: enough for a printed sheet that gets folded or smudged, without the
# larger symbol 'Q'/'H' would need. segno may raise it further when that costs no extra size.
ERROR = "m"
QUIET_ZONE = 4  # modules; the QR Code standard's minimum, which scanners rely on
DARK = "#000"
LIGHT = "#fff"
DEFAULT_LABEL = "二维码"


def make_code(url: str) -> segno.QRCode:
    """The symbol both outputs draw; tests compare it with a fresh encoding of `url`."""
    if not url:
        raise ValueError("a QR code needs a URL")
    # Raises segno.DataOverflowError (a ValueError) when the URL is too long for any QR version.
    return segno.make_qr(url, error=ERROR)


def qr_png(url: str, *, scale: int = 8) -> bytes:
    """A black-on-white PNG of `url` with a quiet zone, `scale` pixels per module."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    out = io.BytesIO()
    make_code(url).save(out, kind="png", scale=scale, border=QUIET_ZONE, dark=DARK, light=LIGHT)
    return out.getvalue()


def qr_svg(url: str, *, label: str = DEFAULT_LABEL) -> str:
    """An `<svg>` element of `url` to put straight into HTML.

    One pixel per module in a viewBox with no width/height, so CSS sizes it; no XML declaration,
    which is invalid inside HTML. `label` becomes the title and the aria-label for screen readers;
    the URL itself is not put there, as it may carry a sign-in token that should not be read aloud.
    """
    out = io.BytesIO()
    make_code(url).save(
        out,
        kind="svg",
        scale=1,
        border=QUIET_ZONE,
        dark=DARK,
        light=LIGHT,
        xmldecl=False,
        svgns=True,  # harmless inline, and lets the same string be served as an image/svg+xml file
        omitsize=True,
        title=label,
        svgclass="qr",
        lineclass=None,
        nl=False,
    )
    svg = out.getvalue().decode("utf-8")
    # segno has no option for these: role/aria-label make it one labelled image to assistive
    # technology, and crispEdges stops browsers anti-aliasing seams between scaled modules.
    extra = f' role="img" aria-label="{html.escape(label, quote=True)}" shape-rendering="crispEdges"'
    return svg.replace("<svg", "<svg" + extra, 1)
