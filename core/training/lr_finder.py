"""Learning-rate finder (fastai's idea): raise the LR exponentially over a short sweep and watch the loss."""
from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass
from typing import Generator, Iterator, NamedTuple

import torch
from torch import nn
from torch.utils.data import DataLoader

from core.config import TrainConfig, freeze_mode
from core.data.datasets import ImageFiles, collate_skipping_bad
from core.data.scan import scan_dataset
from core.data.transforms import train_transform
from core.events import Event, FeaturesProgress, StepDone
from core.models.backbones import get_backbone
from core.models.classifier import build_classifier
from core.series import DebiasedEMA
from core.system import resolve_device
from core.training.features import FeatureSet, dataset_features
from core.training.optim import make_optimizer
from core.training.recipes import plan, train_counts
from core.training.rng import RunRandom

MAX_IMAGES = 512


@dataclass(frozen=True)
class LRFinding:
    """The sweep (learning rates and smoothed losses), the suggested learning rate and what was swept."""

    lrs: list[float]
    losses: list[float]
    suggestion: float
    trains: str
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def suggest(lrs: list[float], losses: list[float]) -> float:
    """Steepest fall of the loss (against log LR) in the two decades before its minimum."""
    best = min(range(len(losses)), key=losses.__getitem__)
    lo = next(i for i, lr in enumerate(lrs) if lr >= lrs[best] / 100)
    if best - lo < 2:
        return max(lrs[0], lrs[best] / 10)
    slopes = [(losses[i + 1] - losses[i - 1]) / math.log(lrs[i + 1] / lrs[i - 1]) for i in range(lo + 1, best)]
    return lrs[lo + 1 + min(range(len(slopes)), key=slopes.__getitem__)]


class _Sweep(NamedTuple):
    """What the sweep trains (the head, or the whole model), its parameter groups (each with its share of the learning
    rate) and its endless batches."""

    module: nn.Module
    groups: list[dict]
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]]


def find_lr(config: TrainConfig, stop: threading.Event | None = None, steps: int = 100, start_lr: float = 1e-6,
            end_lr: float = 1.0) -> Iterator[Event | LRFinding]:
    """Yield progress, then one LRFinding; sweeps the head on frozen features unless every layer trains from the start."""
    if steps < 3:
        raise ValueError("the learning-rate sweep tries at least 3 learning rates")
    config.validate()
    index = scan_dataset(config.data, config.valid_fraction, config.seed)
    device = resolve_device(config.device)
    cfg = plan(config, train_counts(index), device.type, len(index.splits["valid"])).config
    rng = RunRandom(cfg.seed, device)
    items = list(index.splits["train"])
    random.Random(cfg.seed).shuffle(items)
    items = items[:MAX_IMAGES]
    heads_only = freeze_mode(cfg.freeze).starts_frozen
    with rng.active():
        model = build_classifier(cfg.backbone, len(index.classes), heads_only, cfg.image_size, head=cfg.head,
                                 hidden=cfg.hidden, dropout=cfg.dropout).to(device, memory_format=torch.channels_last)
    started = time.perf_counter()
    if heads_only:
        sweep = yield from _head_sweep(model, cfg, items, device, rng, stop)
        if sweep is None:  # stopped while the backbone read the images
            return
    else:
        sweep = _model_sweep(model, cfg, items, rng)
    rates = [start_lr * (end_lr / start_lr) ** (i / max(1, steps - 1)) for i in range(steps)]
    swept = yield from _losses(sweep, cfg, rates, device, rng, stop, report=not heads_only)
    if swept is None:  # stopped
        return
    lrs, losses = swept
    if len(lrs) < 3:
        raise RuntimeError("the learning-rate sweep diverged at once; try a smaller batch or another optimizer")
    yield LRFinding(lrs, losses, suggest(lrs, losses), "head only" if heads_only else "every layer",
                    time.perf_counter() - started)


def _head_sweep(model, cfg: TrainConfig, items: list, device: torch.device, rng: RunRandom,
                stop) -> Generator[Event, None, _Sweep | None]:
    """The head on the frozen backbone's features of `items` (computed once, with progress); None when stopped."""
    features = None
    for item in dataset_features(get_backbone(cfg.backbone), model.backbone, cfg, items, [], device, 1, stop):
        if isinstance(item, FeaturesProgress):
            yield item
        elif isinstance(item, FeatureSet):
            features = item
    if features is None:
        return None
    return _Sweep(model.head, [{"params": list(model.head.parameters()), "ratio": 1.0}],
                  _feature_batches(features, cfg.batch, rng.generator))


def _model_sweep(model, cfg: TrainConfig, items: list, rng: RunRandom) -> _Sweep:
    """Every layer on augmented images, the pretrained backbone at its share of the learning rate."""
    spec = get_backbone(cfg.backbone)
    ratio = freeze_mode(cfg.freeze).backbone_lr_factor if spec.pretrained else 1.0
    groups = [{"params": list(model.head.parameters()), "ratio": 1.0},
              {"params": list(model.backbone.parameters()), "ratio": ratio}]
    loader = DataLoader(ImageFiles(items, train_transform(cfg.image_size, spec.mean, spec.std, cfg.augment)),
                        batch_size=cfg.batch, shuffle=True, collate_fn=collate_skipping_bad, generator=rng.generator,
                        num_workers=cfg.num_workers, drop_last=len(items) > cfg.batch)
    return _Sweep(model, groups, ((x, y) for x, y, _ in _forever(loader) if x is not None))


def _losses(sweep: _Sweep, cfg: TrainConfig, rates: list[float], device: torch.device, rng: RunRandom, stop,
            report: bool) -> Generator[StepDone, None, tuple[list[float], list[float]] | None]:
    """One step at each rate, until the smoothed loss diverges: the rates and smoothed losses (steps reported when
    `report`); None when stopped."""
    for group in sweep.groups:
        group["lr"] = rates[0] * group["ratio"]
    optimizer = make_optimizer(cfg.optimizer, sweep.groups, cfg.weight_decay)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    sweep.module.train()
    lrs, losses, ema, best = [], [], DebiasedEMA(0.9), math.inf
    batches = iter(sweep.batches)
    for i, lr in enumerate(rates):
        with rng.active():  # augmentation and dropout: this sweep's own random stream
            x, y = next(batches)
        if stop is not None and stop.is_set():
            return None
        for group in optimizer.param_groups:
            group["lr"] = lr * group["ratio"]
        x, y = x.to(device), y.to(device)
        t0 = time.perf_counter()
        with rng.active():
            loss = loss_fn(sweep.module(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        smoothed = ema.update(loss.item())
        if not math.isfinite(smoothed) or (i > 10 and smoothed > 4 * best):
            break
        best = min(best, smoothed)
        lrs.append(lr)
        losses.append(smoothed)
        if report:
            took = time.perf_counter() - t0
            yield StepDone(epoch=1, step=i + 1, total_steps=len(rates), loss=loss.item(), acc=0.0, lr=lr,
                           images_per_s=len(y) / max(took, 1e-9), eta_s=took * (len(rates) - i - 1))
    return lrs, losses


def _feature_batches(features: FeatureSet, batch: int, generator: torch.Generator):
    """Shuffled feature batches, endlessly."""
    x, y = features.features, features.labels
    while True:
        order = torch.randperm(len(x), generator=generator)
        for i in order.split(batch):
            if len(i) > 1:
                yield x[i], y[i]


def _forever(loader: DataLoader):
    while True:
        yield from loader
