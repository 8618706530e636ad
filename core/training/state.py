"""The bookkeeping of one training run: its files on disk, its best result, its random stream, its clocks."""
from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

import numpy as np
import torch

from core.calibration import default_threshold, fit_temperature, softmax
from core.config import TrainConfig
from core.data.scan import DatasetIndex
from core.events import Event, Message, RunFinished, StepDone
from core.models.backbones import get_backbone
from core.models.classifier import Classifier
from core.runstore.checkpoint import CheckpointMeta, save_checkpoint
from core.runstore.folder import RunFolder
from core.training.distributed import Cluster
from core.training.field import field_pictures_in
from core.training.resume import ResumePoint, write_last
from core.training.rng import RunRandom

Batches = Callable[[], Iterable[tuple]]


@dataclass
class StageClock:
    """One stage's share of the ETA: its planned steps, an estimate per step before it runs, then its measured pace.

    The measured pace is wall time per step since the stage began (or since its batch was halved), so batch
    loading and validation count too.
    """

    steps: int
    estimate_s: float = 0.0
    done: int = 0
    since: float | None = None  # when the measured pace starts
    done_since: int = 0  # steps done before `since`

    def seconds_left(self, now: float) -> float:
        left, paced = max(0, self.steps - self.done), self.done - self.done_since
        if paced and self.since is not None:
            return left * (now - self.since) / paced
        return left * self.estimate_s

    def pace_from(self, now: float) -> None:
        """Measure the pace from now on (the steps before were of another kind: a larger batch)."""
        self.since, self.done_since = now, self.done


class Validation(NamedTuple):
    """One validation pass: mean loss, accuracy, every image's logits and label, and the files skipped."""

    loss: float
    accuracy: float
    logits: np.ndarray
    labels: np.ndarray
    skipped: list


