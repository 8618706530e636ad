"""Shortcut check: can the class be guessed from trivial properties of the files (size, format, JPEG quality,
brightness, colour, sharpness, camera) alone? If so, a model may learn those instead of what the pictures show."""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.images import MAX_PIXELS
from core.data.scan import DatasetIndex
from core.system import cpu_threads

THUMB_SIDE = 96  # colour and sharpness are read on a thumbnail of this size (JPEGs drafted, never fully decoded)
MIN_ACCURACY, MARGIN = 0.6, 0.25  # warn when the properties guess >= 60 % right and >= chance + 25 points ...
TOLD_APART, MIN_PICTURES = 0.8, 8  # ... or recognise one class (>= 8 pictures) with precision and recall >= 0.8
GIVEAWAY_SHARE, MAX_NAMED = 0.5, 3  # name the properties that alone give at least half the lift over chance
EXAMPLES = 3
EXIF_MODEL = 272
IJG_LUMA = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                     14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99])
BORDER = 0.15  # the share of each side read for light and colour: the setting, not the subject


@dataclass(frozen=True)
class Property:
    """How a property is shown: its name in words, numeric or categorical, and a phrase for a value."""

    label: str
    numeric: bool
    phrase: Callable[[str], str]
    decimals: int = 0


PROPERTIES: dict[str, Property] = {
    "width": Property("image width", True, lambda v: f"{v} px wide"),
    "height": Property("image height", True, lambda v: f"{v} px high"),
    "aspect": Property("aspect ratio", True, lambda v: f"at an aspect ratio (width / height) of {v}", 2),
    "format": Property("file format", False, lambda v: f"saved as {v}"),
    "jpeg_quality": Property("JPEG quality", True, lambda v: f"saved at JPEG quality {v}"),
    "brightness": Property("brightness", True, lambda v: f"at a brightness of {v} (of 255)"),
    "red_green": Property("colour balance (red against green)", True, lambda v: f"at red minus green {v}"),
    "blue_green": Property("colour balance (blue against green)", True, lambda v: f"at blue minus green {v}"),
    "sharpness": Property("sharpness (blur)", True, lambda v: f"at a sharpness of {v}"),
    "camera": Property("camera model", False, lambda v: "without a camera model" if v == "none" else f"taken with {v}"),
}


@dataclass
class PropertyScore:
    """One property alone: cross-validated accuracy, F1 of the classes told apart, and each class's values."""

    name: str
    label: str
    accuracy: float
    flagged_f1: float
    per_class: dict[str, str] = field(default_factory=dict)


@dataclass
class ShortcutReport:
    """The check's answer: a warning in words (or None), the ranked properties and example pictures."""

    warning: str | None
    accuracy: float
    chance: float
    properties: list[PropertyScore]
    told_apart: list[str]
    examples: dict[str, list[str]]
    pictures: int
    unreadable: int
    seconds: float
    note: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready (paths as strings)."""
        return asdict(self)


def jpeg_quality(quantization: dict | None) -> int | None:
    """The IJG quality (1-100) whose scaled luminance table is closest to the file's, by table sum (any order)."""
    if not quantization or 0 not in quantization:
        return None
    total = float(np.sum(np.asarray(quantization[0], dtype=np.float64)))
    qualities = np.arange(1, 101)
    scales = np.where(qualities < 50, 5000 / qualities, 200 - 2 * qualities)
    tables = np.clip(np.floor((IJG_LUMA[None] * scales[:, None] + 50) / 100), 1, 255)
    return int(qualities[np.argmin(np.abs(tables.sum(1) - total))])


