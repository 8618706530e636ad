import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_train_then_predict_follow_the_json_line_contract(tiny_dataset, tmp_path):
    result = _cli("train", "--data", tiny_dataset, "--epochs", 3, "--out", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["epoch"] for line in lines[:-1]] == [1, 2, 3]
    summary = lines[-1]
    assert {"run_dir", "best_valid_acc", "best_epoch", "epochs_run", "wall_s"} <= summary.keys()
    assert summary["epochs_run"] == 3 and 0 <= summary["best_valid_acc"] <= 1

    images = sorted((tiny_dataset / "valid" / "square").iterdir())[:2]
    result = _cli("predict", "--run", summary["run_dir"], *images)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(p) for p in images]
    for row in rows:
        labels, probs = zip(*row["top"])
        assert set(labels) <= {"circle", "square", "star", "triangle"} and len(labels) == 3
        assert list(probs) == sorted(probs, reverse=True) and sum(probs) <= 1.0001


def test_bad_dataset_folder_exits_non_zero_with_the_reason_and_the_expected_tree(tmp_path):
    (tmp_path / "cats").mkdir()
    result = _cli("train", "--data", tmp_path, "--out", tmp_path / "runs", timeout=60)
    assert result.returncode != 0
    reason = result.stderr.strip().splitlines()
    assert reason[0].startswith("error: ") and "cats" in reason[0] and "no images" in reason[0]
    assert "train/" in result.stderr and "dogs/" in result.stderr  # the tiny tree of what is expected
    assert not (tmp_path / "runs").exists()


def test_cli_defaults_are_the_config_defaults():
    from core.cli import build_parser
    from core.config import TrainConfig

    args = build_parser().parse_args(["train", "--data", "x"])
    defaults = TrainConfig(data="x")
    assert {k: getattr(args, k) for k in defaults.to_dict()} == defaults.to_dict()
