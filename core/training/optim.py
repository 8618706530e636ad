"""Registries of optimizers and learning-rate schedules, all stepped once per training step: the implementations of
the names core.config offers (OPTIMIZER_TITLES, SCHEDULER_TITLES; a test checks that both list the same)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import torch


def _sgd(groups: list[dict], weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.SGD(groups, momentum=0.9, nesterov=True, weight_decay=weight_decay)


def _adam(groups: list[dict], weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.Adam(groups, weight_decay=weight_decay)


def _adamw(groups: list[dict], weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.AdamW(groups, weight_decay=weight_decay)


OPTIMIZERS: dict[str, Callable[[list[dict], float], "torch.optim.Optimizer"]] = {
    "adamw": _adamw, "adam": _adam, "sgd": _sgd,
}
# SGD needs a learning rate about ten times Adam's for the same progress.
LR_SCALE = {"adamw": 1.0, "adam": 1.0, "sgd": 10.0}


def _lambda(optimizer, factor: Callable[[int], float]):
    import torch

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _none(optimizer, total_steps: int):
    return _lambda(optimizer, lambda step: 1.0)


def _step(optimizer, total_steps: int):
    """Divide by ten at one third and two thirds of the steps."""
    every = max(1, math.ceil(total_steps / 3))
    return _lambda(optimizer, lambda step: 0.1 ** (step // every))


def _onecycle(optimizer, total_steps: int):
    """Warm up over 10 % of the steps (at least two), then anneal; too few steps for a cycle stay constant."""
    import torch

    if total_steps < 6:
        return _none(optimizer, total_steps)
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=total_steps,
        pct_start=max(0.1, 2.5 / total_steps),
    )


def _cosine(optimizer, total_steps: int):
    """Linear warm-up over the first 5 % of the steps, then a cosine down to zero."""
    warmup = max(1, round(0.05 * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total_steps - warmup))))

    return _lambda(optimizer, factor)


SCHEDULERS: dict[str, Callable] = {"onecycle": _onecycle, "cosine": _cosine, "step": _step, "none": _none}


@dataclass
class PacedSchedule:
    """A schedule of `total` steps spread over the steps a stage really takes: one to one, until a halved batch
    (out of GPU memory) doubles the steps left, which then share the schedule's remaining steps."""

    scheduler: object
    total: int
    per_step: float = 1.0
    position: float = 0.0
    stepped: int = 0
    continued: bool = False  # a continued run's short decay, not the configured schedule

    def step(self) -> None:
        """After an optimizer step: advance the schedule by its share (its last step is never taken)."""
        self.advance_to(self.position + self.per_step)

    def advance_to(self, position: float) -> None:
        """Move the schedule to `position` (steps taken; a resumed run's own), stepping the scheduler to match."""
        self.position = position
        while self.stepped < min(int(self.position + 1e-9), self.total - 1):
            self.scheduler.step()
            self.stepped += 1

    def spread_over(self, steps_left: int) -> None:
        """The rest of the schedule over `steps_left` optimizer steps from now."""
        self.per_step = (self.total - self.position) / max(1, steps_left)


def make_optimizer(name: str, groups: list[dict], weight_decay: float) -> torch.optim.Optimizer:
    """The named optimizer over param groups whose "lr" is each group's peak learning rate."""
    return OPTIMIZERS[name](groups, weight_decay)


def make_scheduler(name: str, optimizer, total_steps: int):
    """The named schedule for `total_steps` steps; call `.step()` after every optimizer step."""
    return SCHEDULERS[name](optimizer, total_steps)
