"""Frozen backbone: run each image through it exactly once and keep the pooled features."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader

from .data import ImageFiles, collate_skipping_bad
from .events import FeaturesProgress


@dataclass
class FeatureSet:
    """Pooled backbone features of the images that decoded, their labels and positions in `items`."""

    features: torch.Tensor
    labels: torch.Tensor
    positions: torch.Tensor
    skipped: list[str]

    def subset(self, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Features and labels of the items whose position lies in [start, stop)."""
        keep = (self.positions >= start) & (self.positions < stop)
        return self.features[keep], self.labels[keep]


def extract_features(
    backbone: nn.Module, items, transform, device: torch.device, batch: int, num_workers: int = 0, stop=None
) -> Iterator[FeaturesProgress | FeatureSet]:
    """Yield progress while encoding `items`, then one FeatureSet; ends early, without it, once `stop` is set."""
    dataset = ImageFiles(items, transform, with_position=True)
    loader = DataLoader(dataset, batch_size=batch, num_workers=num_workers, collate_fn=collate_skipping_bad)
    total, done = len(items), 0
    feats, labels, positions, skipped = [], [], [], []
    start = time.perf_counter()
    backbone.eval()
    for x, y, bad in loader:
        if stop is not None and stop.is_set():
            return
        skipped += bad
        if x is not None:
            with torch.inference_mode():
                x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
                feats.append(backbone(x).float().cpu())
            labels.append(y[:, 0])
            positions.append(y[:, 1])
        done += len(bad) + (0 if x is None else len(x))
        rate = done / max(time.perf_counter() - start, 1e-9)
        yield FeaturesProgress(done=done, total=total, images_per_s=rate, eta_s=(total - done) / max(rate, 1e-9))
    dim = feats[0].shape[1] if feats else 0
    yield FeatureSet(
        features=torch.cat(feats) if feats else torch.empty(0, dim),
        labels=torch.cat(labels) if labels else torch.empty(0, dtype=torch.long),
        positions=torch.cat(positions) if positions else torch.empty(0, dtype=torch.long),
        skipped=skipped,
    )
