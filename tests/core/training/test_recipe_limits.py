"""The automatic recipe with few epochs, and on a machine whose process may use fewer cores than the host has."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import TrainConfig
from core.models.backbones import get_backbone
from core.training.recipes import finetune_images_per_s, plan

ROOT = Path(__file__).resolve().parents[3]


def _plan(**settings):
    return plan(TrainConfig(data="x", **settings), {"a": 60, "b": 60}, "cpu")


def test_one_epoch_on_auto_is_a_frozen_run_and_the_sentence_says_why():
    recipe = _plan(epochs=1)
    assert recipe.config.freeze == "frozen" and recipe.config.epochs == 1
    assert "1 epoch(s) leave no room for a second stage" in recipe.reason


@pytest.mark.parametrize("epochs, stage1, expected", [(2, None, (1, 2)), (3, None, (1, 3)), (30, None, (15, 30)),
                                                      (5, 2, (2, 5))])
def test_a_few_epochs_on_auto_are_split_between_the_two_stages(epochs, stage1, expected):
    cfg = _plan(epochs=epochs, stage1_epochs=stage1).config
    assert cfg.freeze == "top" and (cfg.stage1_epochs, cfg.epochs) == expected


def test_the_sentence_prices_the_fine_tuning_epochs_that_will_run():
    seconds = round(120 / finetune_images_per_s("efficientnet_lite0", 224, "cpu"))  # 120 images, once
    assert f"for 1 epoch(s) takes about {seconds} s" in _plan(epochs=2).reason
    many = _plan(epochs=60).reason  # 20 head-only epochs, then 40 of every layer
    assert "for 40 epoch(s) takes about" in many and "20 head-only epochs at learning rate 1e-02, then 40" in many


def test_stage1_epochs_that_leave_no_second_stage_make_auto_frozen_but_two_stage_chosen_is_refused():
    assert _plan(epochs=3, stage1_epochs=3).config.freeze == "frozen"
    with pytest.raises(ValueError, match="more epochs"):
        _plan(freeze="two_stage", epochs=1)


def test_cli_train_with_one_epoch_trains(tiny_dataset, tmp_path):
    out = subprocess.run([sys.executable, "-m", "core", "train", "--data", str(tiny_dataset), "--epochs", "1",
                          "--image-size", "64", "--out", str(tmp_path / "runs")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["epochs_run"] == 1 and result["best_valid_acc"] is not None


def test_fine_tuning_speed_is_priced_for_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})  # a 2-core container on a 64-core host
    assert finetune_images_per_s("efficientnet_lite0", 224, "cpu") == get_backbone("efficientnet_lite0").finetune_img_s
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)))
    assert finetune_images_per_s("efficientnet_lite0", 224, "cpu") == 4 * get_backbone("efficientnet_lite0").finetune_img_s
    monkeypatch.setenv("WORLD_SIZE", "2")  # two torchrun processes share the 8 cores
    assert finetune_images_per_s("efficientnet_lite0", 224, "cpu") == 2 * get_backbone("efficientnet_lite0").finetune_img_s
