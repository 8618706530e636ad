"""A deliberately messy class-per-folder dataset, written file by file, with what each file should become."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

RED, BLUE, GREY = (220, 30, 30), (30, 30, 220), (128, 128, 128)

# file (relative to the dataset root) -> expected reason fragment
BAD = {
    "dog/zero.jpg": "empty file",
    "dog/truncated.jpg": "truncated",
    "dog/not-really.jpg": "not an image",
    "dog/notes.txt": "not an image file (.txt)",
    "dog/tiny.png": "too small",
    "dog/bomb.png": "too many pixels",
}
IGNORED = [".DS_Store", "cat/.DS_Store", "cat/._photo.jpg", "dog/Thumbs.db", "dog/desktop.ini", "__MACOSX/cat/x.jpg"]
ODD = [
    "cat/exif-rotated.jpg", "cat/alpha.png", "cat/la.png", "cat/palette-transparent.png", "cat/animated.gif",
    "cat/cmyk.jpg", "cat/sixteen-bit.png", "cat/one-bit.png", "cat/UPPER.PNG", "cat/ünïcødé 猫.jpg",
    "cat/photo.webp", "cat/photo.bmp", "cat/photo.tif", "cat/nested/deeper/inside.jpg", "cat/large.jpg",
]


def _noise_image(color, seed: int, size: int = 64) -> Image.Image:
    """A coloured square with its own noise, so no two generated photos look alike to a perceptual hash."""
    rng = np.random.default_rng(seed)
    base = np.array(color, dtype=np.int16)[None, None, :]
    pixels = base + rng.integers(-25, 25, size=(size, size, 3))
    blocks = rng.integers(0, 2, size=(4, 4)).repeat(size // 4, 0).repeat(size // 4, 1)[:, :, None] * 60
    return Image.fromarray(np.clip(pixels + blocks, 0, 255).astype(np.uint8))


def exif_rotated_jpeg() -> bytes:
    """Stored 64 wide x 32 tall, left half red; EXIF orientation 6 says 'turn 90 degrees clockwise to view'."""
    img = Image.new("RGB", (64, 32), BLUE)
    img.paste(RED, (0, 0, 32, 32))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def bomb_png(side: int = 10_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels that is only a few kB on disk."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = zlib.compress(b"\0" * ((side // 8 + 1) * side), 9)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _save(img: Image.Image, path: Path, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kwargs)


def make_messy_dataset(root: Path, per_class: int = 12) -> Path:
    """Flat layout: cat/ (odd but valid files), dog/ (bad files among good ones), empty/ (no images)."""
    for i in range(per_class):
        _save(_noise_image(RED, seed=i), root / "cat" / f"cat_{i:02d}.jpg", quality=90)
        _save(_noise_image(BLUE, seed=100 + i), root / "dog" / f"dog_{i:02d}.jpg", quality=90)
    (root / "empty").mkdir()
    (root / "cat" / "exif-rotated.jpg").write_bytes(exif_rotated_jpeg())
    rgba = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    rgba.paste((*RED, 255), (0, 0, 16, 32))
    _save(rgba, root / "cat" / "alpha.png")
    _save(Image.new("LA", (32, 32), (200, 255)), root / "cat" / "la.png")
    palette = rgba.convert("P")
    _save(palette, root / "cat" / "palette-transparent.png", transparency=palette.getpixel((31, 31)))
    frames = [Image.new("RGB", (32, 32), RED).convert("P"), Image.new("RGB", (32, 32), BLUE).convert("P")]
    frames[0].save(root / "cat" / "animated.gif", save_all=True, append_images=frames[1:], duration=100)
    _save(Image.new("RGB", (32, 32), RED).convert("CMYK"), root / "cat" / "cmyk.jpg", quality=95)
    _save(Image.fromarray(np.full((32, 32), 32768, dtype=np.uint16)), root / "cat" / "sixteen-bit.png")
    _save(Image.new("1", (32, 32), 1), root / "cat" / "one-bit.png")
    _save(_noise_image(RED, seed=201), root / "cat" / "UPPER.PNG")
    _save(_noise_image(RED, seed=202), root / "cat" / "ünïcødé 猫.jpg")
    _save(_noise_image(RED, seed=203), root / "cat" / "photo.webp")
    _save(_noise_image(RED, seed=204), root / "cat" / "photo.bmp")
    _save(_noise_image(RED, seed=205), root / "cat" / "photo.tif")
    _save(_noise_image(RED, seed=206), root / "cat" / "nested" / "deeper" / "inside.jpg")
    _save(_noise_image(RED, seed=207).resize((6000, 4000)), root / "cat" / "large.jpg", quality=80)
    (root / "dog" / "zero.jpg").write_bytes(b"")
    whole = (root / "dog" / "dog_00.jpg").read_bytes()
    (root / "dog" / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "dog" / "not-really.jpg").write_text("this is a text file with an image's name")
    (root / "dog" / "notes.txt").write_text("labels: dog")
    _save(Image.new("RGB", (4, 4), BLUE), root / "dog" / "tiny.png")
    (root / "dog" / "bomb.png").write_bytes(bomb_png())
    for name in IGNORED:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"\0\1junk")
    return root
