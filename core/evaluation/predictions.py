"""A run's predictions on a split, owned here: the run's model over one split of its own data, rebuilt exactly from the
run's split (runstore), logits per image, through inference's Predictor."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from core.data.images import UnreadableImage, load_image
from core.events import EvaluationProgress
from core.inference.predict import load_predictor
from core.runstore.folder import RunFolder

BATCH = 32


@dataclass
class SplitPredictions:
    """Logits of every readable image of a split, its true labels and paths; the unreadable files with reasons."""

    split: str
    classes: list[str]
    paths: list[str]
    labels: np.ndarray
    logits: np.ndarray
    skipped: list[tuple[str, str]]


def predict_split(run_dir: str | Path, split: str = "valid",
                  stop=None) -> Iterator[EvaluationProgress | SplitPredictions]:
    """Yield progress while every image of the split goes through the run's model, then its SplitPredictions."""
    classes, items = RunFolder(run_dir).split_items(split)
    predictor = load_predictor(run_dir)
    paths, labels, logits, skipped = [], [], [], []
    start = time.perf_counter()
    for first in range(0, len(items), BATCH):
        if stop is not None and stop.is_set():
            return
        images, kept = [], []
        for path, label in items[first:first + BATCH]:
            try:
                images.append(load_image(path))
                kept.append((str(path), label))
            except UnreadableImage as err:
                skipped.append((str(path), err.reason))
        if images:
            logits.append(predictor.logits(images).float().numpy())
            paths += [p for p, _ in kept]
            labels += [y for _, y in kept]
        done = min(first + BATCH, len(items))
        rate = done / max(time.perf_counter() - start, 1e-9)
        yield EvaluationProgress(done, len(items), rate, (len(items) - done) / max(rate, 1e-9))
    yield SplitPredictions(split, classes, paths, np.asarray(labels, dtype=np.int64),
                           np.concatenate(logits) if logits else np.zeros((0, len(classes)), np.float32), skipped)
