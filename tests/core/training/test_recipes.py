import pytest

from core.config import FREEZE_MODES, TrainConfig
from core.training.recipes import (
    FINETUNE_BUDGET_S,
    FROZEN_EPOCHS,
    HEAD_LR,
    DEEP_EPOCHS,
    TOP_EPOCHS,
    deep_images_per_s,
    deep_split,
    finetune_images_per_s,
    plan,
    top_images_per_s,
)

pytestmark = pytest.mark.usefixtures("two_cores")  # the recipe priced for 2 cores


def _plan(counts, device="cpu", **settings):
    return plan(TrainConfig(data="x", **settings), counts, device)


def test_small_data_on_a_cpu_gets_the_top_layers_then_deeper_ones_if_needed_and_says_why():
    recipe = _plan({"a": 60, "b": 60})
    cfg = recipe.config
    assert cfg.freeze == "deep" and cfg.when_solved == "skip" and cfg.stage1_epochs == FROZEN_EPOCHS
    assert cfg.epochs == FROZEN_EPOCHS + TOP_EPOCHS[0] + DEEP_EPOCHS and cfg.lr == HEAD_LR
    assert deep_split(cfg.epochs - cfg.stage1_epochs) == (TOP_EPOCHS[0], DEEP_EPOCHS)
    assert cfg.balance == "none" and cfg.views == 4
    assert recipe.reason.startswith("Recipe: top layers") and "120 training images" in recipe.reason
    assert "fewer than 97% of the held-back pictures right, deeper layers" in recipe.reason
    assert f"then up to {DEEP_EPOCHS} of the deeper layers at 1e-03" in recipe.reason
    assert f"{HEAD_LR * FREEZE_MODES['top'].second_stage_lr_factor:.0e}" in recipe.reason
    assert recipe.finetune_s == pytest.approx(120 * TOP_EPOCHS[0] / top_images_per_s("efficientnet_lite0", 224, "cpu"))
    deeper = 120 * DEEP_EPOCHS / deep_images_per_s("efficientnet_lite0", 224, "cpu")
    assert deeper < recipe.deeper_s < 2 * deeper  # its epochs, and a pass below its cut over every picture
    chosen = _plan({"a": 60, "b": 60}, freeze="deep").config  # Best quality: the deeper stage always runs
    assert (chosen.freeze, chosen.when_solved, chosen.epochs) == ("deep", "continue", cfg.epochs)
    assert _plan({"a": 60, "b": 60}, backbone="resnet18").config.freeze == "top"  # no deeper cut in its registry row


def test_fine_tuning_that_would_take_too_long_on_a_cpu_falls_back_to_fewer_top_epochs_then_frozen():
    fewer = _plan({"a": 5000, "b": 5000})
    assert fewer.config.freeze == "top" and fewer.config.epochs == FROZEN_EPOCHS + TOP_EPOCHS[1]
    assert "10000 training images for 3 epoch(s) takes about" in fewer.reason
    counts = {"a": 25000, "b": 25000}
    cpu = _plan(counts)
    assert cpu.config.freeze == "frozen" and cpu.config.epochs == 20 and cpu.finetune_s == 0
    assert "50000 training images for 3 epoch(s) would take about" in cpu.reason
    gpu = _plan(counts, device="cuda")
    assert gpu.config.freeze == "two_stage" and "GPU" in gpu.reason
    assert 50000 * 3 / finetune_images_per_s("efficientnet_lite0", 224, "cuda") <= FINETUNE_BUDGET_S["cuda"]


def test_choices_the_user_made_are_kept_and_only_the_rest_is_filled_in():
    recipe = _plan({"a": 60, "b": 60}, freeze="frozen", epochs=7, lr=0.01, balance="sampler")
    assert (recipe.config.freeze, recipe.config.epochs, recipe.config.lr, recipe.config.balance) == (
        "frozen", 7, 0.01, "sampler")
    two = _plan({"a": 60, "b": 60}, freeze="two_stage", epochs=8).config
    assert (two.stage1_epochs, two.epochs) == (4, 8)
    assert _plan({"a": 60}, freeze="finetune").config.lr == 1e-3
    assert _plan({"a": 60}, freeze="frozen", optimizer="sgd").config.lr == pytest.approx(10 * HEAD_LR)


def test_scratch_cnn_trains_every_layer_and_imbalance_turns_on_loss_weights():
    recipe = _plan({"a": 90, "b": 10}, backbone="scratch_cnn")
    assert recipe.config.freeze == "finetune" and recipe.config.epochs == 30 and recipe.config.lr == HEAD_LR
    assert recipe.config.balance == "weights" and "9x the images" in recipe.reason


@pytest.mark.parametrize("settings, message", [
    ({"backbone": "scratch_cnn", "freeze": "frozen"}, "nothing to freeze"),
    ({"freeze": "two_stage", "epochs": 3, "stage1_epochs": 3}, "more epochs"),
    ({"backbone": "vit_b_16", "image_size": 160}, "only takes 224-pixel images"),
    ({"augment": "flip,sparkle"}, "unknown augmentation 'sparkle'"),
    ({"head": "transformer"}, "head must be one of"),
    ({"optimizer": "lion"}, "optimizer must be one of"),
    ({"batch": 1}, "batch size"),
])
def test_settings_no_run_could_use_are_refused_with_a_sentence(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(data="x", **settings).validate()
