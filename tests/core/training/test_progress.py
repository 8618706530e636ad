"""Progress a person can trust: the ETA counts every remaining stage at its own pace, and images/s counts only
images that went through the backbone."""
import pytest

from core import EpochDone, FeaturesProgress, RunStarted, StageStarted, StepDone
from core.training.batches import steps_per_epoch
from core.training.recipes import finetune_images_per_s
from core.training.stages import EVAL_SPEEDUP
from core.training.state import StageClock


@pytest.fixture(scope="module")
def two_stage_events(two_stage_run):
    events = two_stage_run.events
    return events, next(e for e in events if isinstance(e, RunStarted)).config


def test_at_the_end_of_the_head_stage_the_eta_is_the_whole_fine_tuning_stage_still_to_come(two_stage_events):
    events, config = two_stage_events
    switch = next(i for i, e in enumerate(events) if isinstance(e, StageStarted))
    last_head_step = [e for e in events[:switch] if isinstance(e, StepDone)][-1]
    batch, epochs2 = config["batch"], config["epochs"] - config["stage1_epochs"]
    per_epoch = steps_per_epoch(40, batch)  # 10 training images per class, 4 classes
    rate = finetune_images_per_s(config["backbone"], config["image_size"], "cpu")
    steps_alone = epochs2 * per_epoch * (batch / rate + 20 / (rate * EVAL_SPEEDUP) / per_epoch)  # 5 valid per class
    # the fine-tuning steps priced from the registry, plus decoding this set's small images (timed at the start)
    assert last_head_step.stage == 1 and steps_alone < last_head_step.eta_s < 3 * steps_alone
    assert steps_alone > 0.5  # the old ETA, the head stage's own fast pace, said about 0 s here


def test_once_fine_tuning_runs_its_eta_follows_the_measured_pace_down_to_zero(two_stage_events):
    events, _ = two_stage_events
    stage2 = [e for e in events if isinstance(e, StepDone) and e.stage == 2]
    assert stage2[0].eta_s > 0 and stage2[-1].eta_s == 0
    assert stage2[-1].step == stage2[-1].total_steps


def test_images_per_second_counts_only_images_through_the_backbone(two_stage_events):
    events, _ = two_stage_events
    steps = [e for e in events if isinstance(e, StepDone)]
    assert all(e.images_per_s == 0 for e in steps if e.stage == 1)  # the head read cached features
    assert all(0 < e.images_per_s < 5000 for e in steps if e.stage == 2)


def test_the_feature_pass_eta_includes_the_stages_after_it(two_stage_events):
    events, _ = two_stage_events
    switch = next(i for i, e in enumerate(events) if isinstance(e, StageStarted))
    last_head_step = [e for e in events[:switch] if isinstance(e, StepDone)][-1]
    passes = [e for e in events if isinstance(e, FeaturesProgress)]
    assert passes and all(e.eta_s >= last_head_step.eta_s for e in passes)


def test_a_stage_clock_uses_its_estimate_until_it_has_run_then_its_own_pace():
    clock = StageClock(steps=10, estimate_s=2.0)
    assert clock.seconds_left(now=100.0) == 20.0
    clock.since, clock.done = 100.0, 4  # 4 steps in 2 s: 0.5 s each, whatever the estimate said
    assert clock.seconds_left(now=102.0) == pytest.approx(3.0)
    clock.pace_from(102.0)  # a halved batch: the steps before no longer tell the pace
    clock.done = 6  # 2 steps in 2 s
    assert clock.seconds_left(now=104.0) == pytest.approx(4.0)


def test_an_epochs_end_tells_the_eta_with_its_validation_and_checkpoints_counted(frozen_run):
    """A step's ETA in the first epoch is paced on its steps alone; from the epoch's end on (EpochDone) the pace
    counts its validation and checkpoints too, so the bar is right once the first epoch ends."""
    events = frozen_run.events
    ends = [i for i, e in enumerate(events) if isinstance(e, EpochDone)]
    last_steps = [[e for e in events[:i] if isinstance(e, StepDone)][-1] for i in ends]
    assert all(events[i].eta_s >= step.eta_s for i, step in zip(ends, last_steps))
    assert events[ends[0]].eta_s > last_steps[0].eta_s  # validation and best.pt took time
    assert events[ends[-1]].eta_s == 0
