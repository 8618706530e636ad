"""Batches for a stage: decoded images each epoch (fine-tuning), or cached features (a frozen backbone)."""
from __future__ import annotations

import itertools
from typing import Callable

import torch
from torch.utils.data import DataLoader, DistributedSampler, WeightedRandomSampler

from core.data.datasets import ImageFiles, collate_skipping_bad
from core.data.transforms import eval_transform, train_transform
from core.models.backbones import get_backbone
from core.training.features import FeatureSet
from core.training.state import Batches, RunState


def steps_per_epoch(n: int, batch: int) -> int:
    """Steps per epoch; a last batch of one image is dropped (BatchNorm heads cannot train on one sample)."""
    return max(1, n // batch + (1 if n % batch > 1 else 0))


def class_weights(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """Inverse class frequency, scaled so that the average image weighs 1."""
    counts = torch.bincount(labels, minlength=classes).float().clamp(min=1)
    return len(labels) / (classes * counts)


def image_batches(run: RunState) -> tuple[Batches, Batches, Callable[[], int]]:
    """Images decoded and augmented every epoch (balanced sampling when asked), and this process's image count.

    A file found unreadable is not read again: each epoch draws from the training images not skipped so far, so
    steps per epoch count only images that train. Under torchrun the list is fixed when the stage starts (every
    process knows the same skipped files then), so that all processes take the same number of steps.
    """
    cfg, spec, cluster = run.config, get_backbone(run.config.backbone), run.cluster
    generator = run.random.generator  # the run's shuffles: saved in last.pt
    at_start = run.usable_train_items()
    transform = train_transform(cfg.image_size, spec.mean, spec.std, cfg.augment)
    epochs = itertools.count()

    def items() -> list:
        return at_start if cluster.active else run.usable_train_items()

    def images() -> int:
        return len(items()) // cluster.world

    def train_loader():
        train_items = items()
        train_set, sampler = ImageFiles(train_items, transform), None
        if cfg.balance == "sampler":
            labels = torch.tensor([label for _, label in train_items])
            weights = class_weights(labels, len(run.index.classes))[labels]
            sampler = WeightedRandomSampler(weights, len(train_items), replacement=True, generator=generator)
        if cluster.active:  # each process gets an equal, disjoint share of every epoch
            sampler = DistributedSampler(train_set, cluster.world, cluster.rank, shuffle=True, seed=cfg.seed,
                                         drop_last=True)
            sampler.set_epoch(next(epochs))
        return DataLoader(
            train_set, batch_size=cfg.batch, shuffle=sampler is None, sampler=sampler, generator=generator,
            num_workers=cfg.num_workers, collate_fn=collate_skipping_bad, pin_memory=run.device.type == "cuda",
            drop_last=images() % cfg.batch == 1,
        )

    valid_set = ImageFiles(run.index.splits["valid"], eval_transform(cfg.image_size, spec.mean, spec.std))

    def valid_loader():
        return DataLoader(valid_set, batch_size=cfg.batch, generator=generator, num_workers=cfg.num_workers,
                          collate_fn=collate_skipping_bad, pin_memory=run.device.type == "cuda")

    return train_loader, valid_loader, images


def feature_batches(run: RunState, features: FeatureSet,
                    activations: bool = False) -> tuple[Batches, Batches, Callable[[], int]]:
    """Batches of stored features (or, for the top layers, the activations where they begin), each image in one of
    its cached views per epoch (no pass below them at all), and this process's image count."""
    cfg, n = run.config, len(run.index.splits["train"])
    views = cfg.views or 1
    source = features.rows(activations)
    train_rows, train_y = features.view_rows(n, views)
    valid_x, valid_y = features.subset(views * n, views * n + len(run.index.splits["valid"]), activations)
    generator = run.random.generator  # the run's shuffles: saved in last.pt
    weights = class_weights(train_y, len(run.index.classes))[train_y] if cfg.balance == "sampler" else None
    m, cluster = train_rows.shape[1], run.cluster

    def train_batches():
        if weights is None:
            order = torch.randperm(m, generator=generator)
        else:
            order = torch.multinomial(weights, m, replacement=True, generator=generator)
        view = torch.randint(views, (m,), generator=generator) if views > 1 else torch.zeros(m, dtype=torch.long)
        if cluster.active:  # every process drew the same order: each takes an equal, disjoint share of it
            order = order[: m // cluster.world * cluster.world][cluster.rank::cluster.world]
        chunks = list(order.split(cfg.batch))
        if len(chunks) > 1 and len(chunks[-1]) == 1:
            chunks.pop()
        return ((source[train_rows[view[i], i]].to(run.device).float(), train_y[i], []) for i in chunks)

    def valid_batches():
        size = cfg.batch * 2 if activations else 256
        return ((x.to(run.device).float(), y, []) for x, y in zip(valid_x.split(size), valid_y.split(size)))

    return train_batches, valid_batches, lambda: m // cluster.world