def picture_properties(path: str | Path) -> dict | None:
    """Trivial properties of one picture read cheaply (header, then a drafted thumbnail); None when unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                width, height = img.size
                if width * height > MAX_PIXELS or min(width, height) < 1:
                    return None
                fmt = img.format or Path(path).suffix.lstrip(".").upper()
                quality = jpeg_quality(getattr(img, "quantization", None)) if fmt == "JPEG" else None
                camera = str(img.getexif().get(EXIF_MODEL, "")).strip("\0 ") or "none"
                if fmt == "JPEG":
                    img.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
                img.thumbnail((THUMB_SIDE, THUMB_SIDE))
                rgb = np.asarray(img.convert("RGB"), dtype=np.float64)
    except Exception:  # noqa: BLE001 - any unreadable file is left out; the health check says why
        return None
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    laplacian = 4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    # Light and colour are read on the picture's border, where the setting is (kitchen, balcony), not the subject
    # (ripe or unripe fruit is the class itself and must not count as a shortcut).
    ring = _border(rgb)
    means, ring_grey = ring.mean(0), ring @ np.array([0.299, 0.587, 0.114])
    return {"width": width, "height": height, "aspect": width / height, "format": fmt,
            "jpeg_quality": quality, "brightness": float(ring_grey.mean()), "red_green": float(means[0] - means[1]),
            "blue_green": float(means[2] - means[1]), "sharpness": float(laplacian.var()) if laplacian.size else 0.0,
            "camera": camera}


def _border(rgb: np.ndarray, share: float = BORDER) -> np.ndarray:
    """The pixels (n, 3) of the outer `share` of the picture on every side (all of it when it is tiny)."""
    h, w = rgb.shape[:2]
    dy, dx = max(1, round(share * h)), max(1, round(share * w))
    if 2 * dy >= h or 2 * dx >= w:
        return rgb.reshape(-1, 3)
    inner = np.ones((h, w), dtype=bool)
    inner[:dy], inner[-dy:], inner[:, :dx], inner[:, -dx:] = False, False, False, False
    return rgb[~inner]


def _columns(rows: list[dict], name: str) -> np.ndarray:
    """The feature columns of one property: the value (missing as -1) or one column per category."""
    values = [row[name] for row in rows]
    if PROPERTIES[name].numeric:
        return np.array([[-1.0 if v is None else float(v)] for v in values])
    categories = sorted(set(values))
    return np.array([[float(v == c) for c in categories] for v in values])


def _cv_predict(model, features: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if np.ptp(features, axis=0).max(initial=0) == 0:  # a constant property tells nothing: the majority guess
        return np.full_like(labels, np.bincount(labels).argmax())
    return cross_val_predict(model, features, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed))


def _describe(name: str, values: list) -> str:
    """'all 160 px wide', 'mostly 150–170 px wide', '80 % saved as PNG'."""
    prop = PROPERTIES[name]
    if not prop.numeric:
        common = max(set(values), key=values.count)
        share = values.count(common) / len(values)
        return f"all {prop.phrase(common)}" if share == 1 else f"{share:.0%} {prop.phrase(common)}".replace("%", " %")
    numbers = np.array([v for v in values if v is not None], dtype=np.float64)
    if not numbers.size:
        return "none " + prop.phrase("given")
    text = f"{{:.{prop.decimals}f}}".format
    low, high = text(np.percentile(numbers, 10)), text(np.percentile(numbers, 90))
    if numbers.min() == numbers.max():
        return "all " + prop.phrase(text(numbers[0]))
    return "mostly " + prop.phrase(low if low == high else f"{low}–{high}")


def _per_class(name: str, rows: list[dict], labels: np.ndarray, classes: list[str]) -> dict[str, str]:
    return {c: _describe(name, [r[name] for r, y in zip(rows, labels) if y == i]) for i, c in enumerate(classes)
            if (labels == i).any()}


def _detail(name: str, rows: list[dict], labels: np.ndarray, classes: list[str], flagged: list[int]) -> str:
    """Per-class values of the property that gives most away, in words."""
    if flagged and len(flagged) < len(classes) - 1:
        parts = [f"{classes[i]} pictures are {_describe(name, [r[name] for r, y in zip(rows, labels) if y == i])}"
                 for i in flagged[:MAX_NAMED]]
        rest = [r[name] for r, y in zip(rows, labels) if y not in flagged]
        return ", ".join(parts) + f", the others {_describe(name, rest)}"
    shown = flagged[:MAX_NAMED] if flagged else list(range(len(classes)))[:4]
    return "; ".join(f"{classes[i]} pictures are {_per_class(name, rows, labels, classes)[classes[i]]}"
                     for i in shown)


def _examples(paths: list[Path], labels: np.ndarray, right: np.ndarray, classes: list[str]) -> dict[str, list[str]]:
    """A few pictures per class that the giveaway property guesses right (they show the shortcut)."""
    found = {}
    for i, c in enumerate(classes):
        picks = [p for p, y, ok in zip(paths, labels, right) if y == i and ok] or [p for p, y in zip(paths, labels) if y == i]
        found[c] = [str(p) for p in picks[:EXAMPLES]]
    return found


def check_shortcuts(index: DatasetIndex, folds: int = 5, seed: int = 0) -> ShortcutReport:
    """Fit small tree models on trivial properties alone (stratified cross-validation on train + valid) and warn
    when they guess the class clearly better than chance, naming the properties that give it away."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import precision_recall_fscore_support
    from sklearn.tree import DecisionTreeClassifier

    started = time.perf_counter()
    items = [(Path(p), y) for split in ("train", "valid") for p, y in index.splits.get(split, [])]
    with ThreadPoolExecutor(max(1, min(8, cpu_threads()))) as pool:
        read = list(pool.map(picture_properties, [p for p, _ in items]))
    kept = [(p, y, r) for (p, y), r in zip(items, read) if r is not None]
    counts = np.bincount([y for _, y, _ in kept], minlength=len(index.classes))
    kept = [k for k in kept if counts[k[1]] >= 2]  # a class needs two pictures to be cross-validated
    present = sorted({y for _, y, _ in kept})
    classes = [index.classes[i] for i in present]
    paths, rows = [p for p, _, _ in kept], [r for _, _, r in kept]
    labels = np.array([present.index(y) for _, y, _ in kept], dtype=np.int64)
    base = {"pictures": len(kept), "unreadable": len(items) - sum(r is not None for r in read)}
    if len(classes) < 2:
        return ShortcutReport(None, 0.0, 1.0, [], [], {}, **base, seconds=time.perf_counter() - started,
                              note="fewer than two classes with two readable pictures each; nothing to compare")
    folds = int(min(folds, np.bincount(labels).min()))
    chance = float(np.bincount(labels).max() / len(labels))
    columns = {name: _columns(rows, name) for name in PROPERTIES}
    forest = RandomForestClassifier(n_estimators=40, max_depth=6, min_samples_leaf=2, random_state=seed, n_jobs=1)
    predicted = _cv_predict(forest, np.hstack(list(columns.values())), labels, folds, seed)
    accuracy = float((predicted == labels).mean())
    precision, recall, _, _ = precision_recall_fscore_support(labels, predicted, labels=range(len(classes)),
                                                              zero_division=0)
    sizes = np.bincount(labels)
    flagged = [i for i in range(len(classes))
               if precision[i] >= TOLD_APART and recall[i] >= TOLD_APART and sizes[i] >= MIN_PICTURES]
    overall = accuracy >= max(MIN_ACCURACY, chance + MARGIN)
    singles, right = [], {}
    for name, features in columns.items():
        guess = _cv_predict(DecisionTreeClassifier(max_depth=3, random_state=seed), features, labels, folds, seed)
        f1 = precision_recall_fscore_support(labels, guess, labels=range(len(classes)), zero_division=0)[2]
        right[name] = guess == labels
        singles.append(PropertyScore(name, PROPERTIES[name].label, float(right[name].mean()),
                                     float(np.mean(f1[flagged])) if flagged else 0.0,
                                     _per_class(name, rows, labels, classes)))
    by_flag = bool(flagged) and not overall
    singles.sort(key=lambda s: (s.flagged_f1 if by_flag else s.accuracy, s.accuracy), reverse=True)
    report = ShortcutReport(None, accuracy, chance, singles, [classes[i] for i in flagged], {}, **base,
                            seconds=0.0)
    if overall or flagged:
        _warn(report, rows, labels, classes, flagged, by_flag, paths, right)
    report.seconds = time.perf_counter() - started
    return report


