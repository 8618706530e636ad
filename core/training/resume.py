"""A run's last state (last.pt, beside best.pt): what continuing or resuming it needs that the best checkpoint lacks.

Written at the end of every epoch: the trainable weights (the head alone while the backbone is frozen), the
optimizer's state, how far the stage's schedule has gone, the run's random streams and its best result so far.
Loaded as untrusted input, like every checkpoint (weights only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from core.errors import CheckpointError
from core.runstore.checkpoint import FORMAT_VERSION, load_checkpoint
from core.runstore.folder import RunFolder
from core.system import atomic_write

# what last.pt's weights are: the head alone (the backbone frozen), the backbone's top and the head, everything above
# its deeper cut and the head, or the whole model
PARTS = ("head", "top", "deep", "model")
CONTINUE_FROM_PEAK = 0.1  # a continued run starts at least at a tenth of the stage's peak learning rate


@dataclass
class ResumePoint:
    """Where a run stopped: its stage, the epochs of that stage it took, and the states to carry on from there.

    `extra` is None to resume the rest of the planned stage on its own schedule (a failed run), or the number of
    epochs to continue past the end with a new short schedule (a finished or stopped run).
    """

    stage: int
    stage_epochs: int  # epochs of `stage` taken so far (a continuation's included)
    position: float  # how far the stage's schedule has gone, in its own steps
    total: int  # the schedule's length in steps
    per_step: float  # schedule steps per optimizer step (a halved batch takes twice as many)
    continued: bool  # the schedule is a continuation's short decay, not the configured one
    epoch: int
    step: int
    weights: dict
    part: str  # "head" while the backbone is frozen, "top" or "deep" while a part of it trains alone, else "model"
    optimizer: dict
    rng: torch.Tensor
    generator: torch.Tensor
    best_acc: float
    best_loss: float
    best_epoch: int | None
    since_best: int
    extra: int | None = None


def write_last(path: Path, point: ResumePoint) -> None:
    """Save the run's last state atomically (a crash while writing leaves the previous one)."""
    payload = {"format_version": FORMAT_VERSION, "kind": "last", "state_dict": point.weights, "part": point.part,
               "stage": point.stage, "stage_epochs": point.stage_epochs,
               "schedule": {"position": float(point.position), "total": int(point.total),
                            "per_step": float(point.per_step), "continued": bool(point.continued)},
               "epoch": point.epoch, "step": point.step, "optimizer": point.optimizer, "rng": point.rng,
               "generator": point.generator, "best_acc": point.best_acc,
               "best_loss": point.best_loss if math.isfinite(point.best_loss) else None,
               "best_epoch": point.best_epoch, "since_best": point.since_best}
    atomic_write(RunFolder(path).last, lambda f: torch.save(payload, f))


def read_last(run_dir: Path) -> ResumePoint:
    """The run's last state, or a CheckpointError that says why the run cannot go on."""
    path = RunFolder(run_dir).last
    if not path.is_file():
        raise CheckpointError(f"{Path(run_dir).name} has no {path.name}: it was trained before runs kept their last "
                              "state, or it ended before its first epoch did, so it cannot be continued.")
    saved = load_checkpoint(path)
    try:
        best_loss, schedule, best_epoch = saved["best_loss"], saved["schedule"], saved["best_epoch"]
        point = ResumePoint(
            stage=int(saved["stage"]), stage_epochs=int(saved["stage_epochs"]),
            position=float(schedule["position"]), total=int(schedule["total"]), per_step=float(schedule["per_step"]),
            continued=bool(schedule["continued"]), epoch=int(saved["epoch"]), step=int(saved["step"]),
            weights=saved["state_dict"], part=str(saved["part"]), optimizer=saved["optimizer"], rng=saved["rng"],
            generator=saved["generator"], best_acc=float(saved["best_acc"]),
            best_loss=math.inf if best_loss is None else float(best_loss),
            best_epoch=None if best_epoch is None else int(best_epoch), since_best=int(saved["since_best"]))
        if not (isinstance(point.weights, dict) and isinstance(point.optimizer, dict) and point.part in PARTS
                and all(isinstance(t, torch.Tensor) for t in (point.rng, point.generator))):
            raise TypeError("weights, optimizer or random states of the wrong kind")
        return point
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"{path.name} of {Path(run_dir).name} lacks what continuing needs ({err!r}).") from None


def continuation_factor(scheduler: str, steps: int):
    """The LR multiplier of a continuation's `steps` steps: constant for the constant schedule, else one cosine
    from the starting LR down to zero (no warm-up: the optimizer's moments are already warm)."""
    if scheduler == "none":
        return lambda step: 1.0
    return lambda step: 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, steps))))


def continuation_lr(scheduler: str, last_lr: float, peak_lr: float) -> float:
    """Where a continuation starts: the last LR, but never below a tenth of the peak (a schedule that decayed to
    zero would otherwise continue without learning); the constant schedule keeps its LR."""
    return last_lr if scheduler == "none" else max(last_lr, CONTINUE_FROM_PEAK * peak_lr)
