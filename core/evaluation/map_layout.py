"""Feature vectors laid out in two dimensions for the dataset map, and how well a layout keeps each picture's
neighbours (the share of its k nearest pictures that are of its own class, on the map and in the full space).

Methods are rows of a table. t-SNE (scikit-learn's Barnes-Hut, already a dependency) is the default: it kept the most
neighbours and was the fastest of the non-linear methods on the benchmark (bench/data_map.py; the figures and why
UMAP is not pinned are in the README). PCA is instant but mixes classes that the features keep apart. Above
LAYOUT_CAP pictures a seeded sample is laid out and every other picture is placed at the median of its nearest laid-out
neighbours in feature space, so time stays bounded while the map still shows every picture.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.evaluation.feature_map import unit_rows

PCA_DIMS = 50  # t-SNE runs on the first principal components: the usual practice, and far less work
LAYOUT_CAP = 10_000  # more pictures than this: a sample is laid out, the rest placed by their neighbours
PLACE_NEIGHBOURS = 3  # the median of 3 lands inside their group, where a mean of 5 fell between groups
TSNE_ITERATIONS = 500  # kept as many neighbours as scikit-learn's 1,000 (bench/data_map.py)
TSNE_ANGLE = 0.8  # Barnes-Hut's coarseness: faster than the default 0.5 and kept as many neighbours (bench)
AGREEMENT_NEIGHBOURS = 5
AGREEMENT_SAMPLE = 3000  # more points than this: the agreement is estimated from a seeded sample of them
ONE_THREAD_BELOW = 1000  # fewer points: t-SNE on one thread; on two, while both cores are busy (training), each of
# its gradient steps waits on a descheduled thread and a small map takes many times longer


def principal_components(features: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """Unit-length rows on their first `dims` principal components (cosine geometry, as the audit measures)."""
    from sklearn.decomposition import PCA

    unit = unit_rows(features)
    keep = max(1, min(dims, len(unit) - 1, unit.shape[1]))
    return PCA(keep, svd_solver="randomized" if keep < min(unit.shape) // 2 else "full",
               random_state=seed).fit_transform(unit).astype(np.float32)


def _pca(features: np.ndarray, seed: int) -> np.ndarray:
    reduced = principal_components(features, 2, seed)
    return reduced if reduced.shape[1] == 2 else np.pad(reduced, ((0, 0), (0, 2 - reduced.shape[1])))


def _tsne(features: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    reduced = principal_components(features, PCA_DIMS, seed)
    # perplexity must stay below the number of points
    perplexity = float(min(30.0, max(2.0, (len(reduced) - 1) / 3)))
    with threadpool_limits(1 if len(reduced) < ONE_THREAD_BELOW else None):
        return TSNE(2, perplexity=perplexity, init="pca", max_iter=TSNE_ITERATIONS, angle=TSNE_ANGLE,
                    random_state=seed, n_jobs=2).fit_transform(reduced).astype(np.float32)


@dataclass(frozen=True)
class MapMethod:
    """A way to lay features out in 2-D: its name for people, and the function (features, seed) -> (n, 2)."""

    title: str
    fit: Callable[[np.ndarray, int], np.ndarray]
    keeps_neighbours: bool  # whether nearby on the map means alike (t-SNE) or only the broad directions (PCA)
    cap: int | None = LAYOUT_CAP  # more pictures than this: a sample is laid out; None: it is fast enough for all


METHODS: dict[str, MapMethod] = {
    "tsne": MapMethod("t-SNE", _tsne, True),
    "pca": MapMethod("PCA", _pca, False, cap=None),
}
DEFAULT_METHOD = "tsne"


@dataclass(frozen=True)
class Layout:
    """Every picture's map position (row order of the features) and how many were laid out (the rest placed)."""

    xy: np.ndarray
    method: str
    laid_out: int

    @property
    def sampled(self) -> bool:
        """Whether only a sample was laid out and the rest placed by their neighbours."""
        return self.laid_out < len(self.xy)


def place_by_neighbours(features: np.ndarray, anchors: np.ndarray, anchor_xy: np.ndarray,
                        k: int = PLACE_NEIGHBOURS) -> np.ndarray:
    """Each row's position: the median map position of its k most similar anchor rows (cosine), blocks at a time."""
    unit, anchor_unit = unit_rows(features), unit_rows(anchors)
    k = max(1, min(k, len(anchors)))
    out = np.empty((len(unit), 2), dtype=np.float32)
    for start in range(0, len(unit), 1024):
        sims = unit[start:start + 1024] @ anchor_unit.T
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[start:start + 1024] = np.median(anchor_xy[nearest], axis=1)
    return out


def layout(features: np.ndarray, method: str = DEFAULT_METHOD, seed: int = 0, cap: int | None = None) -> Layout:
    """The 2-D map of the feature rows by `method` (a key of METHODS); seeded, so one dataset always gives one map.
    Above `cap` pictures (default: the method's own) a sample is laid out and the rest placed by their neighbours."""
    if method not in METHODS:
        raise ValueError(f"{method!r} is not a way to draw the map; choose one of {', '.join(METHODS)}.")
    features = np.asarray(features, dtype=np.float32)
    n = len(features)
    if n < 3:  # nothing to lay out: a line of points
        return Layout(np.stack([np.arange(n, dtype=np.float32), np.zeros(n, np.float32)], axis=1), method, n)
    fit, cap = METHODS[method].fit, cap or METHODS[method].cap
    if cap is None or n <= cap:
        return Layout(fit(features, seed), method, n)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, cap, replace=False))
    xy = np.empty((n, 2), dtype=np.float32)
    xy[sample] = fit(features[sample], seed)
    rest = np.setdiff1d(np.arange(n), sample)
    xy[rest] = place_by_neighbours(features[rest], features[sample], xy[sample])
    return Layout(xy, method, cap)


def neighbour_agreement(points: np.ndarray, labels: np.ndarray, k: int = AGREEMENT_NEIGHBOURS,
                        cosine: bool = False, sample: int = AGREEMENT_SAMPLE, seed: int = 0) -> float:
    """The share of each point's k nearest other points that have its label, averaged over the points (over a seeded
    sample of `sample` of them when there are more; their neighbours are still searched among all points)."""
    from sklearn.neighbors import NearestNeighbors

    points, labels = np.asarray(points, dtype=np.float32), np.asarray(labels)
    if len(points) <= k:
        return float("nan")
    if cosine:
        points = unit_rows(points)  # on unit rows, Euclidean order is cosine order
    asked = np.arange(len(points)) if len(points) <= sample else np.sort(
        np.random.default_rng(seed).choice(len(points), sample, replace=False))
    found = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points[asked], return_distance=False)
    nearest = np.stack([row[row != i][:k] for row, i in zip(found, asked)])  # itself left out, wherever it ranks
    return float((labels[nearest] == labels[asked, None]).mean())
