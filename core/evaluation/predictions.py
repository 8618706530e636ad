"""A run's model over one split of its own data, rebuilt exactly from the run's split.json: logits per image."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from core.data.images import UnreadableImage, load_image
from core.data.scan import index_from_split_record
from core.errors import DatasetError
from core.events import EvaluationProgress
from core.inference.predict import load_predictor
from core.runstore.store import CHECKPOINT_NAME

SPLITS = ("valid", "test")
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


def split_items(run_dir: str | Path, split: str = "valid") -> tuple[list[str], list[tuple[Path, int]]]:
    """The classes and the (path, label) items of a run's split, exactly as it trained (its split.json)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    try:
        record = json.loads((Path(run_dir) / "split.json").read_text())
    except (OSError, ValueError) as err:
        raise DatasetError(f"{Path(run_dir).name} has no readable split.json, so its images are unknown "
                           f"({type(err).__name__}).") from None
    index = index_from_split_record(record)
    if not index.splits.get(split):
        raise DatasetError(f"The dataset of {Path(run_dir).name} has no {split}/ images"
                           + ("; put a test/ folder with one subfolder per class next to train/." if split == "test"
                              else "."))
    return index.classes, index.splits[split]


def evaluation_key(run_dir: str | Path, split: str) -> str:
    """What the results depend on: the checkpoint file (its stat) and the split's exact files."""
    ckpt = (Path(run_dir) / CHECKPOINT_NAME).stat()
    _, items = split_items(run_dir, split)
    text = json.dumps([ckpt.st_size, ckpt.st_mtime_ns, split, [(str(p), y) for p, y in items]])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def predict_split(run_dir: str | Path, split: str = "valid",
                  stop=None) -> Iterator[EvaluationProgress | SplitPredictions]:
    """Yield progress while every image of the split goes through the run's model, then its SplitPredictions."""
    classes, items = split_items(run_dir, split)
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
