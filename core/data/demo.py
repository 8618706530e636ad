"""The bundled demo dataset: coloured shapes on noisy backgrounds, generated the same way every time."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SHAPES = ("circle", "square", "star", "triangle")
DEMO_SEED = 2026


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """Vertices of a regular shape of circumradius r, rotated by angle (radians)."""
    if shape == "square":
        pts = [(r, math.pi / 4 + k * math.pi / 2) for k in range(4)]
    elif shape == "triangle":
        pts = [(r, -math.pi / 2 + k * 2 * math.pi / 3) for k in range(3)]
    else:  # star: 5 points, inner radius 0.45 r
        pts = [(r if k % 2 == 0 else 0.45 * r, -math.pi / 2 + k * math.pi / 5) for k in range(10)]
    return [(cx + d * math.cos(a + angle), cy + d * math.sin(a + angle)) for d, a in pts]


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    """A two-colour gradient in a random direction, some faint clutter and pixel noise."""
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    theta = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:size, 0:size] / size
    t = np.clip((xx - 0.5) * math.cos(theta) + (yy - 0.5) * math.sin(theta) + 0.5, 0, 1)[..., None]
    img = Image.fromarray((c0 * (1 - t) + c1 * t).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.integers(2, 6)):
        x0, y0, x1, y1 = rng.integers(0, size, 4)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.line([(x0, y0), (x1, y1)], fill=colour, width=int(rng.integers(1, 3)))
    return img


def _contrasting_colour(rng: np.random.Generator, background: np.ndarray) -> tuple[int, int, int]:
    """A random colour far enough from the background's mean that the shape stays visible."""
    mean = background.reshape(-1, 3).mean(0)
    for _ in range(100):
        colour = rng.integers(0, 256, 3)
        if np.abs(colour - mean).sum() > 200:
            break
    return tuple(int(v) for v in colour)


def draw_shape(rng: np.random.Generator, shape: str, size: int = 160) -> Image.Image:
    """One sample: random colour, size, position and rotation, drawn at 4x and downsampled (anti-aliased)."""
    big = size * 4
    img = _background(rng, size).resize((big, big), Image.BILINEAR)
    r = rng.uniform(0.16, 0.32) * big
    cx, cy = rng.uniform(r, big - r, 2)
    colour = _contrasting_colour(rng, np.asarray(img))
    draw = ImageDraw.Draw(img)
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    else:
        draw.polygon(_polygon(shape, cx, cy, r, rng.uniform(0, 2 * math.pi)), fill=colour)
    img = img.resize((size, size), Image.LANCZOS).filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.8)))
    noisy = np.asarray(img, dtype=np.float32) + rng.normal(0, rng.uniform(4, 14), (size, size, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def make_shapes_dataset(
    root: str | Path, train_per_class: int = 40, valid_per_class: int = 15, size: int = 160, seed: int = DEMO_SEED
) -> Path:
    """Write root/{train,valid}/<shape>/NNN.jpg; the same seed always gives the same pixels."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, count in (("train", train_per_class), ("valid", valid_per_class)):
        for shape in SHAPES:
            folder = root / split / shape
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                draw_shape(rng, shape, size).save(folder / f"{shape}_{i:03d}.jpg", quality=92)
    return root


def ensure_demo_dataset(data_root: str | Path) -> Path:
    """The demo dataset under data_root/shapes, generated on first use."""
    root = Path(data_root) / "shapes"
    if not (root / "valid" / SHAPES[-1]).is_dir():
        make_shapes_dataset(root)
    return root
