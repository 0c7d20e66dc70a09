"""Photos customers file with tickets: the type read from the bytes, the metadata stripped.

Only PNG, JPEG and WebP are taken, recognised by their first bytes (never the file name or
the declared type). Every photo is decoded and encoded again: what is stored and served is
pixels only — no EXIF (GPS position, camera serial), no comments, no trailing bytes of a
polyglot file — turned upright first when its EXIF said it was rotated.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from chatkiosk.errors import ChatkioskError, ValidationFailed

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


class UnsupportedImage(ChatkioskError):
    """Not a PNG, JPEG or WebP image (415)."""

    status_code = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


class ImageTooLarge(ChatkioskError):
    """Over the size or pixel limit (413)."""

    status_code = 413
    type = "invalid_request_error"
    code = "image_too_large"


@dataclass(frozen=True, slots=True)
class CleanImage:
    """A photo ready to store: its type, clean bytes, size in pixels and digest."""

    content_type: str
    data: bytes
    width: int
    height: int
    sha256: str


def sniff(data: bytes) -> str | None:
    """The image format by its magic bytes: "PNG", "JPEG", "WEBP" or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def clean_image(data: bytes, *, max_bytes: int, max_pixels: int) -> CleanImage:
    """Check and re-encode a photo; UnsupportedImage, ImageTooLarge or ValidationFailed otherwise."""
    from PIL import Image, ImageOps

    if len(data) > max_bytes:
        raise ImageTooLarge(f"a photo may be at most {max_bytes / 1_000_000:g} MB")
    kind = sniff(data)
    if kind is None:
        raise UnsupportedImage("only PNG, JPEG and WebP photos can be attached")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                if image.width * image.height > max_pixels:
                    raise ImageTooLarge(f"a photo may have at most {max_pixels // 1_000_000} megapixels")
                image.load()
                upright = ImageOps.exif_transpose(image)
    except (ImageTooLarge, UnsupportedImage):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(f"a photo may have at most {max_pixels // 1_000_000} megapixels") from None
    except Exception:  # Pillow raises many kinds for broken files
        raise ValidationFailed("the photo cannot be read (a damaged or incomplete file)", code="unreadable_image", param="file") from None
    upright.info.clear()  # EXIF, comments, ICC and text chunks stay behind: pixels only
    out = io.BytesIO()
    if kind == "JPEG":
        upright.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
    elif kind == "PNG":
        upright.save(out, "PNG", optimize=True)
    else:
        upright.save(out, "WEBP", quality=85)
    clean = out.getvalue()
    return CleanImage(FORMATS[kind], clean, upright.width, upright.height, hashlib.sha256(clean).hexdigest())
