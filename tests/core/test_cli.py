import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.runstore.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_two_stage_train_prints_one_json_line_per_event_then_a_summary(tiny_dataset, tmp_path):
    result = _cli("train", "--data", tiny_dataset, "--freeze", "two_stage", "--head", "mlp", "--epochs", 2,
                  "--stage1-epochs", 1, "--image-size", 96, "--lr", "0.002", "--when-solved", "continue",
                  "--out", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["epoch"] for line in lines[:-1]] == [1, 2, 2]
    assert lines[1]["event"] == "StageStarted" and abs(lines[1]["lr"] - 0.002 / 10) < 1e-12
    summary = lines[-1]
    assert {"run_dir", "best_valid_acc", "best_epoch", "epochs_run", "wall_s"} <= summary.keys()
    assert summary["epochs_run"] == 2
    saved = load_checkpoint(Path(summary["run_dir"]) / "best.pt")  # the summary describes the checkpoint kept
    assert (summary["best_epoch"], summary["best_valid_acc"]) == (saved["epoch"], saved["valid_acc"])


def test_train_continue_carries_a_run_on_in_its_folder(two_stage_run, tmp_path, capsys):
    from core.cli import main
    from core.runstore.folder import RunFolder

    run_dir = two_stage_run.copy_into(tmp_path)
    assert main(["train", "--continue", str(run_dir), "--epochs", "1", "--device", "cpu"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["epoch"] for line in lines[:-1]] == [4]
    assert lines[-1]["run_dir"] == str(run_dir) and lines[-1]["epochs_run"] == 4
    assert RunFolder(run_dir).read_config()["device"] == "cpu", "--device applies to a continued run"
    assert main(["train", "--continue", str(run_dir)]) == 2  # nothing left of its plan: it says so
    assert "finished its plan" in capsys.readouterr().err
    assert main(["train", "--epochs", "1"]) == 2
    assert "--data" in capsys.readouterr().err


def test_train_continue_refuses_the_settings_a_continued_run_keeps(two_stage_run, tmp_path, capsys):
    from core.cli import main
    from core.runstore.folder import RunFolder

    run_dir = two_stage_run.copy_into(tmp_path)
    before = RunFolder(run_dir).summary.read_bytes()
    assert main(["train", "--continue", str(run_dir), "--lr", "0.1", "--epochs", "1", "--backbone", "resnet18"]) == 2
    assert capsys.readouterr().err.startswith("error: --lr and --backbone do not apply to --continue: a continued "
                                              "run keeps its own settings (see its config.json)")
    assert main(["train", "--continue", str(run_dir), "--batch", "32", "--lr", "0.1", "--out", "elsewhere"]) == 2
    assert "error: --batch, --lr and --out do not apply" in capsys.readouterr().err
    # 32 is the default batch, yet given: the run keeps the batch it trained with, so the flag is refused too
    assert main(["train", "--continue", str(run_dir), "--batch", "32"]) == 2
    assert "error: --batch does not apply to --continue" in capsys.readouterr().err
    assert RunFolder(run_dir).summary.read_bytes() == before, "refused before the run is touched"


def test_a_backbone_file_missing_in_training_says_what_the_start_check_says(tiny_dataset, tmp_path, monkeypatch,
                                                                           capsys):
    """The audit checks the weights file before it starts; training meets its absence when it builds the model, in a
    new run or in one carried on after the file went: every path says the same sentence, with the file and folder."""
    import torch
    import torchvision

    from core import TrainConfig, train
    from core.cli import main
    from core.errors import BackboneUnavailable
    from core.models.backbones import get_backbone

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = get_backbone("resnet18")
    sentence = spec.missing_weights()
    assert spec.weights_file in sentence and str(spec.weights_path().parent) in sentence
    assert main(["audit", "--data", str(tiny_dataset), "--backbone", "resnet18"]) == 2  # the check at start
    assert capsys.readouterr().err == f"error: {sentence}\n"
    with pytest.raises(BackboneUnavailable) as err:
        next(train(TrainConfig(data=str(tiny_dataset), backbone="resnet18", out=str(tmp_path / "runs"))))
    assert str(err.value) == sentence
    assert main(["train", "--data", str(tiny_dataset), "--backbone", "resnet18", "--out", str(tmp_path / "runs")]) == 2
    assert capsys.readouterr().err == f"error: {sentence}\n"
    assert not (tmp_path / "runs").exists()

    spec.weights_path().parent.mkdir(parents=True)  # stand-in weights: a run trains, then the file goes
    torch.save(torchvision.models.resnet18().state_dict(), spec.weights_path())
    assert main(["train", "--data", str(tiny_dataset), "--backbone", "resnet18", "--freeze", "frozen", "--epochs", "1",
                 "--image-size", "64", "--engine", "pytorch", "--out", str(tmp_path / "runs")]) == 0
    run_dir = json.loads(capsys.readouterr().out.splitlines()[-1])["run_dir"]
    spec.weights_path().unlink()
    assert main(["train", "--continue", run_dir, "--epochs", "1"]) == 2
    assert capsys.readouterr().err == f"error: {sentence}\n"


def test_predict_prints_one_json_line_per_image_with_the_runs_probabilities(tiny_dataset, two_stage_run, capsys):
    """On every validation image, the CLI's answers reproduce the accuracy the run measured while training (in this
    process: the train test above runs the CLI as its own process)."""
    from core.cli import main

    images = sorted(tiny_dataset.glob("valid/*/*"))
    assert main(["predict", "--run", str(two_stage_run.run_dir), "-k", "4", *map(str, images)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["path"] for row in rows] == [str(p) for p in images]
    for row in rows:
        labels, probs = zip(*row["top"])
        assert sorted(labels) == ["circle", "square", "star", "triangle"] and abs(sum(probs) - 1) < 1e-4
    right = sum(row["top"][0][0] == Path(row["path"]).parent.name for row in rows)
    assert abs(right / len(rows) - two_stage_run.finished.best_valid_acc) <= 1 / len(rows)


def test_bad_dataset_folder_exits_non_zero_with_the_reason_and_the_expected_tree(tmp_path, capsys):
    from core.cli import main

    (tmp_path / "cats").mkdir()
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "runs")]) != 0
    err = capsys.readouterr().err
    reason = err.strip().splitlines()
    assert reason[0].startswith("error: ") and "cats" in reason[0] and "no images" in reason[0]
    assert "train/" in err and "dogs/" in err  # the tiny tree of what is expected
    assert not (tmp_path / "runs").exists()


