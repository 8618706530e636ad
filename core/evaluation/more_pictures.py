"""How many more pictures each class needs: learning curves from probes trained on 25/50/75/100 % of the training
pictures (backbone features, a second each), one saturating curve per class fitted to its validation recall, and
the advice read off the curves ("About 40 more pictures of star would help most. There are enough pictures of
circle.").
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from core.evaluation.labels import probe

FRACTIONS = (0.25, 0.5, 0.75, 1.0)
REPEATS = 3
ENOUGH_GAIN = 0.02  # a class whose fitted recall would rise less than this with twice its pictures has enough
MAX_STRETCH = 4  # the curve is not trusted beyond this many times the pictures actually measured
MIN_ASK = 5  # fewer would be within the noise of the measured curve
NAMED = 3  # the advice names this many classes with a number; the rest that need more are listed after


@dataclass
class ClassCurve:
    """One class: measured recall at each training size, the fitted curve, and what more pictures would bring."""

    name: str
    train_count: int
    valid_count: int
    points: list[tuple[int, float]]  # (training pictures of this class, mean validation recall over the repeats)
    fitted: list[tuple[int, float]] = field(default_factory=list)  # the curve, extended past today's count
    ceiling: float | None = None  # the recall the fitted curve levels off at
    recall: float | None = None  # measured with every training picture
    gain_if_doubled: float | None = None
    more: int | None = None  # pictures to add until doubling would no longer pay; None: enough or unknown
    at_least: bool = False  # `more` is a lower bound: the curve is still climbing where it can be trusted
    enough: bool = False

    def to_dict(self) -> dict:
        """JSON-ready form (points and fitted as [pictures, recall] pairs)."""
        out = asdict(self)
        out["points"] = [list(p) for p in self.points]
        out["fitted"] = [list(p) for p in self.fitted]
        return out


def saturating(n, a, b, c):
    """recall(n) = a - b * n^-c: rises with the pictures and levels off at a."""
    return a - b * np.power(n, -c)


def fit_curve(points: list[tuple[int, float]]) -> tuple[float, float, float] | None:
    """(a, b, c) of the saturating curve through the points, bounded to sensible values; None when it cannot be fit."""
    from scipy.optimize import curve_fit

    n = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    if len(set(n)) < 2:
        return None
    if y[-1] >= 0.999:
        return float(y.max()), 0.0, 1.0  # already perfect: nothing more to gain
    if y.max() - y.min() < 1e-9:
        return None  # flat below perfect (never recognised, say): the points cannot tell what more pictures do
    try:
        params, _ = curve_fit(saturating, n, y, p0=(min(1.0, y.max() + 0.1), 0.5, 0.5),
                              bounds=([0.0, 0.0, 0.05], [1.0, 10.0, 3.0]), maxfev=5000)
    except (RuntimeError, ValueError):
        return None
    return tuple(float(v) for v in params)


def nice(count: float) -> int:
    """A round number of pictures to ask for: at least MIN_ASK, exact up to 10, then to the nearest 5, then 10."""
    step = 1 if count <= 10 else 5 if count <= 50 else 10
    return max(MIN_ASK, int(math.ceil(count / step) * step))


def advise(curve: ClassCurve, params: tuple[float, float, float] | None) -> ClassCurve:
    """Fill the fitted curve and the advice of one class from its curve parameters."""
    n = max(curve.train_count, 1)
    if params is None:
        return curve
    a, b, c = params
    grid = sorted({max(1, round(x)) for x in np.geomspace(max(1, curve.points[0][0]), n * MAX_STRETCH, 24)})
    curve.fitted = [(m, round(float(saturating(m, a, b, c)), 4)) for m in grid]
    curve.ceiling = round(a, 4)
    curve.gain_if_doubled = round(float(saturating(2 * n, a, b, c) - saturating(n, a, b, c)), 4)
    curve.enough = curve.gain_if_doubled < ENOUGH_GAIN
    if curve.enough or b <= 0:
        return curve
    # the size at which doubling would no longer pay (gain below ENOUGH_GAIN): from there on the class has enough
    needed = (b * (1 - 2 ** -c) / ENOUGH_GAIN) ** (1 / c)
    if needed > n * MAX_STRETCH:
        curve.more, curve.at_least = nice(n * (MAX_STRETCH - 1)), True
    else:
        curve.more = nice(max(needed - n, 1))
    return curve


def learning_curves(features: np.ndarray, labels: np.ndarray, splits: list[str], classes: list[str],
                    fractions=FRACTIONS, repeats: int = REPEATS, seed: int = 0) -> list[ClassCurve]:
    """Per class: validation recall of probes trained on each fraction of the training pictures (stratified, each
    class keeping at least one), averaged over seeded repeats, then the fitted curve and the advice."""
    split = np.asarray(splits)
    train, valid = np.flatnonzero(split == "train"), np.flatnonzero(split == "valid")
    if not len(valid):  # no validation picture could be read: nothing to measure recall on
        return [ClassCurve(name, int((labels[train] == c).sum()), 0, []) for c, name in enumerate(classes)]
    by_class = [train[labels[train] == c] for c in range(len(classes))]
    present = [c for c in range(len(classes)) if len(by_class[c])]
    recalls: dict[tuple[int, int], list[float]] = {}
    for fraction in fractions:
        for repeat in range(repeats if fraction < 1 else 1):  # every picture: the same probe each time
            rng = np.random.default_rng([seed, repeat, int(fraction * 1000)])
            rows = np.concatenate([rng.choice(by_class[c], max(1, round(fraction * len(by_class[c]))), replace=False)
                                   for c in present])
            if len(set(labels[rows].tolist())) < 2:
                continue
            predicted = probe(seed).fit(features[rows], labels[rows]).predict(features[valid])
            for c in present:
                mine = labels[valid] == c
                if mine.any():
                    size = max(1, round(fraction * len(by_class[c])))
                    recalls.setdefault((c, size), []).append(float((predicted[mine] == c).mean()))
    curves = []
    for c, name in enumerate(classes):
        valid_count = int((labels[valid] == c).sum())
        points = sorted((size, round(float(np.mean(v)), 4)) for (k, size), v in recalls.items() if k == c)
        curve = ClassCurve(name, len(by_class[c]), valid_count, points, recall=points[-1][1] if points else None)
        curves.append(advise(curve, fit_curve(points)) if points and valid_count else curve)
    return curves


# The advice's sentences, each whole (the first named class is the one that would gain most), joined by a space.
MORE = {  # (a lower bound?, the first named?) -> its sentence
    (False, True): "About {more} more pictures of {name} would help most.",
    (True, True): "At least {more} more pictures of {name} would help most.",
    (False, False): "About {more} more pictures of {name} would also help.",
    (True, False): "At least {more} more pictures of {name} would also help.",
}
MORE_OF_THE_REST = "More pictures of {names} would help too."
ENOUGH = "There are enough pictures of {names}."
UNKNOWN = "Too few measurements to tell for {names}."


def advice_sentence(curves: list[ClassCurve]) -> str:
    """Whole sentences: which classes need more pictures, the one that would gain most first, and which have
    enough."""
    needing = sorted((c for c in curves if c.more), key=lambda c: -(c.gain_if_doubled or 0))
    enough = [c.name for c in curves if c.enough]
    unknown = [c.name for c in curves if not c.more and not c.enough]
    said = [MORE[curve.at_least, i == 0].format(more=curve.more, name=curve.name)
            for i, curve in enumerate(needing[:NAMED])]
    for sentence, names in ((MORE_OF_THE_REST, [c.name for c in needing[NAMED:]]), (ENOUGH, enough),
                            (UNKNOWN, unknown)):
        if names:
            said.append(sentence.format(names=", ".join(names)))
    return " ".join(said)
