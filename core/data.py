"""Feed a dataset's images to torch: transforms, and a Dataset that skips unreadable files with their reason."""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision import transforms as T

from .augment import augmentation_steps, parse_augment
from .images import UnreadableImage, load_image


def eval_resize_crop(image_size: int) -> T.Compose:
    """The PIL half of `eval_transform`: resize the short side, then crop the centre square."""
    return T.Compose([T.Resize(round(image_size * 256 / 224)), T.CenterCrop(image_size)])


def eval_transform(image_size: int, mean, std) -> T.Compose:
    """Deterministic resize + centre crop used for validation and prediction."""
    return T.Compose([*eval_resize_crop(image_size).transforms, T.ToTensor(), T.Normalize(mean, std)])


def train_transform(image_size: int, mean, std, augment: str = "flip,crop") -> T.Compose:
    """Augmented transform for training on images; without "crop" the picture is resized as for validation."""
    names = parse_augment(augment)
    if "crop" in names:
        size = [T.RandomResizedCrop(image_size, scale=(0.6, 1.0))]
    else:
        size = [T.Resize(round(image_size * 256 / 224)), T.CenterCrop(image_size)]
    return T.Compose([*size, *augmentation_steps(names), T.ToTensor(), T.Normalize(mean, std)])


class ImageFiles(Dataset):
    """(path, label) pairs decoded on access; an unreadable file yields None and (path, reason) instead of raising."""

    def __init__(self, items: list[tuple[Path, int]], transform):
        self.items = items
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        path, label = self.items[i]
        try:
            return self.transform(load_image(path)), label, None
        except UnreadableImage as err:
            return None, label, (str(path), err.reason)


def collate_skipping_bad(batch):
    """Stack the decodable samples; return the bad files' (path, reason) pairs alongside."""
    good = [(x, y) for x, y, _ in batch if x is not None]
    bad = [info for x, _, info in batch if x is None]
    if not good:
        return None, None, bad
    xs, ys = zip(*good)
    return torch.stack(xs), torch.tensor(ys), bad
