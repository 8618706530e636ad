"""Registry of training augmentations (torchvision transforms on PIL images), switched on by name."""
from __future__ import annotations

from typing import Callable

AUGMENTATIONS: dict[str, str] = {
    "flip": "mirror left-right",
    "rotate": "rotate up to 10 degrees",
    "crop": "random crop of 60-100 % of the picture",
    "color": "jitter brightness, contrast and saturation",
    "trivial": "one random strong change per picture (TrivialAugment)",
}


def parse_augment(text: str) -> list[str]:
    """'flip,crop' -> ['flip', 'crop']; 'none' or '' -> []; an unknown name is an error naming the known ones."""
    names = [n.strip() for n in (text or "").replace("+", ",").split(",") if n.strip() and n.strip() != "none"]
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; choose from {', '.join(AUGMENTATIONS)} (or none)")
    return names


def _builders() -> dict[str, Callable]:
    from torchvision import transforms as T

    return {
        "flip": T.RandomHorizontalFlip,
        "rotate": lambda: T.RandomRotation(10, fill=128),
        "color": lambda: T.ColorJitter(0.2, 0.2, 0.2, 0.02),
        "trivial": T.TrivialAugmentWide,
    }


def augmentation_steps(names: list[str]) -> list:
    """The PIL-level transforms for the named augmentations (cropping is handled with resizing)."""
    builders = _builders()
    return [builders[n]() for n in names if n != "crop"]
