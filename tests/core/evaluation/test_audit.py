"""The data audit on a generated set with planted problems: 5 % of the labels flipped (moved into another class's
folder), one picture copied at another size, a photograph of something else among the shapes, and one class made
deliberately small. Real pictures, the real backbone, cleanlab and scikit-learn: nothing is mocked."""
import json
import threading

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.data.demo import make_shapes_dataset
from core.evaluation.audit import Audit, audit_dataset
from core.evaluation.feature_map import (
    duplicate_pairs,
    group_duplicates,
    neighbour_scan,
)
from core.evaluation.more_pictures import ClassCurve, advice_sentence, advise, fit_curve

SMALL_CLASS, SMALL_COUNT = "star", 8


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """(dataset folder, {flipped path: its true class}, (original, copy), outlier path)."""
    root = make_shapes_dataset(tmp_path_factory.mktemp("audit") / "shapes", 40, 10, 96)
    for extra in sorted((root / "train" / SMALL_CLASS).iterdir())[SMALL_COUNT:]:
        extra.unlink()
    original = root / "train" / "circle" / "circle_003.jpg"
    copy = root / "train" / "circle" / "circle_copy.jpg"
    Image.open(original).resize((128, 128), Image.BICUBIC).save(copy, quality=92)
    from skimage import data

    outlier = root / "train" / "square" / "astronaut.jpg"
    Image.fromarray(data.astronaut()).resize((96, 96), Image.LANCZOS).save(outlier, quality=92)
    pictures = sorted(p for p in root.rglob("*.jpg") if p not in (original, copy, outlier))
    rng = np.random.default_rng(7)
    flipped = {}
    for path in rng.choice(pictures, round(0.05 * len(pictures)), replace=False):
        true = path.parent.name
        others = sorted(c.name for c in path.parent.parent.iterdir() if c.name != true)
        moved = path.parent.parent / str(rng.choice(others)) / path.name
        path.rename(moved)
        flipped[str(moved)] = true
    return root, flipped, (original, copy), outlier


@pytest.fixture(scope="module")
def audit(planted) -> Audit:
    items = list(audit_dataset(planted[0], top=40))
    assert isinstance(items[-1], Audit) and not any(isinstance(i, Audit) for i in items[:-1])
    return items[-1]


def test_flipped_labels_rank_among_the_top_suspects_with_their_true_class_suggested(planted, audit):
    _, flipped, _, _ = planted
    k = len(flipped)
    top = audit.suspects[:k]
    found = [s for s in top if s.path in flipped]
    recall = len(found) / k
    print(f"recall at {k} planted flips: {recall:.2f}")
    assert recall >= 0.6, [(s.path, s.given, s.suggested) for s in top]
    assert sum(s.suggested == flipped[s.path] for s in found) >= 0.8 * len(found)
    assert [s.rank for s in audit.suspects] == list(range(1, len(audit.suspects) + 1))
    assert all(s.probability > s.given_probability for s in found)
    assert audit.label_issues >= len(found)


def test_a_resized_copy_is_grouped_and_the_photograph_is_an_outlier(planted, audit):
    _, _, (original, copy), outlier = planted
    groups = [set(g.paths) for g in audit.near_duplicates]
    assert {str(original), str(copy)} in groups
    assert not any(str(outlier) in g for g in groups)
    assert str(outlier) in [o.path for o in audit.outliers[:3]]
    assert str(copy) not in [o.path for o in audit.outliers]


def test_the_deliberately_small_class_is_named_first(audit):
    curves = {c.name: c for c in audit.curves}
    small = curves[SMALL_CLASS]
    assert small.train_count < SMALL_COUNT + 3 and small.more and not small.enough
    assert [n for n, _ in small.points] == sorted(n for n, _ in small.points)
    assert small.fitted and small.fitted[-1][0] > small.train_count  # extrapolated past today's count
    assert audit.advice.split(" more pictures of ")[1].startswith(f"{SMALL_CLASS} would help most"), audit.advice
    assert max(audit.curves, key=lambda c: c.gain_if_doubled or 0).name == SMALL_CLASS


