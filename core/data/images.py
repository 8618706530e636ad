"""The one image decoder used by training, the health check and prediction: upright RGB, or a reason."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SYSTEM_FILES = {".ds_store", "thumbs.db", "desktop.ini", "icon\r"}
SYSTEM_FOLDERS = {"__macosx", "@eadir", "$recycle.bin", "system volume information"}
SET_ASIDE_FOLDER = "_set_aside"  # pictures a person set aside (core.data.relabel): kept on disk, never a class
MIN_SIDE = 8
MAX_PIXELS = 80_000_000
DRAFT_SIDE = 1024
NEUTRAL = (128, 128, 128)


class UnreadableImage(ValueError):
    """A file that is skipped: `reason` in words, `kind` for code (empty, not_image, corrupt, too_large, tiny)."""

    def __init__(self, reason: str, kind: str = "corrupt"):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def not_an_image_file(path: Path) -> str:
    """The skip reason for a file whose extension is not an image type."""
    suffix = path.suffix.lower()
    return f"not an image file ({suffix})" if suffix else "not an image file (no extension)"


def is_ignored(path: Path) -> bool:
    """Hidden and operating-system files (.DS_Store, ._x.jpg, Thumbs.db, __MACOSX/…) and set-aside pictures
    (`_set_aside/`) are ignored silently."""
    return any(
        (part.startswith(".") and part not in (".", "..")) or part.lower() in SYSTEM_FILES or part.lower() in SYSTEM_FOLDERS
        or part.lower() == SET_ASIDE_FOLDER
        for part in path.parts
    )


def has_image_extension(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: alpha composited on grey, 16-bit and float scaled, not clipped."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(img, dtype=np.float64)
        top = 1.0 if img.mode == "F" and values.max(initial=0) <= 1.0 else (255.0 if values.max(initial=0) <= 255 else 65535.0)
        return Image.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8), "L").convert("RGB")
    if img.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (img.mode == "P" and img.has_transparency_data):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, NEUTRAL + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _reason(err: Exception) -> tuple[str, str]:
    text = str(err)
    lowered = text.lower()
    if isinstance(err, UnidentifiedImageError):
        return "not an image (its contents are not a picture format this app can read)", "not_image"
    if any(words in lowered for words in ("truncated", "broken data stream", "image file is", "premature end")):
        return "truncated or corrupt image data (the file may be half-copied)", "corrupt"
    return f"corrupt image ({type(err).__name__}: {text})", "corrupt"


def load_image(path: str | Path, draft_side: int = DRAFT_SIDE) -> Image.Image:
    """Decode an image file as upright RGB, or raise UnreadableImage saying why it is skipped.

    Big JPEGs are decoded at a reduced scale (at least `draft_side` px on the short side) so a
    6000x4000 photo costs a fraction of a full decode; decompression bombs are refused before decoding.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise UnreadableImage(f"cannot be opened ({err.strerror or err})") from None
    if size == 0:
        raise UnreadableImage("empty file (0 bytes)", "empty")
    return _open(path, draft_side)


def load_image_bytes(data: bytes, draft_side: int = DRAFT_SIDE) -> Image.Image:
    """`load_image` for an image sent as bytes (an upload to the HTTP API), with the same checks and reasons."""
    if not data:
        raise UnreadableImage("empty file (0 bytes)", "empty")
    return _open(io.BytesIO(data), draft_side)


def _open(source, draft_side: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                return _decode(img, draft_side)
    except UnreadableImage:
        raise
    except Image.DecompressionBombError:
        raise UnreadableImage(f"too many pixels (over the {MAX_PIXELS:,} pixel safety limit)", "too_large") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError,
            UnidentifiedImageError, MemoryError) as err:
        raise UnreadableImage(*_reason(err)) from None


def _decode(img: Image.Image, draft_side: int) -> Image.Image:
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise UnreadableImage(
            f"too many pixels ({width}x{height}, over the {MAX_PIXELS:,} pixel safety limit; "
            "possibly a decompression bomb)", "too_large",
        )
    if min(width, height) < MIN_SIDE:
        raise UnreadableImage(f"too small ({width}x{height} px; at least {MIN_SIDE} px on each side is needed)", "tiny")
    if draft_side and img.format == "JPEG":
        img.draft(img.mode, (draft_side, draft_side))
    img.seek(0)  # GIF, multi-page TIFF: the first frame
    img.load()
    return _to_rgb(ImageOps.exif_transpose(img))

