"""Two real runs on the same tiny dataset compared picture by picture: what B fixed and broke, checked against
each run's own predictions.csv, each class's accuracy, the settings that differ, and runs on other data refused."""
import csv
import json
import shutil
import threading

import pytest

from core.errors import DatasetError
from core.evaluation.compare import RunDiff, compare_runs, config_changes
from core.evaluation.predictions import EvaluationProgress


@pytest.fixture
def pair(frozen_run, two_stage_run, tmp_path):
    runs = tmp_path / "runs"
    return frozen_run.copy_into(runs), two_stage_run.copy_into(runs)


def _table(run_dir) -> dict[str, tuple[str, str, float]]:
    """path -> (true, predicted, confidence), as the run's evaluation wrote predictions.csv."""
    with open(run_dir / "predictions.csv", newline="") as f:
        return {row["path"]: (row["true"], row["predicted"], float(row["confidence"])) for row in csv.DictReader(f)}


def test_fixed_and_broken_pictures_follow_each_runs_own_predictions(pair):
    a, b = pair
    items = list(compare_runs(a, b))
    diff = items[-1]
    assert isinstance(diff, RunDiff) and all(isinstance(i, EvaluationProgress) for i in items[:-1])
    assert len(items) > 1, "the copies had no evaluation yet: both were computed"
    table_a, table_b = _table(a), _table(b)
    assert table_a.keys() == table_b.keys() and diff.images == len(table_a) == 20
    right_a = {p for p, (true, pred, _) in table_a.items() if pred == true}
    right_b = {p for p, (true, pred, _) in table_b.items() if pred == true}
    assert {c.path for c in diff.fixed} == right_b - right_a
    assert {c.path for c in diff.broken} == right_a - right_b
    assert diff.both_wrong == len(table_a.keys() - right_a - right_b)
    assert diff.accuracy_a == pytest.approx(len(right_a) / 20) and diff.accuracy_b == pytest.approx(len(right_b) / 20)
    for change in diff.fixed + diff.broken:
        true, predicted_a, confidence_a = table_a[change.path]
        _, predicted_b, confidence_b = table_b[change.path]
        assert (change.true, change.predicted_a, change.predicted_b) == (true, predicted_a, predicted_b)
        assert change.probability_a == pytest.approx(confidence_a, abs=1e-5)
        assert change.probability_b == pytest.approx(confidence_b, abs=1e-5)
    assert [row.name for row in diff.per_class] == diff.classes == ["circle", "square", "star", "triangle"]
    for row in diff.per_class:
        own = [p for p, (true, _, _) in table_a.items() if true == row.name]
        assert row.n == len(own) == 5
        assert row.accuracy_a == pytest.approx(len(right_a & set(own)) / 5)
        assert row.accuracy_b == pytest.approx(len(right_b & set(own)) / 5)
        assert row.change == pytest.approx(row.accuracy_b - row.accuracy_a)

    again = list(compare_runs(b, a))  # both evaluations are cached now: no progress, just the diff
    assert len(again) == 1 and (again[0].run_a, again[0].run_b) == (b.name, a.name)
    assert [c.path for c in again[0].fixed] == [c.path for c in diff.broken]
    assert [c.path for c in again[0].broken] == [c.path for c in diff.fixed]
    brief = json.loads(json.dumps(diff.brief()))
    assert brief["fixed"] == len(diff.fixed) and brief["broken_paths"] == [c.path for c in diff.broken]


def test_the_settings_that_differ_are_listed_and_where_they_were_written_is_not(pair):
    a, b = pair
    rows = {row.field: (row.value_a, row.value_b) for row in config_changes(a, b)}
    assert rows["freeze"] == ("frozen", "two_stage") and rows["image_size"] == (224, 96)
    assert rows["head"] == ("linear", "mlp")
    assert "out" not in rows and "data" not in rows and "backbone" not in rows
    assert config_changes(a, a) == []


def test_runs_on_different_data_are_refused_before_anything_is_evaluated(pair, tmp_path):
    a, b = pair
    other = tmp_path / "other"
    for edit, reason in ((lambda s: s["classes"].__setitem__(0, "oval"), "different classes"),
                         (lambda s: s["splits"]["valid"].pop(), "different valid pictures")):
        shutil.rmtree(other, ignore_errors=True)
        shutil.copytree(b, other)
        split = json.loads((other / "split.json").read_text())
        edit(split)
        (other / "split.json").write_text(json.dumps(split))
        with pytest.raises(DatasetError, match=reason):
            next(compare_runs(a, other))
    assert not (a / "evaluation.json").exists()


def test_a_stopped_comparison_yields_no_diff(pair):
    stop = threading.Event()
    stop.set()
    assert list(compare_runs(*pair, stop=stop)) == []
