"""Evaluation as an object to query: scikit-learn's metrics on known predictions, the files behind each cell, and
a run evaluated on exactly the images its split.json names."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.calibration import calibrate
from core.evaluation.metrics import Evaluation, evaluate_run
from core.evaluation.predictions import EvaluationProgress, SplitPredictions

ROOT = Path(__file__).resolve().parents[3]


def _known() -> Evaluation:
    """Six images of three classes; the model gets 0->1 and 2->0 wrong."""
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    logits = np.eye(3)[predicted] * 4.0
    predictions = SplitPredictions("valid", ["a", "b", "c"], [f"img{i}.jpg" for i in range(6)], labels, logits, [])
    return Evaluation("run", predictions, calibrate(logits, labels))


def test_metrics_on_known_predictions():
    metrics = _known().metrics()
    assert metrics["accuracy"] == pytest.approx(4 / 6) and metrics["balanced_accuracy"] == pytest.approx(2 / 3)
    per = metrics["per_class"]
    assert [per[c]["recall"] for c in "abc"] == pytest.approx([0.5, 1.0, 0.5])
    assert [per[c]["precision"] for c in "abc"] == pytest.approx([0.5, 2 / 3, 1.0])
    assert [per[c]["support"] for c in "abc"] == [2, 2, 2]


def test_each_cell_holds_exactly_its_files_and_the_matrix_sums_to_the_split():
    evaluation = _known()
    matrix = evaluation.confusion()
    assert matrix.sum() == 6 and matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert [p for p, _ in evaluation.cell(0, 1)] == ["img1.jpg"]
    assert sorted(p for p, _ in evaluation.cell(1, 1)) == ["img2.jpg", "img3.jpg"]
    assert evaluation.cell(1, 0) == []
    assert {(t, p) for t, p, _ in evaluation.most_confused()} == {("a", "b"), ("c", "a")}
    assert [m["wrong"] for m in evaluation.mistakes(2)] == [True, True]
    np.testing.assert_allclose(evaluation.confusion(normalize=True).sum(axis=1), 1.0)


@pytest.fixture
def run_dir(frozen_run, tmp_path):
    return frozen_run.copy_into(tmp_path)


def test_a_run_is_evaluated_on_exactly_its_split_json_images_and_read_back_until_its_checkpoint_changes(run_dir):
    items = list(evaluate_run(run_dir))
    evaluation = items[-1]
    assert any(isinstance(i, EvaluationProgress) for i in items)
    split = json.loads((run_dir / "split.json").read_text())
    root = Path(split["root"])
    assert sorted(evaluation.predictions.paths) == sorted(str(root / p) for p, _ in split["splits"]["valid"])
    assert evaluation.confusion().sum() == len(split["splits"]["valid"])
    rows = (run_dir / "predictions.csv").read_text().splitlines()
    assert len(rows) == 1 + len(split["splits"]["valid"])
    saved = json.loads((run_dir / "evaluation.json").read_text())
    assert saved["metrics"]["accuracy"] == evaluation.metrics()["accuracy"]
    again = list(evaluate_run(run_dir))
    assert len(again) == 1 and np.array_equal(again[0].predictions.logits, evaluation.predictions.logits)
    (run_dir / "best.pt").touch()  # a new checkpoint: evaluated again
    assert any(isinstance(i, EvaluationProgress) for i in evaluate_run(run_dir))


def test_a_dataset_without_test_images_says_so(run_dir):
    from core.errors import DatasetError

    with pytest.raises(DatasetError, match="no test/ images"):
        list(evaluate_run(run_dir, "test"))


def test_cli_evaluate_prints_the_metrics_as_json(run_dir):
    out = subprocess.run([sys.executable, "-m", "core", "evaluate", "--run", str(run_dir)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["split"] == "valid" and sum(map(sum, result["confusion"])) == result["metrics"]["images"] == 20
    assert result["metrics"]["accuracy"] >= 0.75 and 0 < result["calibration"]["temperature"]


def test_a_run_on_a_flat_folder_is_evaluated_on_the_images_its_seeded_split_held_out(tiny_dataset, tmp_path):
    from core import RunFinished, TrainConfig, train

    flat = tmp_path / "flat"
    for split in ("train", "valid"):
        for folder in (tiny_dataset / split).iterdir():
            shutil.copytree(folder, flat / folder.name, dirs_exist_ok=True)
    finished = list(train(TrainConfig(data=str(flat), out=str(tmp_path / "runs"), freeze="frozen", epochs=1,
                                      image_size=64, valid_fraction=0.25, seed=3)))[-1]
    assert isinstance(finished, RunFinished)
    evaluation = list(evaluate_run(finished.run_dir))[-1]
    held_out = json.loads((Path(finished.run_dir) / "split.json").read_text())["splits"]["valid"]
    assert sorted(evaluation.predictions.paths) == sorted(str(flat / p) for p, _ in held_out)
    counts = {c: len(list((flat / c).iterdir())) for c in ("circle", "square", "star", "triangle")}
    assert len(held_out) == sum(round(n * 0.25) for n in counts.values())  # a quarter of each class held out


def test_the_data_checks_leakage_warning_is_carried_into_the_diagnosis(tiny_dataset, tmp_path):
    from core import RunFinished, TrainConfig, train
    from core.data.health import run_check
    from core.evaluation.diagnosis import diagnose

    data = shutil.copytree(tiny_dataset, tmp_path / "leaky")
    leaked = next((data / "valid" / "star").iterdir())
    shutil.copy(leaked, data / "train" / "star" / "copied-from-valid.jpg")
    finished = list(train(TrainConfig(data=str(data), out=str(tmp_path / "runs"), freeze="frozen", epochs=1,
                                      image_size=64)))[-1]
    assert isinstance(finished, RunFinished)
    evaluation = list(evaluate_run(finished.run_dir))[-1]
    assert not [f for f in diagnose(evaluation, finished.run_dir) if f.kind == "data_check"]  # never checked
    run_check(data)
    carried = [f for f in diagnose(evaluation, finished.run_dir) if f.kind == "data_check"]
    assert carried and "more than one split" in carried[0].values["message"]


@pytest.mark.parametrize("config, stages_started, accuracy, named", [
    ({"freeze": "top"}, [2], 0.75, True),  # the top layers memorised at 75 %: more of the backbone is the step
    ({"freeze": "frozen"}, [], 0.90, True),
    ({"freeze": "top"}, [2], 0.99, False),  # near the ceiling: nothing left for depth to win
    ({"freeze": "deep"}, [2], 0.75, True),  # the automatic recipe stopped after the top layers
    ({"freeze": "deep"}, [3], 0.75, False),  # it went deeper already
    ({"freeze": "two_stage"}, [2], 0.75, False),  # every layer trained
    ({"freeze": "top", "backbone": "resnet18"}, [2], 0.75, False),  # no deeper cut in its registry row
])
def test_the_diagnosis_names_training_more_of_the_backbone_where_it_would_pay(config, stages_started, accuracy,
                                                                             named, tmp_path):
    from core.evaluation.diagnosis import _deeper_would_pay

    (tmp_path / "config.json").write_text(json.dumps({"backbone": "efficientnet_lite0", **config}))
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps({"event": "StageStarted", "stage": s}) + "\n"
                                                    for s in stages_started))
    assert _deeper_would_pay(tmp_path, accuracy, 320) is named
    assert _deeper_would_pay(tmp_path, 0.5, 4) is False  # two pictures wrong say too little
