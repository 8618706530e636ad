"""The bookkeeping of one training run: its files on disk, its best result, its step counter and timings."""
from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import torch

from core.config import TrainConfig
from core.data.scan import DatasetIndex
from core.events import Event, Message, RunFinished, StepDone
from core.models.backbones import get_backbone
from core.models.classifier import Classifier
from core.runs.checkpoint import save_checkpoint
from core.runs.store import CHECKPOINT_NAME, append_jsonl
from core.system import write_json_atomic
from core.training.distributed import Cluster

Batches = Callable[[], Iterable[tuple]]


@dataclass
class RunState:
    """Mutable state of one run; lives only inside the training generator."""

    config: TrainConfig
    index: DatasetIndex
    model: Classifier
    device: torch.device
    path: Path
    stop: threading.Event
    cluster: Cluster = field(default_factory=Cluster)
    started: float = field(default_factory=time.perf_counter)
    best_acc: float = -1.0
    best_loss: float = math.inf
    best_epoch: int | None = None
    epochs_run: int = 0
    step: int = 0
    total_steps: int = 0
    stage: int = 1
    skipped: dict[str, str] = field(default_factory=dict)
    step_times: list[float] = field(default_factory=list)

    def emit(self, event: Event, keep: bool = True) -> Event:
        if keep:
            append_jsonl(self.path / "metrics.jsonl", event.to_dict())
        return event

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @contextmanager
    def timed_step(self) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.step_times.append(time.perf_counter() - t0)
        self.step += 1

    def step_done(self, epoch: int, n: int, loss: float, acc: float, lr: float) -> StepDone:
        """The event for the step just timed, with throughput and an ETA from the last 20 steps."""
        recent = self.step_times[-20:]
        return StepDone(
            epoch=epoch, step=self.step, total_steps=self.total_steps, loss=loss, acc=acc, lr=lr,
            images_per_s=n / max(self.step_times[-1], 1e-9),
            eta_s=sum(recent) / len(recent) * max(0, self.total_steps - self.step),
        )

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
        """Write the checkpoint of a new best epoch (weights only, plus what prediction needs to rebuild it)."""
        cfg = self.config
        spec = get_backbone(cfg.backbone)
        meta = {
            "classes": self.index.classes,
            "backbone": cfg.backbone,
            "head": {"name": cfg.head, "hidden": cfg.hidden, "dropout": cfg.dropout},
            "freeze": cfg.freeze,
            "stage": self.stage,
            "frozen": self.model.frozen,
            "preprocess": {"image_size": cfg.image_size, "mean": list(spec.mean), "std": list(spec.std)},
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
            "freeze": self.config.freeze,
            "head": self.config.head,
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
            wall_s=self.elapsed(), skipped=len(self.skipped),
        )
