"""When the automatic recipe goes deeper: pinned on small synthetic curves (no training, no clock)."""
import pytest

from core.training.escalation import CEILING, EpochPoint, deeper_pays
from core.training.recipes import DEEP_EPOCHS, deep_split


def curve(*stages: list[tuple[float, float]]) -> list[EpochPoint]:
    """EpochPoints from (train_acc, valid_acc) pairs per stage, stage 1 first."""
    return [EpochPoint(number, train, valid) for number, points in enumerate(stages, 1) for train, valid in points]


HEAD_LOW = [(0.3, 0.3), (0.4, 0.36), (0.45, 0.38), (0.46, 0.38)]


def test_a_run_near_the_ceiling_stops_there():
    easy = curve([(0.9, 0.95), (0.97, 0.975)], [(0.99, 0.98), (1.0, 0.985)])
    decision = deeper_pays(easy, 360)
    assert (decision.go, decision.why) == (False, "near_top") and decision.best == pytest.approx(0.985)


def test_few_pictures_wrong_are_too_few_to_go_deeper_for_whatever_the_share():
    # 92 % of 25 pictures is 2 wrong: a gain there cannot be told from luck
    assert deeper_pays(curve(HEAD_LOW, [(0.95, 0.92)]), 25).go is False
    assert deeper_pays(curve(HEAD_LOW, [(0.95, 0.92)]), 100).go is True


def test_top_layers_that_plateaued_well_below_the_ceiling_hand_over_to_deeper_layers():
    plateau = curve(HEAD_LOW, [(0.7, 0.6), (0.8, 0.7), (0.85, 0.71), (0.9, 0.71), (0.92, 0.70)])
    decision = deeper_pays(plateau, 320)
    assert (decision.go, decision.why) == (True, "plateau")
    assert decision.gain == pytest.approx(0.71 - 0.38) and decision.gap == pytest.approx(0.85 - 0.71)


def test_top_layers_still_rising_at_their_last_epochs_go_deeper_and_say_so():
    rising = curve(HEAD_LOW, [(0.5, 0.45), (0.6, 0.5), (0.7, 0.56), (0.75, 0.62)])
    assert deeper_pays(rising, 320).why == "rising"


def test_a_stage_that_gained_nothing_still_goes_deeper_when_far_below_the_ceiling():
    # the head's features were the limit: the top's few epochs did not move it, deeper layers may
    flat = curve(HEAD_LOW, [(0.5, 0.37), (0.6, 0.38), (0.7, 0.38)])
    decision = deeper_pays(flat, 320)
    assert decision.go and decision.gain == 0.0


def test_the_ceiling_is_what_the_sentence_says():
    at = curve([(1.0, CEILING)])
    assert deeper_pays(at, 1000).go is False
    assert deeper_pays(curve([(1.0, CEILING - 0.01)]), 1000).go is True
    assert deeper_pays([], 100).why == "nothing"


@pytest.mark.parametrize("after_head, split", [(5 + DEEP_EPOCHS, (5, DEEP_EPOCHS)), (3 + DEEP_EPOCHS, (3, DEEP_EPOCHS)),
                                               (6, (3, 3)), (2, (1, 1)), (1, (1, 0))])
def test_the_epochs_after_the_head_split_between_the_top_and_the_deeper_layers(after_head, split):
    assert deep_split(after_head) == split