@dataclass
class RunState:
    """Mutable state of one run; lives only inside the training generator."""

    config: TrainConfig
    index: DatasetIndex
    model: Classifier
    device: torch.device
    path: Path
    stop: threading.Event
    random: RunRandom
    cluster: Cluster = field(default_factory=Cluster)
    started: float = field(default_factory=time.perf_counter)
    best_acc: float = -1.0
    best_loss: float = math.inf
    best_epoch: int | None = None
    epochs_run: int = 0
    step: int = 0
    stage: int = 1
    clocks: dict[int, StageClock] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    last_step_s: float = 0.0
    best_validation: Validation | None = None  # the kept checkpoint's validation pass
    resume: ResumePoint | None = None  # where a resumed or continued run goes on from (its last.pt)
    skipped_stage: str | None = None  # the second stage the head-only stage made pointless, and why
    fresh_best: bool = False  # the next validated epoch is the best whatever came before (its training set changed)
    curve: list = field(default_factory=list)  # EpochPoint per validated epoch: what `deeper_pays` reads

    def emit(self, event: Event, keep: bool = True) -> Event:
        if keep:
            RunFolder(self.path).log(event.to_dict())
        return event

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def total_steps(self) -> int:
        """Steps of every stage, as planned now (early stopping and a halved batch change it), after the steps a
        continued run had taken before."""
        first = self.resume.step if self.resume else 0
        return first + sum(clock.steps for clock in self.clocks.values())

    def seconds_left(self, from_stage: int = 1) -> float:
        """The ETA of stage `from_stage` and every stage after it, each at its own pace."""
        now = time.perf_counter()
        return sum(clock.seconds_left(now) for number, clock in self.clocks.items() if number >= from_stage)

    def begin_stage(self, number: int, steps: int) -> None:
        """Stage `number` starts now with `steps` steps (its plan, corrected now that its data is known)."""
        self.stage = number
        clock = self.clocks.setdefault(number, StageClock(steps))
        clock.steps, clock.done = steps, 0
        clock.pace_from(time.perf_counter())

    @contextmanager
    def timed_step(self) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.last_step_s = time.perf_counter() - t0
        self.step += 1
        self.clocks[self.stage].done += 1

    def step_done(self, epoch: int, n: int, loss: float, acc: float, lr: float, cached: bool) -> StepDone:
        """The event for the step just timed: images through the backbone per second (none when the head reads
        cached features) and the whole run's ETA."""
        return StepDone(
            epoch=epoch, step=self.step, total_steps=self.total_steps, loss=loss, acc=acc, lr=lr,
            images_per_s=0.0 if cached else n / max(self.last_step_s, 1e-9),
            eta_s=self.seconds_left(self.stage), stage=self.stage,
        )

    def usable_train_items(self) -> list[tuple[Path, int]]:
        """The training (path, label) items not skipped as unreadable so far."""
        return [item for item in self.index.splits["train"] if str(item[0]) not in self.skipped]

    def note_skipped(self, bad: list[tuple[str, str]]) -> Iterator[Event]:
        """Log each newly skipped file once and keep the run's skipped.json current."""
        new = [(path, reason) for path, reason in bad if path not in self.skipped]
        for path, reason in new:
            self.skipped[path] = reason
            yield self.emit(Message(f"Skipped {path}: {reason}", level="warning"))
        if new:
            self.write_skipped()

    def write_skipped(self) -> None:
        RunFolder(self.path).write_skipped(self.skipped)

    def save(self, epoch: int, validation: Validation, status: str = "running") -> None:
        """Write the checkpoint of a new best epoch (weights only, plus what prediction needs to rebuild it); its
        validation logits are kept to calibrate its confidence once the run ends (`close`)."""
        valid_loss, valid_acc = validation.loss, validation.accuracy
        cfg = self.config
        spec = get_backbone(cfg.backbone)
        meta = CheckpointMeta(
            classes=self.index.classes, backbone=cfg.backbone, head=cfg.head, hidden=cfg.hidden, dropout=cfg.dropout,
            image_size=cfg.image_size, mean=list(spec.mean), std=list(spec.std), freeze=cfg.freeze, stage=self.stage,
            frozen=self.model.frozen and self.stage == 1, epoch=epoch, valid_acc=valid_acc, valid_loss=valid_loss,
        )
        save_checkpoint(RunFolder(self.path).best, self.model, meta)
        self.best_validation = validation
        self.best_acc, self.best_loss, self.best_epoch = valid_acc, valid_loss, epoch
        self.write_summary(status)

    def save_last(self, epoch: int, stage: int, stage_epochs: int, module: torch.nn.Module, part: str, optimizer,
                  schedule, since_best: int) -> None:
        """Write last.pt at the end of an epoch: what continuing or resuming the run from here needs (the weights of
        the `module` that trains, which is the `part` of the model resume.PARTS names)."""
        weights = module.state_dict()
        write_last(self.path, ResumePoint(
            stage=stage, stage_epochs=stage_epochs, position=schedule.position, total=schedule.total,
            per_step=schedule.per_step, continued=schedule.continued, epoch=epoch, step=self.step, weights=weights,
            part=part, optimizer=optimizer.state_dict(), rng=self.random.state(),
            generator=self.random.generator.get_state(), best_acc=self.best_acc, best_loss=self.best_loss,
            best_epoch=self.best_epoch, since_best=since_best))

    def close(self, status: str) -> None:
        """The run ends (finished, stopped, closed or failed): calibrate the kept checkpoint's confidence on its
        validation logits (temperature, "not sure" threshold) and write the summary."""
        validation = self.best_validation
        if validation is not None and len(validation.labels):
            temperature = fit_temperature(validation.logits, validation.labels)
            threshold = default_threshold(softmax(validation.logits, temperature), validation.labels)
            RunFolder(self.path).write_calibration(temperature, threshold)
        self.write_summary(status)

    def write_summary(self, status: str) -> None:
        RunFolder(self.path).write_summary({
            "status": status,
            "backbone": self.config.backbone,
            "freeze": self.config.freeze,
            "head": self.config.head,
            "classes": self.index.classes,
            "best_epoch": self.best_epoch,
            "best_valid_acc": None if self.best_epoch is None else self.best_acc,
            "epochs_run": self.epochs_run,
            "skipped_stage": self.skipped_stage,
            "field_pictures": field_pictures_in(self.index.splits.get("train", [])),
        })

    def finished(self, stopped: bool) -> RunFinished:
        has_ckpt = self.best_epoch is not None
        if has_ckpt:
            self.close("stopped" if stopped else "finished")
        return RunFinished(
            run_id=self.path.name, run_dir=str(self.path), stopped=stopped, epochs_run=self.epochs_run,
            best_epoch=self.best_epoch, best_valid_acc=self.best_acc if has_ckpt else None,
            checkpoint=str(RunFolder(self.path).best) if has_ckpt else None,
            wall_s=self.elapsed(), skipped=len(self.skipped),
        )
