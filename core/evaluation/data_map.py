"""The dataset map: every picture of a dataset (and the pictures kept from use by runs trained on it) placed in 2-D by
what a model sees in it, with its class and what is known of it (likely mislabelled, outlier, near-duplicate, a chosen
run's mistake or "not sure" answer, test, kept), and the facts the map shows. The CLI prints it; the GUI draws it.

Flags come from the audit's pieces on the backbone's features (the cache the audit and frozen training share); the map
is laid out from those, or from a chosen run's own features to see what its training learned.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.scan import DatasetIndex, scan_dataset
from core.evaluation.audit import DEFAULT_BACKBONE
from core.evaluation.audit_features import IMAGE_SIZE, AuditFeatures, audit_features
from core.evaluation.map_facts import FEATURES, FLAGS, KEPT_SPLIT, MAP_SPLITS, ClassGroups, Strays, map_facts
from core.evaluation.map_layout import DEFAULT_METHOD, METHODS, layout, neighbour_agreement
from core.evaluation.map_points import (
    RunPass,
    answer_marks,
    audit_flags,
    kept_class,
    kept_pictures,
    run_pass,
    suspects_refused,
    with_kept,
)
from core.events import Event, Message, relay
from core.models.backbones import BACKBONES
from core.runstore.folder import KEPT, RunFolder
from core.runstore.kept import KeptPicture



@dataclass
class MapPoint:
    """One picture on the map: its file, split, class, place, flags (in FLAGS order) and the facts behind them."""

    path: str
    split: str
    cls: str
    x: float
    y: float
    flags: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready; the class as "class", the place rounded to 4 decimals."""
        return {"path": self.path, "split": self.split, "class": self.cls, "x": round(self.x, 4),
                "y": round(self.y, 4), "flags": list(self.flags), "facts": dict(self.facts)}


@dataclass
class DataMap:
    """Every readable picture once (train, valid, test, then kept ones), how the map was made and what it shows."""

    data: str
    classes: list[str]
    method: str
    features: str
    backbone: str
    run: str | None
    points: list[MapPoint]
    laid_out: int
    facts: list[ClassGroups | Strays]
    agreement: dict
    timings: dict[str, float]
    skipped: list[tuple[str, str]]
    from_cache: int

    @property
    def sampled(self) -> bool:
        """Whether only a sample was laid out and the other pictures placed by their nearest neighbours."""
        return self.laid_out < len(self.points)

    def to_dict(self) -> dict:
        """JSON-ready: the CLI's output and the GUI's data."""
        return {"data": self.data, "classes": self.classes, "method": self.method, "features": self.features,
                "backbone": self.backbone, "run": self.run, "points": [p.to_dict() for p in self.points],
                "laid_out": self.laid_out, "sampled": self.sampled, "facts": [f.to_dict() for f in self.facts],
                "agreement": self.agreement, "timings": {k: round(v, 2) for k, v in self.timings.items()},
                "skipped": [list(s) for s in self.skipped], "from_cache": self.from_cache}


@dataclass(frozen=True)
class _Source:
    """What a map is of: the dataset's pictures and splits, the backbone and size that read them, the chosen run."""

    index: DatasetIndex
    backbone: str
    image_size: int
    run: RunFolder | None


def _source(data, run, backbone: str, valid_fraction: float, seed: int) -> _Source:
    """The dataset folder as training splits it, or a run's own pictures, splits, backbone and image size."""
    if run is None:
        if data is None:
            raise ValueError("Name the dataset folder to draw its map, or a run to draw its own pictures.")
        return _Source(scan_dataset(data, valid_fraction, seed), backbone, IMAGE_SIZE, None)
    folder = RunFolder(Path(run))
    if not folder.is_run():
        raise ValueError(f"{run} is not a run folder, so there is no run to draw the map with.")
    config = folder.read_config()
    own = str(config.get("backbone") or backbone)
    if own not in BACKBONES or not BACKBONES[own].pretrained:  # a model trained from scratch: its backbone's
        return _Source(folder.dataset_index(), backbone, IMAGE_SIZE, folder)  # features say nothing before training
    return _Source(folder.dataset_index(), own, int(config.get("image_size") or IMAGE_SIZE), folder)


def _stopped(stop) -> bool:
    return stop is not None and stop.is_set()


def _check(features: str, run, method: str) -> None:
    """ValueError with a sentence for settings that cannot make a map."""
    if features not in FEATURES:
        raise ValueError(f"{features!r} is not a choice of features for the map; choose one of {', '.join(FEATURES)}.")
    if features == "run" and run is None:
        raise ValueError("The run's own features need a run: choose one, or draw the map from the backbone's "
                         "features.")
    if method not in METHODS:
        raise ValueError(f"{method!r} is not a way to draw the map; choose one of {', '.join(METHODS)}.")


def _kept_facts(picture: KeptPicture, answered: bool) -> dict:
    """A kept picture's id, and the answer it was kept with unless the chosen run answers it."""
    if answered:
        return {"kept_id": picture.id}
    return {"kept_id": picture.id, "predicted": picture.predicted, "confidence": round(picture.confidence, 4)}


