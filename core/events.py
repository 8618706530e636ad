"""Typed events that `core.train` yields: the only channel from training to any UI."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Event:
    """Base of every training event; `to_dict` gives the JSON form used in metrics.jsonl and the CLI."""

    def to_dict(self) -> dict:
        return {"event": type(self).__name__, **asdict(self)}


@dataclass(frozen=True)
class RunStarted(Event):
    """The data was read and the model built; training is about to begin."""

    run_id: str
    run_dir: str
    classes: list[str]
    train_size: int
    valid_size: int
    epochs: int
    steps_per_epoch: int
    device: str
    mode: str
    config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Message(Event):
    """Something the user should read in the log (a skipped file, a phase change)."""

    text: str
    level: str = "info"


@dataclass(frozen=True)
class StageStarted(Event):
    """A training stage begins: which layers train from here, from which step, at what peak learning rate."""

    stage: int
    name: str
    epoch: int
    step: int
    lr: float
    text: str


@dataclass(frozen=True)
class FeaturesProgress(Event):
    """Frozen backbone: how many images have been through the backbone (each goes once)."""

    done: int
    total: int
    images_per_s: float
    eta_s: float
    cached: int = 0


@dataclass(frozen=True)
class StepDone(Event):
    """One optimisation step; `step` counts from 1 across epochs."""

    epoch: int
    step: int
    total_steps: int
    loss: float
    acc: float
    lr: float
    images_per_s: float
    eta_s: float


@dataclass(frozen=True)
class EpochDone(Event):
    """One epoch with its validation; `is_best` means the checkpoint was just rewritten."""

    epoch: int
    step: int
    train_loss: float
    train_acc: float
    valid_loss: float
    valid_acc: float
    is_best: bool
    elapsed_s: float


@dataclass(frozen=True)
class RunFinished(Event):
    """The run ended, either by finishing its epochs or by a stop request (`stopped`)."""

    run_id: str
    run_dir: str
    stopped: bool
    epochs_run: int
    best_epoch: int | None
    best_valid_acc: float | None
    checkpoint: str | None
    wall_s: float
    skipped: int = 0


@dataclass(frozen=True)
class CheckProgress(Event):
    """Health check: how many files have been looked at (files remembered from an earlier check count too)."""

    done: int
    total: int
    images_per_s: float
    eta_s: float
