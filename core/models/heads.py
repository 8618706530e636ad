"""Registry of classifier heads: name -> builder of the layers that map pooled features to class logits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class HeadSpec:
    """A head: what it is in words, and how to build it for (features, classes, hidden size, dropout)."""

    name: str
    description: str
    build: Callable[[int, int, int, float], "nn.Module"]


def _linear(in_dim: int, classes: int, hidden: int, dropout: float) -> nn.Module:
    from torch import nn

    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, classes))


def _mlp(in_dim: int, classes: int, hidden: int, dropout: float) -> nn.Module:
    from torch import nn

    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, classes))


def _bn_mlp(in_dim: int, classes: int, hidden: int, dropout: float) -> nn.Module:
    from torch import nn

    return nn.Sequential(
        nn.BatchNorm1d(in_dim), nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.ReLU(inplace=True),
        nn.BatchNorm1d(hidden), nn.Dropout(dropout), nn.Linear(hidden, classes),
    )


HEADS: dict[str, HeadSpec] = {
    spec.name: spec
    for spec in (
        HeadSpec("linear", "Linear: dropout, then one layer (the classic; best with few images)", _linear),
        HeadSpec("mlp", "MLP: a hidden layer with ReLU and dropout", _mlp),
        HeadSpec("bn_mlp", "BatchNorm MLP: normalised features, a hidden layer, dropout twice", _bn_mlp),
    )
}


def build_head(name: str, in_dim: int, classes: int, hidden: int = 512, dropout: float = 0.2) -> nn.Module:
    """The named head; it outputs logits (the loss is CrossEntropyLoss)."""
    try:
        spec = HEADS[name]
    except KeyError:
        raise ValueError(f"unknown head {name!r}; choose one of {', '.join(HEADS)}") from None
    return spec.build(in_dim, classes, hidden, dropout)