def test_the_audit_is_json_ready_and_timed(planted, audit):
    saved = json.loads(json.dumps(audit.to_dict()))
    assert saved["pictures"] == sum(1 for _ in planted[0].rglob("*.jpg"))
    assert saved["suspects"][0]["path"] == audit.suspects[0].path and "suggested" in saved["suspects"][0]
    assert {"features_s", "labels_s", "curves_s", "total_s"} <= saved["timings"].keys()
    assert saved["curves"][0]["points"] and isinstance(saved["curves"][0]["points"][0], list)


def test_a_second_audit_reads_every_feature_from_the_cache_and_a_stop_ends_it(planted, audit):
    stop = threading.Event()
    stop.set()
    assert not any(isinstance(i, Audit) for i in audit_dataset(planted[0], stop=stop))
    again = next(i for i in audit_dataset(planted[0], top=5) if isinstance(i, Audit))
    assert again.from_cache == again.pictures and len(again.suspects) <= 5
    assert [s.path for s in again.suspects] == [s.path for s in audit.suspects[:len(again.suspects)]]


def test_cli_prints_the_audit_as_json(planted, audit, capsys):
    assert main(["audit", "--data", str(planted[0]), "--top", "3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed["suspects"]) <= 3 and printed["suspects"][0]["path"] == audit.suspects[0].path
    assert printed["advice"] == audit.advice


def test_cli_refuses_a_folder_that_is_not_a_dataset(tmp_path, capsys):
    assert main(["audit", "--data", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_near_duplicates_stand_out_from_their_own_neighbourhood():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 64)).astype(np.float32)
    features = np.vstack([base, base[5] + 0.01 * rng.normal(size=64)])  # row 40: nearly row 5
    labels = np.zeros(41, dtype=int)
    _, kth, pairs = neighbour_scan(features, floor=0.5)
    groups = group_duplicates(duplicate_pairs(pairs, kth), labels, [f"p{i}" for i in range(41)], ["train"] * 41, ["a"])
    assert [g.paths for g in groups] == [["p5", "p40"]]


def test_a_flat_curve_has_enough_and_a_climbing_one_asks_for_more():
    flat = advise(ClassCurve("brick", 40, 10, [(10, 1.0), (20, 1.0), (30, 1.0), (40, 1.0)]),
                  fit_curve([(10, 1.0), (20, 1.0), (30, 1.0), (40, 1.0)]))
    points = [(5, 0.4), (10, 0.55), (15, 0.63), (20, 0.68)]
    climbing = advise(ClassCurve("gravel", 20, 10, points), fit_curve(points))
    assert flat.enough and flat.more is None
    assert not climbing.enough and climbing.more >= 5 and climbing.gain_if_doubled > 0.05
    assert advice_sentence([flat, climbing]).endswith("gravel would help most. There are enough pictures of brick.")


def test_a_class_never_recognised_is_not_said_to_have_enough():
    never = [(5, 0.0), (10, 0.0), (15, 0.0), (20, 0.0)]
    curve = advise(ClassCurve("rare", 20, 10, never), fit_curve(never))
    assert not curve.enough and advice_sentence([curve]) == "Too few measurements to tell for rare."


def test_a_class_with_a_single_picture_is_said_not_raised(tmp_path):
    root = make_shapes_dataset(tmp_path / "lone", train_per_class=6, valid_per_class=2, size=64)
    for extra in [*(root / "train" / "star").iterdir(), *(root / "valid" / "star").iterdir()][1:]:
        extra.unlink()
    said = [item for item in audit_dataset(root, cache_dir=tmp_path / "cache") if not isinstance(item, Audit)]
    assert "star has a single readable picture" in said[-1].text
