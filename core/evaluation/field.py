"""How a run does in use, from the pictures it met and kept (core.runstore.kept): which to review first, how far each
is from the run's training pictures in its backbone's feature space, and the field report (accuracy on the reviewed
ones by day or week and by class, against validation, and whether recent pictures look unlike the training ones)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from core.data.transforms import eval_transform
from core.errors import CheckpointError, DatasetError
from core.evaluation.feature_map import unit_rows
from core.evaluation.metrics import evaluation_of
from core.inference.predict import load_predictor
from core.models.backbones import get_backbone
from core.models.encoders import FrozenEncoder, frozen_encoder
from core.runstore.folder import RunFolder
from core.system import resolve_device
from core.training.feature_store import FeatureStore
from core.training.features import DECODER_VERSION, FeatureSet, View, encode

if TYPE_CHECKING:
    from core.runstore.kept import KeptPicture

BLOCK = 1024  # pictures compared with every training picture at a time
RECENT_AT_LEAST = 10  # fewer recent pictures than this never say "unlike"
NOT_SURE_GAP = 0.15  # recent "not sure" rate this far above validation's (or 2 standard errors, if more) is unlike
FAR_QUANTILE = 0.9  # recent pictures are far when their median distance passes this quantile of validation's


def review_order(pictures: list[KeptPicture], distances: dict[str, float] | None = None) -> list[KeptPicture]:
    """The pictures in the order to review them: unreviewed first, every "not sure" one before the sure ones, then
    the smallest margin between the top two classes, then the farthest from the training pictures (`distances`,
    larger = farther; a picture without one counts as near); the reviewed ones last, newest first."""
    distances = distances or {}
    waiting = sorted((p for p in pictures if p.verdict is None),
                     key=lambda p: (not p.not_sure, p.margin, -distances.get(p.id, 0.0), p.time, p.id))
    reviewed = sorted((p for p in pictures if p.verdict is not None), key=lambda p: (p.time, p.id), reverse=True)
    return waiting + reviewed


@dataclass
class _Distances:
    """Cosine distances to the nearest training picture: of each picture (by id) that decoded, and of the run's
    validation pictures."""

    pictures: dict[str, float]
    valid: np.ndarray


def run_encoder(run: RunFolder) -> tuple[FrozenEncoder, View]:
    """The run's backbone as a frozen encoder and its plain view. A frozen run's backbone is the pretrained one, with
    the key (so the cached features) of its training; a trained backbone's features are keyed to its checkpoint."""
    predictor = load_predictor(run.path, engine="pytorch")
    meta = predictor.meta
    spec = get_backbone(meta.backbone)
    plain = eval_transform(meta.image_size, spec.mean, spec.std)  # as training encodes: the registry's mean and std
    preprocess, device = f"{DECODER_VERSION}|{plain!r}", resolve_device("auto")
    if meta.frozen:
        return frozen_encoder(spec, predictor.model.backbone, meta.image_size, preprocess, device), View("plain", plain)
    # PyTorch only: an ONNX export is cached under the pretrained backbone's name, which these weights are not
    encoder = frozen_encoder(spec, predictor.model.backbone, meta.image_size, preprocess, device, engine="pytorch")
    return replace(encoder, key=f"{encoder.key}|trained:{run.run_id}:{run.checkpoint_stamp()}"), View("plain", plain)


