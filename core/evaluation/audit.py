"""The data audit: what is wrong with a dataset before a model learns it.

From one pass of the frozen pretrained backbone over the training and validation pictures (or the feature cache):
likely mislabelled pictures, outliers, near-duplicate groups, and how many more pictures each class needs; plus the
shortcut check on the pictures' trivial properties (size, format, brightness, ...), which needs no features.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.scan import DatasetIndex, scan_dataset
from core.evaluation.audit_features import IMAGE_SIZE, AuditFeatures, audit_features
from core.evaluation.feature_map import (
    DuplicateGroup,
    Outlier,
    duplicate_pairs,
    find_outliers,
    group_duplicates,
    neighbour_scan,
)
from core.evaluation.labels import (
    Suspect,
    compact,
    find_suspects,
    out_of_sample_probabilities,
)
from core.evaluation.more_pictures import ClassCurve, advice_sentence, learning_curves
from core.events import Event, Message, relay

DEFAULT_BACKBONE = "efficientnet_lite0"
# A class with a single readable picture refuses the audit: one sentence for one class, one for several.
SINGLE_PICTURE = {
    True: "{names} has a single readable picture; the audit needs at least two of every class (add pictures, or "
          "remove that class folder).",
    False: "{names} have a single readable picture; the audit needs at least two of every class (add pictures, or "
           "remove that class folder).",
}


@dataclass
class Audit:
    """Everything the audit found, in the order a person should look at it; `to_dict` is the CLI's and GUI's form."""

    data: str
    classes: list[str]
    counts: dict[str, dict[str, int]]
    backbone: str
    pictures: int
    suspects: list[Suspect]
    label_issues: int  # how many pictures confident learning flags in all (suspects holds the first of them)
    outliers: list[Outlier]
    near_duplicates: list[DuplicateGroup]
    curves: list[ClassCurve]
    advice: str
    shortcuts: dict | None = None  # the ShortcutReport's to_dict(); None when the check is not available
    shortcut_warning: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    from_cache: int = 0

    @property
    def labels_sentence(self) -> str:
        """How many pictures look mislabelled, in words."""
        if not self.label_issues:
            return f"No picture of the {self.pictures} looks mislabelled."
        share = 100 * self.label_issues / max(self.pictures, 1)
        return (f"{self.label_issues} of the {self.pictures} pictures ({share:.1f} %) look like another class "
                "than the folder they are in.")

    def to_dict(self) -> dict:
        """JSON-ready: paths as strings, numbers rounded."""
        return {
            "data": self.data, "classes": self.classes, "counts": self.counts, "backbone": self.backbone,
            "pictures": self.pictures, "labels_sentence": self.labels_sentence, "label_issues": self.label_issues,
            "suspects": [s.to_dict() for s in self.suspects],
            "outliers": [o.to_dict() for o in self.outliers],
            "near_duplicates": [g.to_dict() for g in self.near_duplicates],
            "curves": [c.to_dict() for c in self.curves], "advice": self.advice,
            "shortcuts": self.shortcuts, "shortcut_warning": self.shortcut_warning,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "skipped": [list(s) for s in self.skipped], "from_cache": self.from_cache,
        }


def shortcut_report(index: DatasetIndex) -> tuple[dict | None, str | None]:
    """The shortcut check's report and warning, or (None, None) where core.evaluation.shortcuts is not installed."""
    try:
        from core.evaluation.shortcuts import check_shortcuts
    except ImportError:
        return None, None
    report = check_shortcuts(index)
    return report.to_dict(), report.warning


def audit_features_of(index: DatasetIndex, features: AuditFeatures, top: int = 50, seed: int = 0,
                      timings: dict[str, float] | None = None) -> dict:
    """The feature-based findings (suspects, outliers, duplicates, curves) of features already read."""
    timings = {} if timings is None else timings
    start = time.perf_counter()
    reduced = compact(features.features, seed=seed)
    probs = out_of_sample_probabilities(reduced, features.labels, len(features.classes), seed=seed)
    suspects, flagged = find_suspects(probs, features.labels, features.paths, features.splits, features.classes, top)
    timings["labels_s"] = time.perf_counter() - start
    start = time.perf_counter()
    knn, kth, pairs = neighbour_scan(features.features)
    outliers = find_outliers(features.features, features.labels, features.paths, features.splits, features.classes,
                             knn, top=min(top, 20))
    groups = group_duplicates(duplicate_pairs(pairs, kth), features.labels, features.paths, features.splits,
                              features.classes)[:top]
    timings["neighbours_s"] = time.perf_counter() - start
    start = time.perf_counter()
    curves = learning_curves(reduced, features.labels, features.splits, features.classes, seed=seed)
    timings["curves_s"] = time.perf_counter() - start
    return {"suspects": suspects, "label_issues": flagged, "outliers": outliers, "near_duplicates": groups,
            "curves": curves, "advice": advice_sentence(curves)}


def audit_dataset(data: str | Path, valid_fraction: float = 0.2, seed: int = 0, backbone: str = DEFAULT_BACKBONE,
                  stop=None, cache_dir: str | Path | None = None, top: int = 50, image_size: int = IMAGE_SIZE,
                  device: str = "auto") -> Iterator[Event | Audit]:
    """Messages and FeaturesProgress, then the Audit of a dataset folder (same split as training with these
    valid_fraction and seed); nothing more once `stop` is set."""
    began = time.perf_counter()
    index = scan_dataset(data, valid_fraction, seed)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    shortcuts, warning = shortcut_report(index)
    timings["shortcuts_s"] = time.perf_counter() - start
    start = time.perf_counter()
    features = yield from relay(audit_features(index, backbone, image_size, device, stop=stop, cache_dir=cache_dir),
                                AuditFeatures)
    timings["features_s"] = time.perf_counter() - start
    if features is None or (stop is not None and stop.is_set()):
        return
    if len(features) < 4 or len(np.unique(features.labels)) < 2:
        yield Message("Too few pictures could be read to audit this dataset.", "warning")
        return
    counts = np.bincount(features.labels, minlength=len(index.classes))
    single = [index.classes[c] for c in np.flatnonzero(counts == 1)]
    if single:  # each picture is judged by a probe trained on the others: a lone picture has no class mate
        yield Message(SINGLE_PICTURE[len(single) == 1].format(names=", ".join(single)), "warning")
        return
    yield Message("Looking for likely mislabelled pictures, outliers and near-duplicates, and measuring how "
                  "recall grows with the number of pictures.")
    found = audit_features_of(index, features, top, seed, timings)
    if stop is not None and stop.is_set():
        return
    timings["total_s"] = time.perf_counter() - began
    yield Audit(data=str(index.root), classes=list(index.classes),
                counts={s: c for s, c in index.counts().items() if s in ("train", "valid")}, backbone=backbone,
                pictures=len(features), shortcuts=shortcuts, shortcut_warning=warning, timings=timings,
                skipped=features.skipped, from_cache=features.from_cache, **found)
