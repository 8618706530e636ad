"""Smoothing of noisy series (training loss per step): one debiased moving average for the charts and the LR finder."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DebiasedEMA:
    """Exponential moving average without the pull towards 0 of its first values (as TensorBoard and fastai draw)."""

    weight: float = 0.8
    _avg: float = 0.0
    _n: int = 0

    def update(self, value: float) -> float:
        """Add one value; the smoothed value so far."""
        self._n += 1
        self._avg = self.weight * self._avg + (1 - self.weight) * value
        return self._avg / (1 - self.weight ** self._n)


def smooth(values: list[float], weight: float = 0.8) -> list[float]:
    """The debiased moving average of a whole series."""
    ema = DebiasedEMA(weight)
    return [ema.update(v) for v in values]
