"""When a deeper stage pays, read from the validation curves of the stages so far (never from a clock): a stage
that plateaued well below what the held-back pictures allow hands over to one that trains more of the backbone."""
from __future__ import annotations

from dataclasses import dataclass

CEILING = 0.97  # a stage that gets this share of the held-back pictures right leaves a deeper one too little to win
MIN_WRONG = 3  # ... as does one with fewer pictures wrong than this (too few to tell a gain from luck)
RISING = 0.02  # validation still gaining this much over the stage's last epochs: it had not plateaued yet
FAR_BELOW = 0.8  # a head this far below the ceiling goes straight to the deeper layers: the top alone cannot close it


@dataclass(frozen=True)
class EpochPoint:
    """One validated epoch of a run: its stage and its accuracies."""

    stage: int
    train_acc: float
    valid_acc: float


@dataclass(frozen=True)
class Decision:
    """Whether the next, deeper stage runs, why (a key of core.training.stages.DEEPER), and the figures said."""

    go: bool
    why: str
    best: float  # the run's best validation accuracy so far
    gain: float  # what the last stage added to the best before it
    gap: float  # training accuracy minus validation accuracy at the best epoch


def deeper_pays(curve: list[EpochPoint], n_valid: int) -> Decision:
    """Go deeper when the run is well below the ceiling; say whether the last stage plateaued or was still rising
    (depth pays then too: the stage ran out of epochs, not of things to learn), or, after the head alone, whether it
    is so far below that the deeper layers come next at once ("far"; otherwise the top layers do)."""
    if not curve:
        return Decision(False, "nothing", 0.0, 0.0, 0.0)
    best_point = max(curve, key=lambda p: p.valid_acc)
    best, last = best_point.valid_acc, curve[-1].stage
    before = max((p.valid_acc for p in curve if p.stage < last), default=0.0)
    gain, gap = max(0.0, best - before), best_point.train_acc - best_point.valid_acc
    wrong = round((1 - best) * n_valid)
    if best >= CEILING or wrong < MIN_WRONG:
        return Decision(False, "near_top", best, gain, gap)
    if last == 1 and best < FAR_BELOW:
        return Decision(True, "far", best, gain, gap)
    stage = [p.valid_acc for p in curve if p.stage == last]
    tail = stage[len(stage) // 2:]
    rising = len(tail) > 1 and max(tail) - max(stage[:len(stage) // 2] or [0.0]) >= RISING
    return Decision(True, "rising" if rising else "plateau", best, gain, gap)
