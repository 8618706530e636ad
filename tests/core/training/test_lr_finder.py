import pytest

from core import StepDone, TrainConfig
from core.training.summary import summarize
from core.training.lr_finder import LRFinding, find_lr, suggest


def _finding(data, **settings) -> LRFinding:
    config = TrainConfig(data=str(data), image_size=64, batch=8, **settings)
    (finding,) = [x for x in find_lr(config, steps=settings.pop("steps", 60)) if isinstance(x, LRFinding)]
    return finding


def test_lr_finder_sweeps_the_head_upwards_and_suggests_a_rate_where_the_loss_falls_before_its_minimum(tiny_dataset):
    finding = _finding(tiny_dataset, freeze="two_stage")
    assert finding.trains == "head only"
    assert finding.lrs == sorted(finding.lrs) and finding.lrs[0] == pytest.approx(1e-6)
    best = min(range(len(finding.losses)), key=finding.losses.__getitem__)
    assert finding.losses[best] < 0.5 * finding.losses[0], "the sweep reaches rates at which the head learns"
    i = finding.lrs.index(finding.suggestion)  # one of the rates actually tried
    assert finding.lrs[best] / 100 <= finding.suggestion < finding.lrs[best], "in the two decades before the minimum"
    assert finding.losses[i + 1] < finding.losses[i - 1], "where the loss is falling"


def test_lr_finder_on_every_layer_when_fine_tuning_reports_each_step_and_smooths_their_losses(tiny_dataset):
    config = TrainConfig(data=str(tiny_dataset), image_size=64, batch=8, freeze="finetune")
    events = list(find_lr(config, steps=12))
    finding, steps = events[-1], [e for e in events if isinstance(e, StepDone)]
    assert isinstance(finding, LRFinding) and finding.trains == "every layer"
    assert [e.lr for e in steps] == finding.lrs, "the curve is of the steps reported"
    assert [e.lr for e in steps] == pytest.approx([1e-6 * 1e6 ** (i / 11) for i in range(len(steps))])
    raw = [e.loss for e in steps]
    assert finding.losses[0] == pytest.approx(raw[0])
    for n, smoothed in enumerate(finding.losses, start=1):  # an average of the losses so far, never outside them
        assert min(raw[:n]) - 1e-9 <= smoothed <= max(raw[:n]) + 1e-9
    best = min(range(len(finding.losses)), key=finding.losses.__getitem__)
    assert finding.suggestion <= finding.lrs[best], "never a rate past the loss minimum"


LRS = [10 ** (-6 + i * 0.1) for i in range(60)]  # ten rates per decade


def test_suggestion_is_the_steepest_fall_before_the_minimum():
    losses = [2.0] * 20 + [2.0 - 0.05 * i for i in range(1, 11)] + [1.0 - 0.3 * i for i in range(1, 3)] + [0.9] * 28
    assert suggest(LRS, losses) == pytest.approx(LRS[30])


def test_a_steeper_fall_more_than_two_decades_before_the_minimum_is_not_suggested():
    losses = [3.0] * 5 + [1.0] * 25  # a cliff at rate index 5, over four decades before the minimum
    for i in range(30, 50):  # then a gentle fall to the minimum at rate 49, steepest around rate 40
        losses.append(losses[-1] - (0.1 if i in (40, 41) else 0.005))
    losses += [losses[-1] + 0.1 * i for i in range(1, 11)]
    assert min(range(60), key=losses.__getitem__) == 49
    assert suggest(LRS, losses) == pytest.approx(LRS[40])


def test_a_loss_that_only_rises_suggests_the_lowest_rate_tried():
    assert suggest(LRS, [1.0 + 0.01 * i for i in range(60)]) == LRS[0]


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
