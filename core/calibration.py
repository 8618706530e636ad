"""Calibrated confidence: one temperature fitted on validation logits (Guo et al. 2017), its expected calibration
error before and after, and the confidence below which prediction says "not sure"."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BINS = 15
ANSWERED_RIGHT = 0.95  # default threshold: the confidence that 95 % of the correct validation answers reach


@dataclass(frozen=True)
class Calibration:
    """The fitted temperature, the calibration error before and after, the reliability diagram and the threshold."""

    temperature: float
    ece_before: float
    ece_after: float
    reliability: list[dict]
    threshold: float
    coverage: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Class probabilities of logits divided by the temperature (rows sum to 1)."""
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of the labels (1.0 when there is nothing to fit:
    no images, or no mistakes)."""
    if len(labels) == 0 or (logits.argmax(axis=1) == labels).all():
        return 1.0  # no mistake to learn from: the likelihood would grow without end as the temperature fell
    import torch

    x, y = torch.from_numpy(np.asarray(logits, np.float64)), torch.from_numpy(np.asarray(labels, np.int64))
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x / log_t.exp(), y)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(np.clip(log_t.exp().item(), 0.05, 20.0))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> list[dict]:
    """Per confidence bin: mean confidence, accuracy and count (the reliability diagram's bars)."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return [{"low": float(edges[b]), "high": float(edges[b + 1]), "count": int((which == b).sum()),
             "confidence": float(confidence[which == b].mean()) if (which == b).any() else 0.0,
             "accuracy": float(correct[which == b].mean()) if (which == b).any() else 0.0} for b in range(bins)]


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """The count-weighted gap between confidence and accuracy over the bins (0 is perfectly calibrated)."""
    total = max(1, len(labels))
    bars = reliability(probs, labels, bins)
    return float(sum(b["count"] / total * abs(b["confidence"] - b["accuracy"]) for b in bars))


def coverage_curve(probs: np.ndarray, labels: np.ndarray) -> list[dict]:
    """For each threshold worth showing: the share of pictures answered and the accuracy of those answers."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    rows = []
    for threshold in sorted(set(np.round(confidence, 3).tolist()) | {0.0}):
        answered = confidence >= threshold
        if answered.any():
            rows.append({"threshold": float(threshold), "coverage": float(answered.mean()),
                         "accuracy": float(correct[answered].mean())})
    return rows


def default_threshold(probs: np.ndarray, labels: np.ndarray, share: float = ANSWERED_RIGHT) -> float:
    """The confidence that `share` of the correct answers reach: below it, a picture is unlike the ones the model
    gets right (0 when it got none right)."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    if not correct.any():
        return 0.0
    return float(np.quantile(confidence[correct], 1 - share))


def calibrate(logits: np.ndarray, labels: np.ndarray) -> Calibration:
    """Fit the temperature on these (validation) logits and derive the rest from the calibrated probabilities."""
    temperature = fit_temperature(logits, labels)
    before, after = softmax(logits), softmax(logits, temperature)
    return Calibration(temperature, expected_calibration_error(before, labels),
                       expected_calibration_error(after, labels), reliability(after, labels),
                       default_threshold(after, labels), coverage_curve(after, labels))
