"""Likely mislabelled pictures: out-of-sample class probabilities from a k-fold probe on backbone features, ranked by
confident learning (cleanlab) so that the pictures whose given class disagrees most with the rest come first.

The probe never sees the picture it scores (each fold is scored by a model fitted on the other folds), so a wrong
label cannot vouch for itself.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

FOLDS = 5
PROBE_C = 1.0  # inverse L2 strength of the logistic-regression probe
PROBE_DIMS = 256  # features are reduced to this many principal components first: the same ranking, much faster
# The probe's stopping tolerance: scikit-learn's default up to LOOSE_ABOVE pictures; looser above, where fitting five
# folds to the default took most of a large map's time and found as many planted wrong labels (README).
PROBE_TOLERANCE = 1e-4
LOOSE_TOLERANCE = 1e-3
LOOSE_ABOVE = 4000


@dataclass(frozen=True)
class Suspect:
    """A picture whose given class looks wrong: the class it looks like, both probabilities, and its rank (1 = worst)."""

    path: str
    split: str
    given: str
    suggested: str
    probability: float  # of the suggested class
    given_probability: float
    quality: float  # cleanlab's label quality score (self-confidence): low means likely wrong
    rank: int

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def probe(seed: int = 0, pictures: int = 0):
    """The probe for that many pictures: multinomial logistic regression (on the principal components from
    `compact`)."""
    from sklearn.linear_model import LogisticRegression

    tolerance = LOOSE_TOLERANCE if pictures > LOOSE_ABOVE else PROBE_TOLERANCE
    return LogisticRegression(C=PROBE_C, max_iter=2000, tol=tolerance, random_state=seed)


def compact(features: np.ndarray, dims: int = PROBE_DIMS, seed: int = 0) -> np.ndarray:
    """The features on their first principal components (at most `dims`): centred, and far fewer columns to fit.

    Not standardised: scaling every component to unit variance would blow the noise up as much as the signal.
    """
    from sklearn.decomposition import PCA

    keep = max(1, min(dims, len(features) - 1, features.shape[1]))
    return PCA(keep, svd_solver="randomized", random_state=seed).fit_transform(features).astype(np.float32)


def out_of_sample_probabilities(features: np.ndarray, labels: np.ndarray, n_classes: int, folds: int = FOLDS,
                                seed: int = 0) -> np.ndarray:
    """(n, n_classes) class probabilities of each picture from a probe fitted on the other folds (stratified)."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(labels, minlength=n_classes)
    k = int(max(2, min(folds, counts[counts > 0].min())))
    probs = np.zeros((len(labels), n_classes), dtype=np.float64)
    for fit_rows, score_rows in StratifiedKFold(k, shuffle=True, random_state=seed).split(features, labels):
        model = probe(seed, len(labels)).fit(features[fit_rows], labels[fit_rows])
        probs[np.ix_(score_rows, model.classes_)] = model.predict_proba(features[score_rows])
    return probs


def find_suspects(probs: np.ndarray, labels: np.ndarray, paths: list[Path], splits: list[str], classes: list[str],
                  top: int = 50) -> tuple[list[Suspect], int]:
    """The pictures cleanlab flags as label issues, least self-confident first (at most `top`), and how many it flags.

    The suggested class is the most probable other class.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    quality = get_label_quality_scores(labels, probs, method="self_confidence")
    flagged = find_label_issues(labels, probs, return_indices_ranked_by="self_confidence",
                                n_jobs=1)  # a worker pool would fork the whole (threaded) app for a tiny job
    suspects = []
    for rank, i in enumerate(flagged[:top], start=1):
        others = probs[i].copy()
        others[labels[i]] = -1.0
        suggested = int(others.argmax())
        suspects.append(Suspect(str(paths[i]), splits[i], classes[labels[i]], classes[suggested],
                                round(float(probs[i, suggested]), 4), round(float(probs[i, labels[i]]), 4),
                                round(float(quality[i]), 4), rank))
    return suspects, len(flagged)
