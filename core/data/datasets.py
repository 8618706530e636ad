"""Torch datasets over image files that skip an unreadable file with its reason instead of raising."""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from core.data.images import UnreadableImage, load_image


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
