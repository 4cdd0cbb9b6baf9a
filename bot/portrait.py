"""The applicant's photo for the 申报表's box: any photo they send, cut to an ID photo's 3:4.

Kept in the application's own files folder (erased with it), as a JPEG of 390 × 520 pixels: 33 × 44
mm at 300 dpi, sharp in a 1- or 2-inch box. The centre is kept, a little above the middle, where a
face is in a portrait photo.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = (390, 520)  # width × height: 3:4


def portrait(data: bytes) -> bytes | None:
    """The photo cut to 3:4 and sized for the box; None if it is not a photo Pillow can read."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    fitted = ImageOps.fit(upright, SIZE, method=Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    out = io.BytesIO()
    fitted.save(out, "JPEG", quality=90)
    return out.getvalue()
