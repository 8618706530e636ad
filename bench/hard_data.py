"""A hard set, built offline: eight look-alike shapes drawn small on cluttered photographs, partly covered, with
noise and JPEG artefacts. Made to tell a good recipe from a better one where the easy sets are at 98-100 %.

- Backgrounds: random crops (random scale, flipped at random) of scikit-image's photographs (astronaut, coffee, cat,
  rocket, motorcycle, coins, clock, text, colour wheel, tissue, sky, gravel, grass, brick, moon, camera).
- Classes, in look-alike pairs: circle/ellipse (axes 1:1.35), square/rectangle (1:1.4), pentagon/hexagon,
  five-/six-pointed star. One shape per picture, 20-32 % of the picture's side, any angle and colour, somewhere in it.
- Then: one to three clutter strokes and blobs, a photo patch covering up to a third of the shape (half of the
  pictures), Gaussian noise (sigma 4-14) and JPEG at quality 35-75.
- 80 training and 40 validation pictures per class at 128 px (640 and 320), train/ and valid/ folders; a seed
  makes the same pictures every time.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 128
SUPERSAMPLE = 4  # shapes are drawn at 4x and shrunk: smooth edges, so a class is told by its shape, not its jaggies
CLASSES = ("circle", "ellipse", "square", "rectangle", "pentagon", "hexagon", "star5", "star6")


def _backgrounds() -> list[np.ndarray]:
    from skimage import data

    grey = [data.camera(), data.coins(), data.clock(), data.text(), data.gravel(), data.grass(), data.brick(),
            data.moon()]
    colour = [data.astronaut(), data.coffee(), data.cat(), data.rocket(), data.stereo_motorcycle()[0],
              data.colorwheel(), data.immunohistochemistry(), data.hubble_deep_field()]
    return [np.stack([g] * 3, axis=-1) for g in grey] + colour


def _outline(name: str, rng: np.random.Generator) -> list[tuple[float, float]]:
    """The shape's points on the unit circle's scale, before rotation."""
    polygon = {"pentagon": 5, "hexagon": 6}
    star = {"star5": 5, "star6": 6}
    aspect = {"circle": 1.0, "ellipse": 1.35, "square": 1.0, "rectangle": 1.4}
    if name in polygon:
        k = polygon[name]
        return [(math.cos(2 * math.pi * i / k), math.sin(2 * math.pi * i / k)) for i in range(k)]
    if name in star:
        k, inner = star[name], rng.uniform(0.42, 0.55)
        return [((1 if i % 2 == 0 else inner) * math.cos(math.pi * i / k),
                 (1 if i % 2 == 0 else inner) * math.sin(math.pi * i / k)) for i in range(2 * k)]
    a = aspect[name]
    if name in ("circle", "ellipse"):
        return [(math.cos(t) * a ** 0.5, math.sin(t) / a ** 0.5) for t in np.linspace(0, 2 * math.pi, 64, False)]
    w, h = 0.75 * a ** 0.5, 0.75 / a ** 0.5
    return [(-w, -h), (w, -h), (w, h), (-w, h)]


def _background(photos: list[np.ndarray], rng: np.random.Generator) -> Image.Image:
    photo = photos[rng.integers(len(photos))]
    side = int(rng.uniform(0.3, 0.9) * min(photo.shape[:2]))
    y, x = rng.integers(0, photo.shape[0] - side + 1), rng.integers(0, photo.shape[1] - side + 1)
    crop = Image.fromarray(np.ascontiguousarray(photo[y:y + side, x:x + side])).resize((SIZE, SIZE), Image.BILINEAR)
    return crop.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def _draw_shape(picture: Image.Image, name: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """Draw one `name` on `picture`; its centre and radius in pixels."""
    radius = rng.uniform(0.2, 0.32) * SIZE / 2
    cx, cy = rng.uniform(radius + 4, SIZE - radius - 4, 2)
    angle = rng.uniform(0, 2 * math.pi)
    cos, sin = math.cos(angle), math.sin(angle)
    points = [((cx + radius * (px * cos - py * sin)) * SUPERSAMPLE, (cy + radius * (px * sin + py * cos)) * SUPERSAMPLE)
              for px, py in _outline(name, rng)]
    mask = Image.new("L", (SIZE * SUPERSAMPLE,) * 2, 0)
    ImageDraw.Draw(mask).polygon(points, fill=255)
    mask = mask.resize((SIZE, SIZE), Image.LANCZOS)
    picture.paste(Image.new("RGB", (SIZE, SIZE), _colour(rng)), (0, 0), mask)
    return cx, cy, radius


def _clutter(picture: Image.Image, rng: np.random.Generator) -> None:
    draw = ImageDraw.Draw(picture)
    for _ in range(rng.integers(1, 4)):
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, SIZE, 4))
        if rng.random() < 0.5:
            draw.line((x0, y0, x1, y1), fill=_colour(rng), width=int(rng.integers(1, 4)))
        else:
            r = int(rng.integers(2, 7))
            draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=_colour(rng))


def _occlude(picture: Image.Image, photos: list[np.ndarray], centre: tuple[float, float, float],
             rng: np.random.Generator) -> None:
    """A patch of another photograph over up to a third of the shape."""
    cx, cy, radius = centre
    w, h = (int(v) for v in rng.uniform(0.5, 1.1, 2) * radius)
    side = rng.integers(4)
    x = int(cx + (radius * 0.45 if side == 0 else -radius * 0.45 - w if side == 1 else -w / 2))
    y = int(cy + (radius * 0.45 if side == 2 else -radius * 0.45 - h if side == 3 else -h / 2))
    patch = _background(photos, rng).resize((max(2, w), max(2, h)))
    picture.paste(patch, (x, y))


def _finish(picture: Image.Image, rng: np.random.Generator) -> bytes:
    pixels = np.asarray(picture, dtype=np.float32) + rng.normal(0, rng.uniform(4, 14), (SIZE, SIZE, 3))
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=int(rng.integers(35, 76)))
    return out.getvalue()


def hard_picture(name: str, photos: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """One JPEG of the class `name`."""
    picture = _background(photos, rng)
    centre = _draw_shape(picture, name, rng)
    _clutter(picture, rng)
    if rng.random() < 0.5:
        _occlude(picture, photos, centre, rng)
    return _finish(picture, rng)


def hard_dataset(root: Path, train_per_class: int = 80, valid_per_class: int = 40, seed: int = 0) -> Path:
    """root/train/<class>/ and root/valid/<class>/, the same pictures for the same seed."""
    photos, rng = _backgrounds(), np.random.default_rng(seed)
    for split, count in (("train", train_per_class), ("valid", valid_per_class)):
        for name in CLASSES:
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(count):
                (folder / f"{name}-{k:03d}.jpg").write_bytes(hard_picture(name, photos, rng))
    return root


if __name__ == "__main__":
    import sys

    print(hard_dataset(Path(sys.argv[1] if len(sys.argv) > 1 else "data/hard")))
