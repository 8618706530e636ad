"""`train(config)`: a generator of typed events that trains, validates and checkpoints one run."""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader

from .backbones import get_backbone
from .checkpoint import save_checkpoint, write_json_atomic
from .config import TrainConfig
from .data import ImageFiles, collate_skipping_bad, eval_transform, train_transform
from .events import EpochDone, Event, Message, RunFinished, RunStarted, StepDone
from .features import FeatureSet, extract_features
from .layout import DatasetIndex, scan_dataset
from .model import Classifier, build_classifier
from .runs import CHECKPOINT_NAME, append_jsonl, new_run_dir

Batches = Callable[[], Iterable[tuple]]


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass
class _Run:
    """Mutable bookkeeping of one run; lives only inside the generator."""

    config: TrainConfig
    index: DatasetIndex
    model: Classifier
    device: torch.device
    path: Path
    stop: threading.Event
    started: float = field(default_factory=time.perf_counter)
    best_acc: float = -1.0
    best_loss: float = math.inf
    best_epoch: int | None = None
    epochs_run: int = 0
    step: int = 0
    skipped: dict[str, str] = field(default_factory=dict)

    def emit(self, event: Event, keep: bool = True) -> Event:
        if keep:
            append_jsonl(self.path / "metrics.jsonl", event.to_dict())
        return event

    def note_skipped(self, bad: list[tuple[str, str]]) -> Iterator[Event]:
        """Log each newly skipped file once and keep the run's skipped.json current."""
        new = [(path, reason) for path, reason in bad if path not in self.skipped]
        for path, reason in new:
            self.skipped[path] = reason
            yield self.emit(Message(f"Skipped {path}: {reason}", level="warning"))
        if new:
            self.write_skipped()

    def write_skipped(self) -> None:
        write_json_atomic(self.path / "skipped.json", [{"path": p, "reason": r} for p, r in self.skipped.items()])

    def save(self, epoch: int, valid_loss: float, valid_acc: float, status: str = "running") -> None:
        spec = get_backbone(self.config.backbone)
        meta = {
            "classes": self.index.classes,
            "backbone": self.config.backbone,
            "frozen": self.config.freeze == "frozen",
            "preprocess": {"image_size": self.config.image_size, "mean": list(spec.mean), "std": list(spec.std)},
            "epoch": epoch,
            "valid_acc": valid_acc,
            "valid_loss": valid_loss,
        }
        save_checkpoint(self.path / CHECKPOINT_NAME, self.model, meta)
        self.best_acc, self.best_loss, self.best_epoch = valid_acc, valid_loss, epoch
        self.write_summary(status)

    def write_summary(self, status: str) -> None:
        write_json_atomic(self.path / "summary.json", {
            "status": status,
            "backbone": self.config.backbone,
            "classes": self.index.classes,
            "best_epoch": self.best_epoch,
            "best_valid_acc": None if self.best_epoch is None else self.best_acc,
            "epochs_run": self.epochs_run,
        })

    def finished(self, stopped: bool) -> RunFinished:
        has_ckpt = self.best_epoch is not None
        if has_ckpt:
            self.write_summary("stopped" if stopped else "finished")
        return RunFinished(
            run_id=self.path.name, run_dir=str(self.path), stopped=stopped, epochs_run=self.epochs_run,
            best_epoch=self.best_epoch, best_valid_acc=self.best_acc if has_ckpt else None,
            checkpoint=str(self.path / CHECKPOINT_NAME) if has_ckpt else None,
            wall_s=time.perf_counter() - self.started, skipped=len(self.skipped),
        )


def train(config: TrainConfig, stop: threading.Event | None = None) -> Iterator[Event]:
    """Train one run, yielding events; set `stop` (or close the generator) to end it between steps."""
    config.validate()
    index = scan_dataset(config.data, config.valid_fraction, config.seed)
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    frozen = config.freeze == "frozen"
    model = build_classifier(config.backbone, len(index.classes), frozen, config.image_size)
    model.to(device, memory_format=torch.channels_last)
    path = new_run_dir(config.out, config.backbone)
    write_json_atomic(path / "config.json", config.to_dict())
    write_json_atomic(path / "split.json", index.to_split_record())
    run = _Run(config, index, model, device, path, stop or threading.Event())
    run.skipped = {str(p): reason for p, reason in index.unused.items()}
    run.write_skipped()
    n_train, n_valid = len(index.splits["train"]), len(index.splits["valid"])
    steps_per_epoch = math.ceil(n_train / config.batch)
    try:
        yield run.emit(RunStarted(
            run_id=path.name, run_dir=str(path), classes=index.classes, train_size=n_train, valid_size=n_valid,
            epochs=config.epochs, steps_per_epoch=steps_per_epoch, device=str(device), mode=config.freeze,
            config=config.to_dict(),
        ))
        if index.layout != "split":
            yield run.emit(Message(
                f"No valid/ folder: {len(index.splits['valid'])} images ({config.valid_fraction:.0%} of each class, "
                f"seed {config.seed}) are held out for validation; the split is saved in split.json."
            ))
        if run.skipped:
            yield run.emit(Message(f"{len(run.skipped)} file(s) are not used: not images, or outside the class folders "
                                   "(see skipped.json).", level="warning"))
        if frozen:
            yield from _train_frozen(run)
        else:
            yield from _fit(run, model, *_image_batches(run), steps_per_epoch)
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