def test_cli_defaults_are_the_config_defaults():
    from core.cli import build_parser
    from core.config import TrainConfig

    args = build_parser().parse_args(["train", "--data", "x"])
    defaults = TrainConfig(data="x")
    assert {k: getattr(args, k) for k in defaults.to_dict()} == defaults.to_dict()


def test_backbones_lists_the_registry_with_offline_availability(tmp_path):
    import os

    env = {**os.environ, "TORCH_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "core", "backbones"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env=env)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert {"efficientnet_lite0", "resnet50", "vit_b_16", "scratch_cnn"} <= rows.keys()
    assert rows["efficientnet_lite0"]["available_offline"] and rows["efficientnet_lite0"]["source"] == "bundled"
    assert not rows["resnet50"]["available_offline"]
    assert rows["resnet50"]["weights_file"] == str(tmp_path / "hub" / "checkpoints" / "resnet50-11ad3fa6.pth")
    assert rows["scratch_cnn"]["available_offline"] and not rows["scratch_cnn"]["pretrained"]
    assert rows["efficientnet_lite0"]["top_layers"]["cached_kb_per_image_224px"] == 18.4
    assert rows["vit_b_16"]["top_layers"] is None


def test_lr_find_and_plan_print_json(tiny_dataset, tmp_path, capsys):
    from core.cli import main

    assert main(["lr-find", "--data", str(tiny_dataset), "--freeze", "frozen", "--image-size", "96", "--steps", "40"]
                ) == 0
    finding = json.loads(capsys.readouterr().out)
    lrs, losses, suggestion = finding["lrs"], finding["losses"], finding["suggestion"]
    assert finding["trains"] == "head only" and len(lrs) == len(losses) >= 10
    best = min(range(len(losses)), key=losses.__getitem__)
    i = lrs.index(suggestion)  # one of the rates tried, before the minimum, where the loss falls
    assert lrs[best] / 100 <= suggestion < lrs[best] and losses[i + 1] < losses[i - 1]

    assert main(["plan", "--data", str(tiny_dataset), "--head", "bn_mlp"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert planned["config"]["freeze"] == "deep" and planned["reason"].startswith("Recipe: top layers")
    assert planned["summary"]["trainable_params"] < planned["summary"]["total_params"]


def test_config_arguments_parse_back_to_the_same_config(tmp_path):
    import argparse

    from core.cli import config_arguments
    from core.cli.flags import add_config_arguments, config_from
    from core.config import TrainConfig

    config = TrainConfig(data=str(tmp_path / "my data"), freeze="two_stage", epochs=7, lr=0.003, views=2,
                         augment="flip,color", engine="pytorch", out=str(tmp_path / "runs"))
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    assert config_from(parser.parse_args(config_arguments(config))) == config
    assert "--backbone" not in config_arguments(config), "defaults are left out"


def test_runs_lists_the_run_folders_and_compare_diffs_two_of_them_by_id_or_path(frozen_run, two_stage_run, tmp_path,
                                                                                capsys):
    from core.cli import main

    runs = tmp_path / "runs"
    a, b = frozen_run.copy_into(runs), two_stage_run.copy_into(runs)
    assert main(["runs", "--runs", str(runs)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["run_id"]: r["recipe"] for r in records} == {a.name: "frozen", b.name: "two_stage"}
    assert main(["compare", a.name, str(b), "--runs", str(runs)]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert (diff["run_a"], diff["run_b"], diff["images"]) == (a.name, b.name, 20)
    assert diff["fixed"] == len(diff["fixed_paths"]) and diff["broken"] == len(diff["broken_paths"])
    assert {row["field"] for row in diff["config_diff"]} >= {"freeze", "image_size", "head"}
    assert main(["compare", a.name, "no-such-run", "--runs", str(runs)]) == 2
    assert "no-such-run is neither a run id" in capsys.readouterr().err
