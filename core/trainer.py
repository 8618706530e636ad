"""`train(config)`: a generator of typed events that trains, validates and checkpoints one run.

Every freezing mode is a list of stages over one epoch loop: frozen = the head on features computed once;
finetune = every layer on images; two_stage = the first, then (after one switch) the second at 1/100 of the LR.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, WeightedRandomSampler

from .backbones import get_backbone
from .checkpoint import load_checkpoint, write_json_atomic
from .config import TrainConfig
from .data import ImageFiles, collate_skipping_bad, eval_transform, train_transform
from .events import EpochDone, Event, FeaturesProgress, Message, RunStarted, StageStarted
from .features import FeatureSet, dataset_features
from .layout import scan_dataset
from .model import build_classifier
from .optim import make_optimizer, make_scheduler
from .recipes import BACKBONE_LR_FACTOR, STAGE2_LR_FACTOR, plan, train_counts
from .run_state import Batches, RunState
from .runs import CHECKPOINT_NAME, append_jsonl, new_run_dir


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass
class Stage:
    """Which module trains on which batches, for how many epochs, with which parameter groups (peak LRs)."""

    number: int
    name: str
    epochs: int
    module: nn.Module
    groups: list[dict]
    train_batches: Batches
    valid_batches: Batches
    steps_per_epoch: int


def train(config: TrainConfig, stop: threading.Event | None = None) -> Iterator[Event]:
    """Train one run, yielding events; set `stop` (or close the generator) to end it between steps."""
    config.validate()
    index = scan_dataset(config.data, config.valid_fraction, config.seed)
    device = resolve_device(config.device)
    recipe = plan(config, train_counts(index), device.type)
    config = recipe.config
    torch.manual_seed(config.seed)
    model = build_classifier(config.backbone, len(index.classes), config.freeze != "finetune", config.image_size,
                             head=config.head, hidden=config.hidden, dropout=config.dropout)
    model.to(device, memory_format=torch.channels_last)
    path = new_run_dir(config.out, config.backbone)
    write_json_atomic(path / "config.json", config.to_dict())
    write_json_atomic(path / "split.json", index.to_split_record())
    run = RunState(config, index, model, device, path, stop or threading.Event())
    run.skipped = {str(p): reason for p, reason in index.unused.items()}
    run.write_skipped()
    n_train, n_valid = len(index.splits["train"]), len(index.splits["valid"])
    steps_per_epoch = _steps(n_train, config.batch)
    run.total_steps = config.epochs * steps_per_epoch
    try:
        yield run.emit(RunStarted(
            run_id=path.name, run_dir=str(path), classes=index.classes, train_size=n_train, valid_size=n_valid,
            epochs=config.epochs, steps_per_epoch=steps_per_epoch, device=str(device), mode=config.freeze,
            config=config.to_dict(),
        ))
        yield run.emit(Message(recipe.reason))
        if index.layout != "split":
            yield run.emit(Message(
                f"No valid/ folder: {n_valid} images ({config.valid_fraction:.0%} of each class, "
                f"seed {config.seed}) are held out for validation; the split is saved in split.json."
            ))
        if run.skipped:
            yield run.emit(Message(f"{len(run.skipped)} file(s) are not used: not images, or outside the class folders "
                                   "(see skipped.json).", level="warning"))
        for item in _stages(run):
            if not isinstance(item, Stage):
                yield item
            elif not run.stop.is_set():
                yield from _fit(run, item)
        yield run.emit(run.finished(stopped=run.stop.is_set()))
    except GeneratorExit:
        append_jsonl(path / "metrics.jsonl", {"event": "RunClosed", "epochs_run": run.epochs_run})
        if run.best_epoch is not None:
            run.write_summary("stopped")
        raise
    except Exception as err:
        append_jsonl(path / "metrics.jsonl", {"event": "RunFailed", "error": f"{type(err).__name__}: {err}"})
        if run.best_epoch is not None:
            run.write_summary("failed")
        raise


def _steps(n: int, batch: int) -> int:
    """Steps per epoch; a last batch of one image is dropped (BatchNorm heads cannot train on one sample)."""
    return max(1, n // batch + (1 if n % batch > 1 else 0))


def _stages(run: RunState) -> Iterator[Stage]:
    """The run's stages, built lazily: a stage's data is prepared only when the previous one has finished."""
    cfg, model = run.config, run.model
    if cfg.freeze == "finetune":
        backbone_lr = cfg.lr * (BACKBONE_LR_FACTOR if get_backbone(cfg.backbone).pretrained else 1.0)
        groups = [{"params": list(model.head.parameters()), "lr": cfg.lr},
                  {"params": list(model.backbone.parameters()), "lr": backbone_lr}]
        yield Stage(1, "every layer", cfg.epochs, model, groups, *_image_batches(run))
        return
    features = yield from _features(run)
    if features is None:
        return
    head_epochs = cfg.epochs if cfg.freeze == "frozen" else cfg.stage1_epochs
    yield Stage(1, "head only", head_epochs, model.head, [{"params": list(model.head.parameters()), "lr": cfg.lr}],
                *_feature_batches(run, features))
    if cfg.freeze != "two_stage" or run.stop.is_set():
        return
    if run.best_epoch is not None:  # stage 2 starts from the best head, not the last one
        model.load_state_dict(load_checkpoint(run.path / CHECKPOINT_NAME)["state_dict"])
    model.set_frozen(False)
    lr = cfg.lr * STAGE2_LR_FACTOR
    groups = [{"params": list(model.head.parameters()), "lr": lr},
              {"params": list(model.backbone.parameters()), "lr": lr}]
    run.stage = 2
    yield run.emit(StageStarted(
        stage=2, name="every layer", epoch=run.epochs_run + 1, step=run.step, lr=lr,
        text=f"Stage 2 from epoch {run.epochs_run + 1}: every layer trains now, at learning rate {lr:.1e} "
             f"(1/100 of the head's).",
    ))
    yield Stage(2, "every layer", cfg.epochs - head_epochs, model, groups, *_image_batches(run))


def _class_weights(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """Inverse class frequency, scaled so that the average image weighs 1."""
    counts = torch.bincount(labels, minlength=classes).float().clamp(min=1)
    return len(labels) / (classes * counts)


def _image_batches(run: RunState) -> tuple[Batches, Batches, int]:
    """Images decoded and augmented every epoch; balanced sampling when asked."""
    cfg, spec = run.config, get_backbone(run.config.backbone)
    generator = torch.Generator().manual_seed(cfg.seed)
    train_items = run.index.splits["train"]
    sampler = None
    if cfg.balance == "sampler":
        labels = torch.tensor([label for _, label in train_items])
        weights = _class_weights(labels, len(run.index.classes))[labels]
        sampler = WeightedRandomSampler(weights, len(train_items), replacement=True, generator=generator)

    def loader(items, transform, training: bool) -> Batches:
        dataset = ImageFiles(items, transform)
        return lambda: DataLoader(
            dataset, batch_size=cfg.batch, shuffle=training and sampler is None, sampler=sampler if training else None,
            generator=generator, num_workers=cfg.num_workers, collate_fn=collate_skipping_bad,
            pin_memory=run.device.type == "cuda", drop_last=training and len(items) % cfg.batch == 1,
        )

    return (
        loader(train_items, train_transform(cfg.image_size, spec.mean, spec.std, cfg.augment), True),
        loader(run.index.splits["valid"], eval_transform(cfg.image_size, spec.mean, spec.std), False),
        _steps(len(train_items), cfg.batch),
    )


def _features(run: RunState) -> Iterator[Event]:
    """Every image (and view) through the frozen backbone once, or from the cache; the FeatureSet, None when stopped."""
    cfg, split = run.config, run.index.splits
    features = None
    for item in dataset_features(get_backbone(cfg.backbone), run.model.backbone, cfg, split["train"], split["valid"],
                                 run.device, cfg.views or 1, run.stop):
        if isinstance(item, FeatureSet):
            features = item
        else:
            yield run.emit(item, keep=not isinstance(item, FeaturesProgress))
    if features is not None:
        yield from run.note_skipped(features.skipped)
    return features


def _feature_batches(run: RunState, features: FeatureSet) -> tuple[Batches, Batches, int]:
    """Batches of stored features, each image in one of its cached views per epoch: no backbone pass at all."""
    cfg, n = run.config, len(run.index.splits["train"])
    views = cfg.views or 1
    train_x, train_y = features.views(n, views)
    valid_x, valid_y = features.subset(views * n, views * n + len(run.index.splits["valid"]))
    generator = torch.Generator().manual_seed(cfg.seed)
    weights = _class_weights(train_y, len(run.index.classes))[train_y] if cfg.balance == "sampler" else None
    m = train_x.shape[1]

    def train_batches():
        if weights is None:
            order = torch.randperm(m, generator=generator)
        else:
            order = torch.multinomial(weights, m, replacement=True, generator=generator)
        view = torch.randint(views, (m,), generator=generator) if views > 1 else torch.zeros(m, dtype=torch.long)
        chunks = list(order.split(cfg.batch))
        if len(chunks) > 1 and len(chunks[-1]) == 1:
            chunks.pop()
        return ((train_x[view[i], i].to(run.device), train_y[i], []) for i in chunks)

    def valid_batches():
        return ((x.to(run.device), y, []) for x, y in zip(valid_x.split(256), valid_y.split(256)))

    return train_batches, valid_batches, _steps(m, cfg.batch)


def _fit(run: RunState, stage: Stage) -> Iterator[Event]:
    """The epoch loop shared by every stage: `stage.module` maps a batch to logits."""
    cfg = run.config
    optimizer = make_optimizer(cfg.optimizer, stage.groups, cfg.weight_decay)
    stage_steps = max(1, stage.epochs * stage.steps_per_epoch)
    scheduler = make_scheduler(cfg.scheduler, optimizer, stage_steps)
    labels = torch.tensor([label for _, label in run.index.splits["train"]])
    weight = _class_weights(labels, len(run.index.classes)).to(run.device) if cfg.balance == "weights" else None
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing)
    first_epoch, taken, since_best = run.epochs_run + 1, 0, 0
    for epoch in range(first_epoch, first_epoch + stage.epochs):
        stage.module.train()
        seen = correct = 0
        loss_sum = 0.0
        for x, y, bad in stage.train_batches():
            yield from run.note_skipped(bad)
            if run.stop.is_set():
                break
            if x is None:
                continue
            x, y = x.to(run.device, non_blocking=True), y.to(run.device, non_blocking=True)
            if x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            with run.timed_step():
                logits = stage.module(x)
                loss = loss_fn(logits, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            lr = optimizer.param_groups[0]["lr"]
            taken += 1
            if taken < stage_steps:
                scheduler.step()
            hits = (logits.argmax(1) == y).sum().item()
            seen, correct, loss_sum = seen + len(y), correct + hits, loss_sum + loss.item() * len(y)
            yield run.emit(run.step_done(epoch, len(y), loss.item(), hits / len(y), lr))
        if run.stop.is_set() and run.best_epoch is not None:
            return
        if seen == 0:
            if run.stop.is_set():
                return
            raise RuntimeError("no training image could be read; see the skipped files in the log")
        valid_loss, valid_acc, bad = _evaluate(run, stage.module, stage.valid_batches)
        yield from run.note_skipped(bad)
        run.epochs_run = epoch
        is_best = valid_acc > run.best_acc or (valid_acc == run.best_acc and valid_loss < run.best_loss)
        since_best = 0 if is_best else since_best + 1
        if is_best:
            run.save(epoch, valid_loss, valid_acc)
        yield run.emit(EpochDone(
            epoch=epoch, step=run.step, train_loss=loss_sum / seen, train_acc=correct / seen,
            valid_loss=valid_loss, valid_acc=valid_acc, is_best=is_best, elapsed_s=run.elapsed(),
        ))
        if run.stop.is_set():
            return
        left = first_epoch + stage.epochs - 1 - epoch
        if cfg.patience and since_best >= cfg.patience and left:
            run.total_steps -= left * stage.steps_per_epoch
            ending = "moving on to the next stage" if stage.number == 1 and cfg.freeze == "two_stage" else (
                "stopping early; the best model is kept")
            yield run.emit(Message(f"No better validation result for {since_best} epochs: {ending} "
                                   f"({left} epoch(s) of this stage skipped)."))
            return


def _evaluate(run: RunState, module: nn.Module, valid_batches: Batches) -> tuple[float, float, list[str]]:
    """Mean plain cross-entropy and accuracy on the validation split (eval mode, no autograd), and skipped files."""
    module.eval()
    seen = correct = 0
    loss_sum = 0.0
    skipped: list[str] = []
    with torch.inference_mode():
        for x, y, bad in valid_batches():
            skipped += bad
            if x is None:
                continue
            x, y = x.to(run.device), y.to(run.device)
            if x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            logits = module(x)
            loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    module.train()
    loss, acc = (loss_sum / seen, correct / seen) if seen else (math.inf, 0.0)
    return loss, acc, skipped