def _marks(seen: AuditFeatures, rows: np.ndarray, answers: RunPass | None, kept: dict[str, KeptPicture],
           classes: list[str], seed: int) -> list[tuple[str, set[str], dict]]:
    """(class, flags, facts) of each row: the audit's flags over the dataset's pictures, the run's answers, test and
    kept."""
    paths = [str(seen.paths[i]) for i in rows]
    splits = [seen.splits[i] for i in rows]
    labels = seen.labels[rows]
    ours = np.flatnonzero(np.asarray(splits) != KEPT_SPLIT)
    flagged = audit_flags(seen.features[rows][ours], labels[ours], [paths[i] for i in ours],
                          [splits[i] for i in ours], classes, seed)
    audit = dict(zip(ours.tolist(), flagged))
    marks = []
    for n, (path, split, label) in enumerate(zip(paths, splits, labels.tolist())):
        found = audit.get(n, {})
        flags, facts = set(found), {key: value for details in found.values() for key, value in details.items()}
        cls = classes[label] if split != KEPT_SPLIT else kept_class(kept[path])
        if split == KEPT_SPLIT:
            flags.add("kept")
            facts |= _kept_facts(kept[path], answered=answers is not None)
        if split == "test":
            flags.add("test")
        if answers is not None and split != "train":
            answer_flags, answer_facts = answer_marks(answers, path, split, label)
            flags.update(answer_flags)
            facts |= answer_facts
        marks.append((cls, flags, facts))
    return marks


def _agreement(value: float) -> float | None:
    """A share rounded for JSON; None where it could not be measured (too few pictures)."""
    return None if math.isnan(value) else round(value, 4)


def build_map(data: str | Path | None, run: str | Path | None = None, features: str = "backbone",
              method: str = DEFAULT_METHOD, valid_fraction: float = 0.2, seed: int = 0,
              backbone: str = DEFAULT_BACKBONE, cache_dir: str | Path | None = None,
              kept_dir: str | Path | None = None, stop=None, device: str = "auto",
              cap: int | None = None) -> Iterator[Event | DataMap]:
    """Messages and progress (FeaturesProgress), then the DataMap; nothing more once stopped.

    With `run` the pictures, splits and backbone are the run's own (`data` may be None) and the run answers the
    validation, test and kept pictures; `features="run"` lays the map out from the run's own features. The kept
    pictures are those in `kept_dir` (default: the chosen run's runs folder's) answered by runs trained on this dataset.
    """
    _check(features, run, method)
    began = time.perf_counter()
    source = _source(data, run, backbone, valid_fraction, seed)
    index, folder = source.index, source.run
    if folder is not None and data is not None and Path(data).expanduser().resolve() != index.root:
        yield Message(f"The map shows {folder.run_id}'s own pictures, of {index.root}, the dataset it was trained on.")
    if kept_dir is None and folder is not None:
        kept_dir = folder.path.parent / KEPT
    kept = {str(Path(p.path).absolute()): p for p in kept_pictures(kept_dir, index.root)}
    timings: dict[str, float] = {}
    start = time.perf_counter()
    seen = yield from relay(audit_features(with_kept(index, list(kept.values())), source.backbone, source.image_size,
                                           device, stop=stop, cache_dir=cache_dir, splits=(*MAP_SPLITS, KEPT_SPLIT)),
                            AuditFeatures)
    if seen is None or _stopped(stop):
        return
    answers, skipped = None, list(seen.skipped)
    if folder is not None:
        asked = [p for p, split in zip(seen.paths, seen.splits) if features == "run" or split != "train"]
        answers = yield from relay(run_pass(folder.path, asked, cache_dir, stop), RunPass)
        if answers is None or _stopped(stop):
            return
        if features == "run":  # off the map only when its features are the run's; else it just has no answer
            skipped += [s for s in answers.skipped if s not in skipped]
    timings["features_s"] = time.perf_counter() - start
    rows = np.asarray([i for i, p in enumerate(seen.paths) if features != "run" or str(p) in answers.row], dtype=int)
    dataset_rows = np.flatnonzero(np.asarray([seen.splits[i] for i in rows]) != KEPT_SPLIT)
    if len(dataset_rows) < 3:
        yield Message("Too few pictures could be read to draw a map of this dataset (at least 3 are needed).",
                      "warning")
        return
    refused = suspects_refused(seen.labels[rows][dataset_rows], index.classes)
    if refused:
        yield Message(refused, "warning")
    yield Message(f"Marking what is known of {len(rows)} pictures, then laying them out with "
                  f"{METHODS[method].title}.")
    start = time.perf_counter()
    marks = _marks(seen, rows, answers, kept, index.classes, seed)
    timings["flags_s"] = time.perf_counter() - start
    if _stopped(stop):
        return
    start = time.perf_counter()
    vectors = seen.features[rows] if features == "backbone" else answers.features[
        [answers.row[str(seen.paths[i])] for i in rows]]
    placed = layout(vectors, method, seed, cap)
    labels, paths = seen.labels[rows][dataset_rows], [str(seen.paths[i]) for i in rows[dataset_rows]]
    facts = map_facts(placed.xy[dataset_rows], labels, index.classes, paths, METHODS[method].keeps_neighbours)
    agreement = {"map": _agreement(neighbour_agreement(placed.xy[dataset_rows], labels)),
                 "features": _agreement(neighbour_agreement(vectors[dataset_rows], labels, cosine=True))}
    timings["layout_s"] = time.perf_counter() - start
    if _stopped(stop):
        return
    points = [MapPoint(str(seen.paths[i]), seen.splits[i], cls, float(x), float(y), [f for f in FLAGS if f in flags],
                       facts_of) for i, (cls, flags, facts_of), (x, y) in zip(rows, marks, placed.xy.tolist())]
    timings["total_s"] = time.perf_counter() - began
    yield DataMap(data=str(index.root), classes=list(index.classes), method=method, features=features,
                  backbone=source.backbone, run=folder.run_id if folder is not None else None, points=points,
                  laid_out=placed.laid_out, facts=facts, agreement=agreement, timings=timings, skipped=skipped,
                  from_cache=seen.from_cache)


def load_map(data: str | Path | None, **options) -> DataMap | None:
    """The DataMap alone, progress and messages dropped (scripts and tests); None when none was made."""
    return next((item for item in build_map(data, **options) if isinstance(item, DataMap)), None)