def _nearest(queries: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Each query row's cosine distance to its nearest row of `base` (NaN when `base` is empty)."""
    if not len(base):
        return np.full(len(queries), np.nan, dtype=np.float32)
    zq, zb = unit_rows(queries), unit_rows(base)
    parts = [1.0 - (zq[i:i + BLOCK] @ zb.T).max(axis=1) for i in range(0, len(zq), BLOCK)]
    return np.clip(np.concatenate(parts), 0.0, 2.0) if parts else np.zeros(0, dtype=np.float32)


def _distances(run_dir: str | Path, pictures: list[KeptPicture], valid: bool) -> _Distances:
    """One pass of the run's training (and, with `valid`, validation) pictures and the kept pictures through the
    run's backbone, the training ones from the feature cache where they are in it."""
    run = RunFolder(run_dir)
    splits = run.dataset_index().splits
    train, valid_items = list(splits.get("train", [])), list(splits.get("valid", []) if valid else [])
    encoder, view = run_encoder(run)
    entries = [(Path(p), y, view) for p, y in train + valid_items] + [(Path(k.path), -1, view) for k in pictures]
    found = [x for x in encode(encoder, entries, FeatureStore()) if isinstance(x, FeatureSet)]
    if not found:
        return _Distances({}, np.zeros(0, dtype=np.float32))
    positions, features = found[0].positions.numpy(), found[0].features.numpy().astype(np.float32)
    first_valid, first_picture = len(train), len(train) + len(valid_items)
    base = features[positions < first_valid]
    in_valid = (positions >= first_valid) & (positions < first_picture)
    in_pictures = positions >= first_picture
    near = _nearest(features[in_pictures], base)
    ids = [pictures[i - first_picture].id for i in positions[in_pictures]]
    return _Distances({i: float(d) for i, d in zip(ids, near)}, _nearest(features[in_valid], base))


def feature_distances(run_dir: str | Path, pictures: list[KeptPicture]) -> dict[str, float]:
    """Each picture's cosine distance, in the run's backbone feature space, to its nearest training picture of the
    run, by picture id (a picture whose file no longer decodes has none). The training pictures' features come from
    the cache a frozen run filled; the kept pictures go through the backbone in batches, once."""
    if not pictures:
        return {}
    return _distances(run_dir, pictures, valid=False).pictures


@dataclass
class FieldReport:
    """How the run does on the pictures it met in use, beside how it did on its validation pictures."""

    run: str
    pictures: int  # kept pictures of this run
    reviewed: int  # with a verdict: right, labelled or unknown
    right: int  # said right, or labelled with the class the run gave
    wrong: int  # labelled with another class
    unknown: int  # none of the run's classes (counted wrong, and here)
    accuracy: float | None  # right / reviewed
    by_period: list[tuple[str, int, int]]  # (day "2025-01-31" or week "2025-W05", right, reviewed), oldest first
    by_class: dict[str, tuple[int, int]]  # true class: (right, reviewed); unknown pictures have none
    validation_accuracy: float | None
    recent: int  # how many of the newest pictures the recent figures are of
    recent_not_sure_rate: float | None
    validation_not_sure_rate: float | None
    recent_distance: float | None  # median distance of the recent pictures to their nearest training picture
    validation_distance: float | None  # the FAR_QUANTILE quantile of the validation pictures' distances
    unlike: bool  # the recent pictures look unlike what the run trained on
    unlike_because: list[str] = field(default_factory=list)  # "not_sure", "distance"

    def to_dict(self) -> dict:
        """JSON-ready."""
        return asdict(self)


# A verdict's outcome for a picture: right, wrong or unknown (labelled with the run's own answer is right).
OUTCOMES: dict[str, Callable[[KeptPicture], str]] = {
    "right": lambda p: "right",
    "labelled": lambda p: "right" if p.truth == p.predicted else "wrong",
    "unknown": lambda p: "unknown",
}


def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")


def _week(when: datetime) -> str:
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


PERIODS: dict[str, Callable[[datetime], str]] = {"day": _day, "week": _week}


def _validation(run_dir: Path) -> tuple[float | None, float | None]:
    """(accuracy, "not sure" rate) of the run on its validation pictures (its cached evaluation, else computed)."""
    try:
        evaluation = evaluation_of(run_dir, "valid")
    except (DatasetError, CheckpointError, OSError):
        evaluation = None
    if evaluation is None or not len(evaluation.predictions.labels):
        summary = RunFolder(run_dir).read_summary().get("best_valid_acc")
        return (float(summary) if isinstance(summary, (int, float)) else None), None
    labels = evaluation.predictions.labels
    accuracy = float((evaluation.predicted == labels).mean())
    return accuracy, float((evaluation.probs.max(axis=1) < evaluation.calibration.threshold).mean())


def _tally(outcomes: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """(right, reviewed) per key of (key, outcome) pairs, keys in sorted order."""
    table: dict[str, list[int]] = {}
    for key, outcome in outcomes:
        counts = table.setdefault(key, [0, 0])
        counts[0] += outcome == "right"
        counts[1] += 1
    return {key: (right, seen) for key, (right, seen) in sorted(table.items())}


def _unlike(not_sure: tuple[float | None, float | None], distance: tuple[float | None, float | None],
            recent: int) -> list[str]:
    """Why the recent pictures look unlike the training ones: a "not sure" rate clearly above validation's, and/or
    most of them farther from the training pictures than nearly every validation picture is."""
    if recent < RECENT_AT_LEAST:
        return []
    because = []
    (field_rate, valid_rate), (field_far, valid_far) = not_sure, distance
    if field_rate is not None and valid_rate is not None:
        gap = max(NOT_SURE_GAP, 2 * math.sqrt(valid_rate * (1 - valid_rate) / recent))
        if field_rate >= valid_rate + gap:
            because.append("not_sure")
    if field_far is not None and valid_far is not None and field_far > valid_far:
        because.append("distance")
    return because


def field_report(pictures: list[KeptPicture], run_dir: str | Path, period: str = "day", recent: int = 50,
                 distances: bool = True) -> FieldReport:
    """The field report of the run from its kept pictures (those of other runs are left out). With `distances`,
    the `recent` newest pictures and the validation pictures go through the run's backbone (cached) for
    "unlike"; without, only the "not sure" rates decide it."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    run_dir = Path(run_dir)
    mine = sorted((p for p in pictures if p.run == run_dir.name), key=lambda p: (p.time, p.id))
    judged = [(p, OUTCOMES[p.verdict](p)) for p in mine if p.verdict in OUTCOMES]
    count = {name: sum(outcome == name for _, outcome in judged) for name in ("right", "wrong", "unknown")}
    by_period = _tally([(PERIODS[period](datetime.fromisoformat(p.time)), outcome) for p, outcome in judged])
    by_class = _tally([(p.truth or p.predicted, outcome) for p, outcome in judged if outcome != "unknown"])
    valid_accuracy, valid_not_sure = _validation(run_dir)
    newest = mine[-recent:] if recent > 0 else []
    field_not_sure = sum(p.not_sure for p in newest) / len(newest) if newest else None
    far = (None, None)
    if distances and newest:
        found = _distances(run_dir, newest, valid=True)
        near = list(found.pictures.values())
        valid_far = found.valid[~np.isnan(found.valid)]
        far = (float(np.median(near)) if near else None,
               float(np.quantile(valid_far, FAR_QUANTILE)) if len(valid_far) else None)
    because = _unlike((field_not_sure, valid_not_sure), far, len(newest))
    return FieldReport(
        run=run_dir.name, pictures=len(mine), reviewed=len(judged), right=count["right"], wrong=count["wrong"],
        unknown=count["unknown"], accuracy=count["right"] / len(judged) if judged else None,
        by_period=[(key, right, seen) for key, (right, seen) in by_period.items()], by_class=by_class,
        validation_accuracy=valid_accuracy, recent=len(newest), recent_not_sure_rate=field_not_sure,
        validation_not_sure_rate=valid_not_sure, recent_distance=far[0], validation_distance=far[1],
        unlike=bool(because), unlike_because=because,
    )
