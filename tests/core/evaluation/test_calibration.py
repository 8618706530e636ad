"""Temperature scaling repairs an over-confident model, and the default threshold is honest about coverage."""
import numpy as np
import pytest

from core.calibration import (
    calibrate,
    coverage_curve,
    default_threshold,
    expected_calibration_error,
    softmax,
)


def _overconfident(n: int = 600, seed: int = 0):
    """Logits that are right 70 % of the time but say ~99 %."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    guess = np.where(rng.random(n) < 0.7, labels, (labels + rng.integers(1, 4, n)) % 4)
    logits = rng.normal(0, 0.5, (n, 4))
    logits[np.arange(n), guess] += 6.0
    return logits, labels


def test_temperature_scaling_lowers_the_calibration_error_of_an_overconfident_model():
    logits, labels = _overconfident()
    result = calibrate(logits, labels)
    assert result.temperature > 1.5  # it was over-confident: the fitted temperature softens it
    assert result.ece_before > 0.2 and result.ece_after < result.ece_before / 3
    assert expected_calibration_error(softmax(logits, result.temperature), labels) == pytest.approx(result.ece_after)


def test_the_default_threshold_answers_95_percent_of_the_right_answers():
    logits, labels = _overconfident()
    probs = softmax(logits, 3.0)
    threshold = default_threshold(probs, labels)
    right = probs.argmax(1) == labels
    assert np.mean(probs.max(1)[right] >= threshold) == pytest.approx(0.95, abs=0.01)
    curve = coverage_curve(probs, labels)
    assert curve[0]["coverage"] == 1.0 and curve[-1]["coverage"] < curve[0]["coverage"]


def test_without_a_single_mistake_there_is_nothing_to_calibrate_and_the_temperature_stays_1():
    labels = np.arange(40) % 4
    logits = np.eye(4)[labels] * 2.0  # all right, modestly sure: sharpening would only look better on paper
    assert calibrate(logits, labels).temperature == 1.0