def _warn(report: ShortcutReport, rows: list[dict], labels: np.ndarray, classes: list[str], flagged: list[int],
          by_flag: bool, paths: list[Path], right: dict[str, np.ndarray]) -> None:
    """Fill in the warning sentence and the example pictures."""
    top = report.properties[0]
    if by_flag:
        shares = np.bincount(labels)[flagged] / len(labels)
        lift = lambda s: (s.flagged_f1 - shares.mean()) / max(1e-9, top.flagged_f1 - shares.mean())
    else:
        lift = lambda s: (s.accuracy - report.chance) / max(1e-9, top.accuracy - report.chance)
    named = [s for s in report.properties[:MAX_NAMED] if lift(s) >= GIVEAWAY_SHARE] or report.properties[:2]
    words = " and ".join([", ".join(s.label for s in named[:-1]), named[-1].label] if len(named) > 1 else [named[0].label])
    detail = _detail(top.name, rows, labels, classes, flagged if by_flag else [])
    if by_flag:
        which = " and ".join(classes[i] for i in flagged[:MAX_NAMED])
        head = f"{which} pictures can be told apart from the others by {words} alone (at least " \
               f"{TOLD_APART:.0%} of them recognised, few others mistaken for them)".replace("%", " %")
    else:
        head = f"The class can be guessed from {words} alone ({report.accuracy:.0%} right, against " \
               f"{report.chance:.0%} by always guessing the biggest class)".replace("%", " %")
    report.warning = f"{head}: {detail}. The model may learn that instead of what the pictures show."
    report.examples = _examples(paths, labels, right[top.name], classes)