def _image_batches(run: _Run) -> tuple[Batches, Batches]:
    """Fine-tuning: decode and augment images every epoch."""
    cfg, spec = run.config, get_backbone(run.config.backbone)
    generator = torch.Generator().manual_seed(cfg.seed)

    def loader(split: str, transform, shuffle: bool) -> Batches:
        dataset = ImageFiles(run.index.splits[split], transform)
        return lambda: DataLoader(
            dataset, batch_size=cfg.batch, shuffle=shuffle, generator=generator, num_workers=cfg.num_workers,
            collate_fn=collate_skipping_bad, pin_memory=run.device.type == "cuda",
        )

    return (
        loader("train", train_transform(cfg.image_size, spec.mean, spec.std), True),
        loader("valid", eval_transform(cfg.image_size, spec.mean, spec.std), False),
    )


def _train_frozen(run: _Run) -> Iterator[Event]:
    """Frozen backbone: every image through it once, then train the head on the stored features."""
    cfg, spec = run.config, get_backbone(run.config.backbone)
    train_items, valid_items = run.index.splits["train"], run.index.splits["valid"]
    yield run.emit(Message(f"Reading {len(train_items) + len(valid_items)} images through the frozen backbone (once)"))
    features = None
    batch = 16 if run.device.type == "cpu" else 128
    for item in extract_features(
        run.model.backbone, train_items + valid_items, eval_transform(cfg.image_size, spec.mean, spec.std),
        run.device, batch, cfg.num_workers, run.stop,
    ):
        if isinstance(item, FeatureSet):
            features = item
        else:
            yield run.emit(item, keep=False)
    if features is None:
        return
    yield from run.note_skipped(features.skipped)
    n = len(train_items)
    train_x, train_y = features.subset(0, n)
    valid_x, valid_y = features.subset(n, n + len(valid_items))
    generator = torch.Generator().manual_seed(cfg.seed)

    def train_batches():
        order = torch.randperm(len(train_x), generator=generator)
        return ((train_x[i].to(run.device), train_y[i], []) for i in order.split(cfg.batch))

    def valid_batches():
        return ((x.to(run.device), y, []) for x, y in zip(valid_x.split(256), valid_y.split(256)))

    yield from _fit(run, run.model.head, train_batches, valid_batches, math.ceil(len(train_x) / cfg.batch))


def _fit(run: _Run, module: nn.Module, train_batches: Batches, valid_batches: Batches, steps_per_epoch: int) -> Iterator[Event]:
    """The epoch loop shared by both modes: `module` maps a batch to logits."""
    cfg = run.config
    head_params = list(run.model.head.parameters())
    groups = [{"params": head_params, "lr": cfg.lr}]
    if not run.model.frozen:  # fine-tuning: the pretrained backbone moves ten times slower than the new head
        groups.append({"params": list(run.model.backbone.parameters()), "lr": cfg.lr / 10})
    optimizer = torch.optim.AdamW(groups, weight_decay=1e-4)
    total_steps = max(1, cfg.epochs * steps_per_epoch)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[g["lr"] for g in groups], total_steps=total_steps, pct_start=0.1
    )
    loss_fn = nn.CrossEntropyLoss()
    step_times: list[float] = []
    for epoch in range(1, cfg.epochs + 1):
        module.train()
        seen = correct = 0
        loss_sum = 0.0
        for x, y, bad in train_batches():
            yield from run.note_skipped(bad)
            if run.stop.is_set():
                break
            if x is None:
                continue
            t0 = time.perf_counter()
            x, y = x.to(run.device, non_blocking=True), y.to(run.device, non_blocking=True)
            if x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            logits = module(x)
            loss = loss_fn(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if run.step < total_steps - 1:
                scheduler.step()
            run.step += 1
            step_times.append(time.perf_counter() - t0)
            hits = (logits.argmax(1) == y).sum().item()
            seen, correct, loss_sum = seen + len(y), correct + hits, loss_sum + loss.item() * len(y)
            recent = sum(step_times[-20:]) / len(step_times[-20:])
            yield run.emit(StepDone(
                epoch=epoch, step=run.step, total_steps=total_steps, loss=loss.item(), acc=hits / len(y),
                lr=optimizer.param_groups[0]["lr"], images_per_s=len(y) / max(step_times[-1], 1e-9),
                eta_s=recent * (total_steps - run.step),
            ))
        if run.stop.is_set() and run.best_epoch is not None:
            return
        if seen == 0:
            if run.stop.is_set():
                return
            raise RuntimeError("no training image could be read; see the skipped files in the log")
        valid_loss, valid_acc, bad = _evaluate(run, module, valid_batches, loss_fn)
        yield from run.note_skipped(bad)
        run.epochs_run = epoch
        is_best = valid_acc > run.best_acc or (valid_acc == run.best_acc and valid_loss < run.best_loss)
        if is_best:
            run.save(epoch, valid_loss, valid_acc)
        yield run.emit(EpochDone(
            epoch=epoch, step=run.step, train_loss=loss_sum / seen, train_acc=correct / seen,
            valid_loss=valid_loss, valid_acc=valid_acc, is_best=is_best,
            elapsed_s=time.perf_counter() - run.started,
        ))
        if run.stop.is_set():
            return


def _evaluate(run: _Run, module: nn.Module, valid_batches: Batches, loss_fn) -> tuple[float, float, list[str]]:
    """Mean loss and accuracy on the validation split (eval mode, no autograd), and the files skipped."""
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
            loss_sum += loss_fn(logits, y).item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    module.train()
    loss, acc = (loss_sum / seen, correct / seen) if seen else (math.inf, 0.0)
    return loss, acc, skipped
