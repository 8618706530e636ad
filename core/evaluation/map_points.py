"""What the dataset map knows of each picture: which pictures it holds (the dataset's train, valid and test ones, and
the pictures kept from use by runs trained on it), the audit's flags on the backbone features, and a chosen run's own
features and calibrated answers (one pass through its model; its backbone output, the layer before the head, is
cached like a frozen run's features)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from core.calibration import softmax
from core.data.scan import DatasetIndex
from core.errors import DatasetError
from core.evaluation.feature_map import duplicate_pairs, find_outliers, group_duplicates, neighbour_scan
from core.evaluation.field import run_encoder
from core.evaluation.labels import compact, find_suspects, out_of_sample_probabilities
from core.evaluation.map_facts import KEPT_SPLIT, MAP_SPLITS, NO_CLASS
from core.events import Event, relay
from core.inference.predict import load_predictor
from core.runstore.folder import RunFolder
from core.runstore.kept import KeptPicture, KeptStore
from core.training.feature_store import FeatureStore
from core.training.features import FeatureSet, encode

# A class with a single readable picture: likely mislabelled pictures are not looked for (one class, several).
NOT_MARKED = {
    True: "{names} has a single readable picture, so likely mislabelled pictures are not marked (add pictures, or "
          "remove that class folder).",
    False: "{names} have a single readable picture, so likely mislabelled pictures are not marked (add pictures, or "
           "remove that class folder).",
}


def trained_on(run: RunFolder, root: Path) -> bool:
    """Whether a run was trained on the dataset at `root`: its config names that folder (or its split record does)."""
    data = run.read_config().get("data")
    if isinstance(data, str) and data and Path(data).expanduser().resolve() == root:
        return True
    try:
        return Path(run.read_split_record()["root"]).resolve() == root
    except (DatasetError, KeyError, TypeError, OSError):
        return False


def kept_pictures(kept_dir: str | Path | None, root: Path) -> list[KeptPicture]:
    """The pictures kept from use (oldest first) that runs trained on the dataset at `root` answered, less those
    filed into it (their copy in the dataset is on the map already)."""
    if kept_dir is None:
        return []
    pictures = [p for p in KeptStore(kept_dir).list()
                if p.change_id is None or not p.dataset or Path(p.dataset).expanduser().resolve() != root]
    runs = Path(kept_dir).parent  # the kept folder lives in the runs folder, beside the runs
    ours = {run_id: trained_on(RunFolder(runs / run_id), root) for run_id in {p.run for p in pictures}}
    return [p for p in pictures if ours[p.run]]


def kept_class(picture: KeptPicture) -> str:
    """A kept picture's class: the one the owner said it is, else "" (not known: the run's answer is only a guess,
    and "none of these" is no class)."""
    return picture.truth or ""


def with_kept(index: DatasetIndex, kept: list[KeptPicture]) -> DatasetIndex:
    """A copy of the index holding the map's splits and the kept pictures as one more split."""
    splits = {split: list(index.splits.get(split, [])) for split in MAP_SPLITS}
    splits[KEPT_SPLIT] = [(Path(p.path).absolute(), index.classes.index(kept_class(p))
                           if kept_class(p) in index.classes else NO_CLASS) for p in kept]
    return replace(index, splits=splits)


@dataclass
class RunPass:
    """A run's own features (its backbone's output) and calibrated class probabilities of the pictures that decoded."""

    run_id: str
    classes: list[str]
    paths: list[str]
    features: np.ndarray
    probs: np.ndarray
    threshold: float | None  # below this top probability the run is "not sure"; None: never fitted
    skipped: list[tuple[str, str]]
    row: dict[str, int] = field(init=False)  # row number by path

    def __post_init__(self) -> None:
        self.row = {path: i for i, path in enumerate(self.paths)}


def run_pass(run_dir: str | Path, paths: list[Path], cache_dir: str | Path | None = None,
             stop=None) -> Iterator[Event | RunPass]:
    """Progress, then the RunPass of the pictures: each through the run's backbone once (from the cache when it was
    before), then its head on those features; nothing once stopped."""
    folder = RunFolder(run_dir)
    predictor = load_predictor(folder.path, engine="pytorch")  # the head and the calibration
    encoder, view = run_encoder(folder)
    entries = [(Path(path), NO_CLASS, view) for path in paths]
    found = yield from relay(encode(encoder, entries, FeatureStore(cache_dir), 0, stop), FeatureSet)
    if found is None or (stop is not None and stop.is_set()):
        return
    features = found.features.float()
    with torch.inference_mode():
        logits = predictor.model.head(features).float().numpy() if len(features) else np.zeros((0, 1), np.float32)
    yield RunPass(folder.run_id, list(predictor.classes), [str(paths[i]) for i in found.positions.tolist()],
                  features.numpy().astype(np.float32), softmax(logits, predictor.temperature), predictor.threshold,
                  list(found.skipped))


def suspects_refused(labels: np.ndarray, classes: list[str]) -> str | None:
    """Why likely mislabelled pictures cannot be looked for (a class with a single picture, one class), else None."""
    counts = np.bincount(labels, minlength=len(classes))
    single = [classes[c] for c in np.flatnonzero(counts == 1)]
    if single:  # each picture is judged by a probe trained on the others: a lone picture has no class mate
        return NOT_MARKED[len(single) == 1].format(names=", ".join(single))
    if (counts > 0).sum() < 2:
        return "Only one class has readable pictures, so likely mislabelled pictures are not marked."
    return None


def audit_flags(features: np.ndarray, labels: np.ndarray, paths: list[str], splits: list[str], classes: list[str],
                seed: int = 0) -> list[dict[str, dict]]:
    """Per row, {flag: its facts} for "suspect", "outlier" and "duplicate": the audit's findings on these features,
    every flagged picture (not only the audit's top ones)."""
    found: list[dict[str, dict]] = [{} for _ in paths]
    row = {path: i for i, path in enumerate(paths)}
    everything = len(paths)
    if suspects_refused(labels, classes) is None:
        probs = out_of_sample_probabilities(compact(features, seed=seed), labels, len(classes), seed=seed)
        for suspect in find_suspects(probs, labels, paths, splits, classes, top=everything)[0]:
            found[row[suspect.path]]["suspect"] = {"suggested": suspect.suggested, "probability": suspect.probability}
    knn, kth, pairs = neighbour_scan(features)
    for outlier in find_outliers(features, labels, paths, splits, classes, knn, top=everything):
        found[row[outlier.path]]["outlier"] = {"nearest_class": outlier.nearest_class}
    groups = group_duplicates(duplicate_pairs(pairs, kth), labels, paths, splits, classes)
    for number, group in enumerate(groups, start=1):
        for path in group.paths:
            found[row[path]]["duplicate"] = {"group": number}
    return found


def answer_marks(answers: RunPass, path: str, split: str, label: int) -> tuple[list[str], dict]:
    """A picture's flags and facts from the run's answer: "predicted" and "confidence"; for a validation picture also
    "mistake" (the answer is not its class) and "not_sure" (the top probability is below the run's threshold)."""
    i = answers.row.get(path)
    if i is None:
        return [], {}
    top = int(answers.probs[i].argmax())
    confidence = float(answers.probs[i, top])
    flags = []
    if split == "valid":
        flags += ["mistake"] if top != label else []
        flags += ["not_sure"] if answers.threshold is not None and confidence < answers.threshold else []
    return flags, {"predicted": answers.classes[top], "confidence": round(confidence, 4)}
