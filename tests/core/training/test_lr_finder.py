import pytest

from core import TrainConfig
from core.models.summary import summarize
from core.training.lr_finder import LRFinding, find_lr, suggest


def _finding(data, **settings) -> LRFinding:
    config = TrainConfig(data=str(data), image_size=64, batch=8, **settings)
    (finding,) = [x for x in find_lr(config, steps=settings.pop("steps", 60)) if isinstance(x, LRFinding)]
    return finding


def test_lr_finder_sweeps_the_head_upwards_and_suggests_a_rate_inside_the_sweep(tiny_dataset):
    finding = _finding(tiny_dataset, freeze="two_stage")
    assert finding.trains == "head only"
    assert finding.lrs == sorted(finding.lrs) and finding.lrs[0] == pytest.approx(1e-6)
    assert finding.lrs[0] < finding.suggestion < finding.lrs[-1]
    best = min(range(len(finding.losses)), key=finding.losses.__getitem__)
    assert finding.suggestion <= finding.lrs[best], "the suggestion lies before the loss minimum"
    assert finding.losses[best] < finding.losses[0]


def test_lr_finder_on_every_layer_when_fine_tuning(tiny_dataset):
    config = TrainConfig(data=str(tiny_dataset), image_size=64, batch=8, freeze="finetune")
    finding = [x for x in find_lr(config, steps=12) if isinstance(x, LRFinding)][0]
    assert finding.trains == "every layer" and finding.lrs[0] <= finding.suggestion <= finding.lrs[-1]


def test_suggestion_is_the_steepest_fall_before_the_minimum():
    lrs = [10 ** (-6 + i * 0.1) for i in range(60)]
    losses = [2.0] * 20 + [2.0 - 0.05 * i for i in range(1, 11)] + [1.0 - 0.3 * i for i in range(1, 3)] + [0.9] * 28
    assert suggest(lrs, losses) == pytest.approx(lrs[30])


def test_summary_counts_all_and_trainable_parameters_by_freezing_mode():
    frozen = summarize(TrainConfig(data="x", freeze="frozen", head="mlp", hidden=64, image_size=96), classes=5)
    head = 1280 * 64 + 64 + 64 * 5 + 5
    assert frozen.trainable_params == head and frozen.total_params > 3_000_000
    assert frozen.size_mb == pytest.approx(frozen.total_params * 4 / 1e6, abs=0.1)
    assert frozen.input_size == (1, 3, 96, 96) and "Linear" in frozen.table
    two = summarize(TrainConfig(data="x", freeze="two_stage", image_size=96), classes=5)
    assert two.trainable_params == 1280 * 5 + 5 and two.trainable_params_stage2 == two.total_params
    full = summarize(TrainConfig(data="x", freeze="finetune", image_size=96), classes=5)
    assert full.trainable_params == full.total_params
