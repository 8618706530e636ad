"""Each run draws its random numbers from a stream of its own, so two runs in one process never shift each other.

torch's layers (weight init, dropout, drop-connect) and torchvision's augmentations draw from the process-wide
RNG. A run keeps that RNG's state as its own and swaps it in, under one lock, only around the code that draws:
the same seed gives the same curves whether another session trains at the same time or not. Two runs in one
process therefore take their steps in turn (a step draws throughout: augmentation, dropout, drop-connect); the
GUI trains one run at a time, so only the LR finder can wait on a training step.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator

import torch

_LOCK = threading.RLock()  # held only around code that draws, never across a `yield` to a consumer


def _fresh_lock_after_fork() -> None:
    """A DataLoader worker forked while another thread held the lock would wait for it forever: give it its own."""
    global _LOCK
    _LOCK = threading.RLock()


os.register_at_fork(after_in_child=_fresh_lock_after_fork)


class RunRandom:
    """A run's torch RNG states (CPU, and CUDA when it trains there), seeded once from the run's seed."""

    def __init__(self, seed: int, device: torch.device | None = None):
        self.seed = seed
        self.cuda = device is not None and device.type == "cuda"
        self.device_index = (device.index if device.index is not None else torch.cuda.current_device()) if self.cuda else 0
        self.generator = torch.Generator().manual_seed(seed)  # for samplers and shuffles that take a generator
        self._cpu = torch.Generator().manual_seed(seed).get_state()
        self._gpu: torch.Tensor | None = None

    def state(self) -> torch.Tensor:
        """The CPU stream's state now (a continued run carries on from it)."""
        return self._cpu.clone()

    def restore(self, cpu: torch.Tensor, generator: torch.Tensor) -> None:
        """Carry on from saved states: the CPU stream and the generator of shuffles and samplers (the CUDA stream
        starts again from the seed)."""
        self._cpu = cpu.clone()
        self.generator.set_state(generator.clone())

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make this run's stream torch's global RNG for the duration; the global state is put back after."""
        with _LOCK:
            devices = [self.device_index] if self.cuda else []
            with torch.random.fork_rng(devices=devices):
                torch.set_rng_state(self._cpu)
                if self.cuda:
                    if self._gpu is None:
                        torch.cuda.default_generators[self.device_index].manual_seed(self.seed)
                    else:
                        torch.cuda.set_rng_state(self._gpu, self.device_index)
                try:
                    yield
                finally:
                    self._cpu = torch.get_rng_state()
                    if self.cuda:
                        self._gpu = torch.cuda.get_rng_state(self.device_index)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """torch's global RNG seeded with `seed` for the duration (one augmented view of one file), then put back."""
    with _LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
