"""Each freezing mode moves exactly the parameters it should; two-stage switches once; same seed, same run."""
import math

import pytest
import torch

from core import EpochDone, Message, RunFinished, StageStarted, StepDone, TrainConfig, train
from core.models.classifier import build_classifier
from core.runstore.checkpoint import load_checkpoint


def _run(data, tmp_path, **settings) -> list:
    config = TrainConfig(data=str(data), out=str(tmp_path / "runs"), image_size=64, batch=8, patience=0, **settings)
    return list(train(config))


def _state(path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["state_dict"]


def _pretrained(size: int = 64, **kw) -> dict[str, torch.Tensor]:
    return build_classifier("efficientnet_lite0", 4, False, size, **kw).state_dict()


def _moved(before: dict, after: dict, prefix: str) -> tuple[set, set]:
    """Parameter names under `prefix` whose tensors changed, and those that did not."""
    names = {k for k in before if k.startswith(prefix) and before[k].is_floating_point() and not _is_bn_stat(k)}
    moved = {k for k in names if not torch.equal(before[k], after[k])}
    return moved, names - moved


def _is_bn_stat(name: str) -> bool:
    return "running_" in name or "num_batches" in name


def _bn_stats_identical(before: dict, after: dict) -> bool:
    stats = [k for k in before if k.startswith("backbone.") and _is_bn_stat(k)]
    return len(stats) > 100 and all(torch.equal(before[k], after[k]) for k in stats)


def test_fine_tuning_moves_every_backbone_weight_and_keeps_the_pretrained_batchnorm_statistics(tiny_dataset, tmp_path):
    events = _run(tiny_dataset, tmp_path, freeze="finetune", epochs=1)
    before, after = _pretrained(), _state(events[-1].checkpoint)
    moved, still = _moved(before, after, "backbone.")
    assert not still, f"fine-tuning left {sorted(still)[:5]} untouched"
    assert _bn_stats_identical(before, after)


def test_two_stage_trains_the_head_alone_then_every_layer_at_one_tenth_of_the_rate(tiny_dataset, tmp_path):
    config = TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "runs"), image_size=64, batch=8, patience=0,
                         freeze="two_stage", head="mlp", epochs=4, stage1_epochs=1, lr=0.004, views=1,
                         when_solved="continue")
    stage1_state, events = None, []
    for event in train(config):
        events.append(event)
        if isinstance(event, StageStarted):  # the best checkpoint so far is stage 1's
            stage1_state = _state(event_run_dir(events) / "best.pt")
    pretrained = _pretrained(head="mlp")
    moved, still = _moved(pretrained, stage1_state, "backbone.")
    assert not moved and _bn_stats_identical(pretrained, stage1_state), "stage 1 must not touch the backbone"
    assert _moved(pretrained, stage1_state, "head.")[0], "stage 1 trains the head"

    (switch,) = [e for e in events if isinstance(e, StageStarted)]
    assert switch.stage == 2 and switch.epoch == 2 and math.isclose(switch.lr, 0.004 / 10)
    assert "4.0e-04" in switch.text and "(1/10 of the head" in switch.text
    steps = [e for e in events if isinstance(e, StepDone)]
    assert max(e.lr for e in steps if e.step <= switch.step) <= 0.004 + 1e-12
    assert max(e.lr for e in steps if e.step > switch.step) <= switch.lr + 1e-12
    assert [e.epoch for e in events if isinstance(e, EpochDone)] == [1, 2, 3, 4]

    finished = events[-1]
    ckpt = load_checkpoint(finished.checkpoint)
    assert isinstance(finished, RunFinished) and ckpt["stage"] == 2, "the seeded run improves in stage 2"
    moved, still = _moved(stage1_state, ckpt["state_dict"], "backbone.")
    assert moved and not still and _bn_stats_identical(stage1_state, ckpt["state_dict"])


def event_run_dir(events):
    from pathlib import Path

    return Path(events[0].run_dir)


@pytest.mark.parametrize("settings", [
    {"freeze": "frozen", "epochs": 4, "head": "bn_mlp", "balance": "sampler"},
    {"freeze": "finetune", "epochs": 1, "augment": "flip,rotate,crop,color,trivial", "balance": "weights"},
])
def test_the_same_seed_gives_the_same_curves(tiny_dataset, tmp_path, settings):
    def curves(sub):
        events = _run(tiny_dataset, tmp_path / sub, seed=3, **settings)
        return [(e.train_loss, e.valid_loss, e.valid_acc) for e in events if isinstance(e, EpochDone)], \
            [e.loss for e in events if isinstance(e, StepDone)]

    assert curves("a") == curves("b")


def test_early_stopping_ends_the_run_when_validation_stops_improving(tiny_dataset, tmp_path):
    config = TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "runs"), freeze="frozen", epochs=60, patience=3,
                         lr=0.5, scheduler="none")
    events = list(train(config))
    finished = events[-1]
    assert finished.epochs_run < 60 and finished.epochs_run - finished.best_epoch == 3
    assert any(isinstance(e, Message) and "stopping early" in e.text for e in events)


def test_scratch_cnn_trains_from_random_weights(tiny_dataset, tmp_path):
    events = _run(tiny_dataset, tmp_path, backbone="scratch_cnn", epochs=2)
    started, finished = events[0], events[-1]
    assert started.mode == "finetune" and finished.checkpoint
    assert load_checkpoint(finished.checkpoint)["backbone"] == "scratch_cnn"


def test_batchnorm_statistics_train_only_where_they_were_not_pretrained():
    from torch import nn

    def bn_training(name):
        model = build_classifier(name, 3, False, 64, pretrained=False)
        model.train()
        return {m.training for m in model.backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}

    assert bn_training("efficientnet_lite0") == {False}
    assert bn_training("scratch_cnn") == {True}
