"""The field: review order, distances from the training pictures in the run's feature space, and the field report."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.evaluation.field import feature_distances, field_report, review_order
from core.evaluation.metrics import evaluation_of
from core.runstore.folder import KEPT, RunFolder
from core.runstore.kept import KeptPicture, KeptStore


def _picture(n: int, top, not_sure=False, verdict=None, truth=None, time="2025-03-03T10:00:00+00:00",
             run="run-a") -> KeptPicture:
    return KeptPicture(id=f"20250303-100000-{n:06d}-abcd", path=Path(f"/nowhere/{n}.jpg"), run=run, top=top,
                       not_sure=not_sure, source="predict", time=time, bytes=1000, verdict=verdict, truth=truth)


def test_review_order_not_sure_first_then_margin_then_distance_and_the_reviewed_last_newest_first():
    sure_wide = _picture(1, [("cat", 0.95), ("dog", 0.05)])
    sure_narrow = _picture(2, [("cat", 0.80), ("dog", 0.20)])
    unsure_wide = _picture(3, [("cat", 0.50), ("dog", 0.10)], not_sure=True)
    unsure_narrow = _picture(4, [("cat", 0.40), ("dog", 0.38)], not_sure=True)
    tie_near = _picture(5, [("cat", 0.90), ("dog", 0.10)])  # the same margin as tie_far: the farther goes first
    tie_far = _picture(6, [("dog", 0.90), ("cat", 0.10)])
    old_review = _picture(7, [("cat", 0.3), ("dog", 0.29)], not_sure=True, verdict="right",
                          time="2025-03-01T10:00:00+00:00")
    new_review = _picture(8, [("cat", 0.99)], verdict="unknown", time="2025-03-02T10:00:00+00:00")
    everything = [old_review, sure_wide, tie_near, new_review, unsure_wide, sure_narrow, tie_far, unsure_narrow]
    distances = {tie_near.id: 0.1, tie_far.id: 0.4, sure_wide.id: 0.9}

    order = review_order(everything, distances)

    assert order == [unsure_narrow, unsure_wide, sure_narrow, tie_far, tie_near, sure_wide, new_review, old_review]
    waiting = [p for p in order if p.verdict is None]
    last_unsure = max(i for i, p in enumerate(waiting) if p.not_sure)
    assert all(not p.not_sure for p in waiting[last_unsure + 1:]), "every not-sure picture before any sure one"
    assert review_order(everything)[3:5] == [tie_near, tie_far], "without distances a tie keeps arrival order"


def test_the_field_report_counts_verdicts_by_day_week_and_class_beside_validation(frozen_run, tmp_path):
    run_dir = frozen_run.copy_into(tmp_path)  # the report evaluates the run's validation pictures once (cached)
    run = run_dir.name
    monday, tuesday, next_week = "2025-03-03T09:00:00+00:00", "2025-03-04T23:59:00+00:00", "2025-03-10T08:00:00+00:00"
    pictures = [
        _picture(1, [("circle", 0.9)], verdict="right", time=monday, run=run),
        _picture(2, [("circle", 0.6)], verdict="labelled", truth="square", time=monday, run=run),  # wrong
        _picture(3, [("star", 0.7)], verdict="labelled", truth="star", time=tuesday, run=run),  # said its answer
        _picture(4, [("star", 0.5)], not_sure=True, verdict="unknown", time=tuesday, run=run),
        _picture(5, [("square", 0.8)], verdict="right", time=next_week, run=run),
        _picture(6, [("square", 0.4)], not_sure=True, time=next_week, run=run),  # not reviewed yet
        _picture(7, [("circle", 0.9)], verdict="labelled", truth="star", time=monday, run="another-run"),
    ]

    daily = field_report(pictures, run_dir, period="day", distances=False)
    weekly = field_report(pictures, run_dir, period="week", distances=False)

    assert (daily.pictures, daily.reviewed, daily.right, daily.wrong, daily.unknown) == (6, 5, 3, 1, 1)
    assert daily.accuracy == pytest.approx(3 / 5)
    assert daily.by_period == [("2025-03-03", 1, 2), ("2025-03-04", 1, 2), ("2025-03-10", 1, 1)]
    assert weekly.by_period == [("2025-W10", 2, 4), ("2025-W11", 1, 1)]
    assert daily.by_class == {"circle": (1, 1), "square": (1, 2), "star": (1, 1)}
    evaluation = evaluation_of(run_dir, "valid")
    assert daily.validation_accuracy == pytest.approx(float((evaluation.predicted == evaluation.predictions.labels)
                                                            .mean()))
    assert 0.0 <= daily.validation_not_sure_rate <= 1.0
    assert daily.recent == 6 and daily.recent_not_sure_rate == pytest.approx(2 / 6)
    assert not daily.unlike, "fewer than ten recent pictures never say unlike"
    assert daily.to_dict()["by_class"]["square"] == (1, 2)
    with pytest.raises(ValueError, match="period"):
        field_report(pictures, run_dir, period="month")


def _foreign_pictures(folder: Path, count: int) -> list[Path]:
    """Handwritten digits, black on white: nothing like the coloured shapes the run learned."""
    from sklearn.datasets import load_digits

    folder.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    paths = []
    for i in range(count):
        pixels = (255 - digits.images[i] * (255 / 16)).astype(np.uint8)
        paths.append(folder / f"digit-{i}.png")
        Image.fromarray(pixels).resize((112, 112), Image.NEAREST).convert("RGB").save(paths[-1])
    return paths


def _keep(store: KeptStore, run: str, paths: list[Path], not_sure: bool) -> list[KeptPicture]:
    return [store.keep(path, run, [("circle", 0.6), ("square", 0.3)], not_sure, "predict") for path in paths]


def test_distances_and_unlike_tell_pictures_like_the_training_ones_from_others(frozen_run, tmp_path):
    run_dir = frozen_run.copy_into(tmp_path / "runs")
    splits = RunFolder(run_dir).dataset_index().splits
    train, valid = splits["train"], splits["valid"]
    store = KeptStore(tmp_path / "runs" / KEPT)
    own = _keep(store, run_dir.name, [path for path, _ in train[:3]], False)
    foreign = _keep(store, run_dir.name, _foreign_pictures(tmp_path / "digits", 3), False)

    distances = feature_distances(run_dir, own + foreign)

    assert set(distances) == {p.id for p in own + foreign}
    assert max(distances[p.id] for p in own) < 0.1, "a training picture, re-encoded (JPEG), is next to itself"
    assert min(distances[p.id] for p in foreign) > 5 * max(distances[p.id] for p in own) + 0.05
    assert review_order(foreign[:1] + own[:1], distances) == [foreign[0], own[0]], "at the same margin, far first"

    like = _keep(store, run_dir.name, [path for path, _ in valid[:12]], False)
    calm = field_report(like, run_dir, recent=12)
    assert calm.recent == 12 and not calm.unlike and calm.unlike_because == []
    assert calm.recent_distance is not None and calm.recent_distance <= calm.validation_distance

    unsure = [KeptPicture(**{**p.__dict__, "not_sure": True}) for p in like]
    assert field_report(unsure, run_dir, recent=12, distances=False).unlike_because == ["not_sure"]

    far = _keep(store, run_dir.name, _foreign_pictures(tmp_path / "more-digits", 12), False)
    strange = field_report(like + far, run_dir, recent=12)
    assert strange.unlike and strange.unlike_because == ["distance"]
    assert strange.recent_distance > strange.validation_distance


def test_a_run_whose_backbone_trained_measures_in_its_own_feature_space(two_stage_run, tmp_path):
    run_dir = two_stage_run.copy_into(tmp_path / "runs")
    train = RunFolder(run_dir).dataset_index().splits["train"]
    store = KeptStore(tmp_path / "runs" / KEPT)
    own = _keep(store, run_dir.name, [train[0][0]], False)
    foreign = _keep(store, run_dir.name, _foreign_pictures(tmp_path / "digits", 1), False)

    distances = feature_distances(run_dir, own + foreign)

    assert distances[own[0].id] < 0.1 < distances[foreign[0].id]
    assert feature_distances(run_dir, []) == {}
