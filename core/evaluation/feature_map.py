"""Where the pictures lie in the backbone's feature space: outliers far from every other picture, and groups of
near-duplicates (the same object photographed twice, a resized or re-saved copy) that the file hashes miss.

Both come from one pass over the cosine similarities between all pictures, a block of rows at a time, so 10,000
pictures never need a 10,000 x 10,000 matrix in memory.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# Two files are near-duplicates when their features' cosine similarity is at least DUPLICATE_CERTAIN, or at least
# DUPLICATE_FLOOR and DUPLICATE_MARGIN above both files' similarity to their NEIGHBOURS-th nearest picture: how alike
# pictures are differs by dataset and backbone (handwriting scans or texture patches are all alike), so a pair must
# stand out from its own neighbourhood. Measured on the shapes (a re-saved 80 px copy: 0.91, 0.09 above), digits
# (no pair) and texture patches (only crops that overlap).
DUPLICATE_CERTAIN = 0.98
DUPLICATE_FLOOR = 0.90
DUPLICATE_MARGIN = 0.06
NEIGHBOURS = 5  # an outlier is far from its nearest few pictures, not just from its class's average
OUTLIER_Z = 4.0  # robust z-score (median and MAD of its class's own distances) above which a picture is an outlier
MIN_CLASS_FOR_Z = 8  # a smaller class is measured against the whole dataset
BLOCK = 1024


@dataclass(frozen=True)
class Outlier:
    """A picture far from every other picture: its distance, how unusual that is here, and its nearest class."""

    path: str
    split: str
    given: str
    nearest_class: str
    distance: float
    z: float

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class DuplicateGroup:
    """Files whose features are nearly identical; flags a group that spans classes or both splits."""

    paths: list[str]
    classes: list[str]
    splits: list[str]
    similarity: float  # the lowest similarity that joined the group
    across_classes: bool
    across_splits: bool

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1, so a dot product is a cosine similarity."""
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return (features / np.maximum(norms, 1e-12)).astype(np.float32)


def neighbour_scan(features: np.ndarray, k: int = NEIGHBOURS,
                   floor: float = DUPLICATE_FLOOR) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, float]]]:
    """Per row: mean cosine distance to its k nearest other rows and its similarity to the k-th; and every pair
    (i < j) at least `floor` similar."""
    z = unit_rows(features)
    n = len(z)
    k = max(1, min(k, n - 1))
    knn = np.zeros(n, dtype=np.float32)
    kth = np.zeros(n, dtype=np.float32)
    pairs: list[tuple[int, int, float]] = []
    for start in range(0, n, BLOCK):
        sims = z[start:start + BLOCK] @ z.T
        rows = np.arange(len(sims))
        sims[rows, rows + start] = -np.inf  # not its own neighbour
        top = -np.partition(-sims, k - 1, axis=1)[:, :k]
        knn[start:start + len(sims)] = 1.0 - top.mean(axis=1)
        kth[start:start + len(sims)] = top.min(axis=1)
        i, j = np.nonzero(sims >= floor)
        pairs += [(int(a + start), int(b), float(sims[a, b])) for a, b in zip(i, j) if b > a + start]
    return knn, kth, pairs


def duplicate_pairs(pairs: list[tuple[int, int, float]], kth: np.ndarray, certain: float = DUPLICATE_CERTAIN,
                    margin: float = DUPLICATE_MARGIN) -> list[tuple[int, int, float]]:
    """The pairs alike enough to be one picture twice: near-identical, or far more alike than their neighbours."""
    return [(i, j, sim) for i, j, sim in pairs if sim >= certain or sim - max(kth[i], kth[j]) >= margin]


def robust_z(values: np.ndarray) -> np.ndarray:
    """How many robust standard deviations (1.4826 x the median absolute deviation) each value is above the median."""
    median = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - median)))
    return (values - median) / max(spread, 1e-6)


def find_outliers(features: np.ndarray, labels: np.ndarray, paths: list[Path], splits: list[str],
                  classes: list[str], knn: np.ndarray, top: int = 20) -> list[Outlier]:
    """The pictures unusually far from their nearest neighbours for their class (robust z above OUTLIER_Z), most unusual
    first."""
    if len(features) < 3:
        return []
    z, unit = robust_z(knn), unit_rows(features)
    for c in range(len(classes)):  # against its own class where it has enough pictures: classes differ in spread
        mine = labels == c
        if mine.sum() >= MIN_CLASS_FOR_Z:
            z[mine] = robust_z(knn[mine])
    centroids = unit_rows(np.stack([unit[labels == c].mean(axis=0) if (labels == c).any()
                                    else np.zeros(features.shape[1]) for c in range(len(classes))]))
    nearest = (unit @ centroids.T).argmax(axis=1)
    order = [i for i in np.argsort(-z) if z[i] > OUTLIER_Z][:top]
    return [Outlier(str(paths[i]), splits[i], classes[labels[i]], classes[nearest[i]], round(float(knn[i]), 4),
                    round(float(z[i]), 1)) for i in order]


def group_duplicates(pairs: list[tuple[int, int, float]], labels: np.ndarray, paths: list[Path], splits: list[str],
                     classes: list[str]) -> list[DuplicateGroup]:
    """Join similar pairs into groups (union-find); the largest groups, then the most similar, first."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.setdefault(i, i) != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    weakest: dict[int, float] = {}
    for i, j, sim in sorted(pairs, key=lambda p: -p[2]):
        a, b = root(i), root(j)
        if a != b:
            parent[b] = a
            weakest[a] = min(weakest.get(a, 1.0), weakest.pop(b, 1.0), sim)
    members: dict[int, list[int]] = {}
    for i in parent:
        members.setdefault(root(i), []).append(i)
    groups = []
    for head, rows in members.items():
        rows.sort()
        group_classes = [classes[labels[r]] for r in rows]
        group_splits = [splits[r] for r in rows]
        groups.append(DuplicateGroup([str(paths[r]) for r in rows], group_classes, group_splits,
                                     round(weakest.get(head, 1.0), 4), len(set(group_classes)) > 1,
                                     len(set(group_splits)) > 1))
    return sorted(groups, key=lambda g: (-len(g.paths), -g.similarity, g.paths[0]))
