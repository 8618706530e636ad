"""Real image sets that can be built offline, written as image folders for the benchmarks.

- digits: all 1,797 of scikit-learn's scans of handwritten digits (UCI, 8x8 greyscale), saved at 32x32, flat class
  folders (the app holds 20 % of each class out).
- textures: patches of scikit-image's photographs of brick, grass, gravel and the moon's surface; training
  patches come from the top 60 % of each photo and validation patches from the bottom 40 %, so no pixel is shared.
- micro: small greyscale patches of scikit-image's microscopy, retina, sky and surface photographs (8 classes,
  32 px, split the same way): far from ImageNet, low detail, and hard enough that the recipes differ.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def digits_dataset(root: Path, per_class: int = 60, seed: int = 0) -> Path:
    """`per_class` scans of each digit 0-9 in root/<digit>/; the train/valid split is the app's own."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    for label in range(10):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        picks = rng.permutation(np.flatnonzero(digits.target == label))[:per_class]
        for i in picks:
            pixels = (255 - digits.images[i] * (255 / 16)).astype(np.uint8)  # dark ink on white paper
            Image.fromarray(pixels).resize((32, 32), Image.BICUBIC).save(root / str(label) / f"{i:04d}.png")
    return root


def textures_dataset(root: Path, train_per_class: int = 60, valid_per_class: int = 20, patch: int = 96,
                     seed: int = 0) -> Path:
    """Patches of four real photographs in root/train/<class>/ and root/valid/<class>/."""
    from skimage import data

    photos = {"brick": data.brick(), "grass": data.grass(), "gravel": data.gravel(), "moon": data.moon()}
    return _photo_patches(root, photos, train_per_class, valid_per_class, patch, seed)


def _photo_patches(root: Path, photos: dict, train_per_class: int, valid_per_class: int, patch: int, seed: int,
                   grey: bool = False) -> Path:
    """Random patches per photo: train from the top 60 %, valid from the bottom 40 %, each turned by k x 90 deg."""
    rng = np.random.default_rng(seed)
    for name, photo in photos.items():
        if grey and photo.ndim == 3:
            photo = np.asarray(Image.fromarray(photo).convert("L"))
        height = photo.shape[0]
        cut = int(height * 0.6)
        for split, (top, bottom), count in (("train", (0, cut), train_per_class),
                                            ("valid", (cut, height), valid_per_class)):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(count):
                y = rng.integers(top, bottom - patch)
                x = rng.integers(0, photo.shape[1] - patch)
                crop = np.rot90(photo[y:y + patch, x:x + patch], k=int(rng.integers(4)))
                Image.fromarray(np.ascontiguousarray(crop)).save(folder / f"{name}-{k:03d}.png")
    return root


def micro_dataset(root: Path, train_per_class: int = 40, valid_per_class: int = 15, patch: int = 32,
                  seed: int = 0) -> Path:
    """Greyscale 32-px patches of eight real images (cells, stained tissue, retina, sky, moon, gravel, grass, brick)."""
    from skimage import data

    retina = data.retina()[300:1100, 300:1100]  # inside the eye: the black surround would give the class away
    photos = {"cells": data.cell(), "tissue": data.immunohistochemistry(), "retina": retina,
              "sky": data.hubble_deep_field(), "moon": data.moon(), "gravel": data.gravel(), "grass": data.grass(),
              "brick": data.brick()}
    return _photo_patches(root, photos, train_per_class, valid_per_class, patch, seed, grey=True)


def _hard(root: Path) -> Path:
    from hard_data import hard_dataset

    return hard_dataset(root)


SETS = {"hard": _hard, "digits": lambda root: digits_dataset(root, per_class=10_000), "textures": textures_dataset,
        "micro": micro_dataset}
