"""Typed events that `core.train` (and the health check, the LR finder) yield: the only channel from a job to any UI.

Each consumer (the CLI printer, the GUI's charts, log and progress bar) keeps one table of handlers by event type
and calls `dispatch`; none tests types in a ladder of its own.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Generator, Iterable, Mapping, TypeVar

T = TypeVar("T")
R = TypeVar("R")


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
    first_epoch: int = 1  # a continued run goes on from its last epoch and step
    first_step: int = 0


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
class Progress(Event):
    """A pass over many files: how many are done, how fast, and the seconds left of the whole job."""

    done: int
    total: int
    images_per_s: float
    eta_s: float


@dataclass(frozen=True)
class FeaturesProgress(Progress):
    """Frozen backbone: how many images have been through the backbone (each goes once)."""

    cached: int = 0


@dataclass(frozen=True)
class StepDone(Event):
    """One optimisation step; `step` counts from 1 across epochs and stages.

    `images_per_s` counts images the backbone (or the whole model) processed: 0 for a head step on cached
    features, where no image goes through the backbone. `eta_s` is the time left of the whole run, every
    remaining stage at its own speed.
    """

    epoch: int
    step: int
    total_steps: int
    loss: float
    acc: float
    lr: float
    images_per_s: float
    eta_s: float
    stage: int = 1


@dataclass(frozen=True)
class EpochDone(Event):
    """One epoch with its validation; `is_best` means the checkpoint was just rewritten. `eta_s` is the time left of
    the whole run as it stands once the epoch's validation and checkpoints are done (a step's ETA, paced on the
    steps alone, has not counted them during the first epoch); None in logs written before it was kept."""

    epoch: int
    step: int
    train_loss: float
    train_acc: float
    valid_loss: float
    valid_acc: float
    is_best: bool
    elapsed_s: float
    eta_s: float | None = None


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
class EvaluationProgress(Progress):
    """Evaluation: pictures of the split that have been through the run's model so far."""


@dataclass(frozen=True)
class FolderProgress(Progress):
    """A folder predicted into a CSV: pictures done so far."""


@dataclass(frozen=True)
class CheckProgress(Progress):
    """Health check: how many files have been looked at (files remembered from an earlier check count too)."""


def relay(items: Iterable, kind: type[R]) -> Generator[object, None, R | None]:
    """Pass every item on but the one of type `kind`, which is returned (None when none came: the work stopped)."""
    result = None
    for item in items:
        if isinstance(item, kind):
            result = item
        else:
            yield item
    return result


def dispatch(handlers: Mapping[type, Callable[..., T]], event: object, *args, default: T | None = None) -> T | None:
    """Call the handler registered for the event's type, or for its nearest base class; `default` if none is."""
    for cls in type(event).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            return handler(event, *args)
    return default
