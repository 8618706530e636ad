"""Image transforms: the deterministic one of validation and prediction, and the training augmentations by name.

The augmentation registry is plain data (the GUI lists it at start-up); torchvision is imported when a
transform is built.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from torchvision.transforms import Compose

AUGMENTATIONS: dict[str, str] = {
    "flip": "mirror left-right",
    "rotate": "rotate up to 10 degrees",
    "crop": "random crop of 60-100 % of the picture",
    "color": "jitter brightness, contrast and saturation",
    "trivial": "one random strong change per picture (TrivialAugment)",
}
RESIZE_RATIO = 256 / 224  # resize the short side to this times the crop, then crop the centre (ImageNet's recipe)


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


def eval_resize_crop(image_size: int) -> "Compose":
    """The PIL half of `eval_transform`: resize the short side, then crop the centre square."""
    from torchvision import transforms as T

    return T.Compose([T.Resize(round(image_size * RESIZE_RATIO)), T.CenterCrop(image_size)])


def eval_transform(image_size: int, mean, std) -> "Compose":
    """Deterministic resize + centre crop used for validation and prediction."""
    from torchvision import transforms as T

    return T.Compose([*eval_resize_crop(image_size).transforms, T.ToTensor(), T.Normalize(mean, std)])


def train_transform(image_size: int, mean, std, augment: str = "flip,crop") -> "Compose":
    """Augmented transform for training on images; without "crop" the picture is resized as for validation."""
    from torchvision import transforms as T

    names = parse_augment(augment)
    size = [T.RandomResizedCrop(image_size, scale=(0.6, 1.0))] if "crop" in names else eval_resize_crop(
        image_size).transforms
    return T.Compose([*size, *augmentation_steps(names), T.ToTensor(), T.Normalize(mean, std)])
