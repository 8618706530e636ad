"""What a dataset map shows, as facts (the GUI words them, the CLI prints them): a class whose pictures form separate
groups (two kinds of picture under one name), and pictures of one class that sit among another's (wrong labels, or
two classes that look alike). Measured on the map itself, so the facts say what a person sees there.

On a PCA map nearness is not likeness (it keeps only the broadest directions), so it gives no facts.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np

FLAGS = ("suspect", "outlier", "duplicate", "mistake", "not_sure", "test", "kept")  # drawing priority, first wins
FEATURES = ("backbone", "run")  # the backbone's cached features, or the chosen run's own (the layer before its head)
MAP_SPLITS = ("train", "valid", "test")
KEPT_SPLIT = "kept"  # the split of a picture kept from use
NO_CLASS = -1  # the class index of a kept picture whose class is none of the dataset's (or not known)
STRAY_NEIGHBOURS = 10  # a picture sits among another class when most of its 10 nearest map neighbours are of it
MOST = 0.5  # "most": more than half of them
MAX_FACTS = 3  # of each kind
GROUP_AT_LEAST = 5  # a group has at least this many pictures, and at least GROUP_SHARE of its class
GROUP_SHARE = 0.10
SCALE_NEIGHBOURS = 5  # the map's own scale: the median distance of a picture to its 5th nearest picture
EPS_SCALE = 2.0  # pictures within 2x that distance of each other are in one group (DBSCAN's eps)
ATTACH = 2.0  # a picture DBSCAN leaves out joins the group of its nearest grouped picture within 2 eps


@dataclass(frozen=True)
class ClassGroups:
    """A class whose pictures form 2+ separate groups on the map: each group's size (largest first) and one picture of
    each (the one nearest the group's middle)."""

    cls: str
    sizes: list[int]
    examples: list[str]
    kind: ClassVar[str] = "groups"

    def to_dict(self) -> dict:
        """JSON-ready, with its kind."""
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class Strays:
    """Pictures of one class that sit among another class's on the map."""

    cls: str
    among: str
    count: int
    paths: list[str]
    kind: ClassVar[str] = "strays"

    def to_dict(self) -> dict:
        """JSON-ready, with its kind."""
        return {"kind": self.kind, **asdict(self)}


def _nearest(xy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's k nearest other points on the map: (distances, indices), nearest first."""
    from sklearn.neighbors import NearestNeighbors

    distances, indices = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy)
    return distances[:, 1:], indices[:, 1:]


def strays(xy: np.ndarray, labels: np.ndarray, classes: list[str], paths: list[str]) -> list[Strays]:
    """The pictures whose nearest map neighbours are mostly of one other class, by (class, that class), most first."""
    if len(xy) <= STRAY_NEIGHBOURS:
        return []
    _, nearest = _nearest(xy, STRAY_NEIGHBOURS)
    found: dict[tuple[int, int], list[str]] = {}
    for i, around in enumerate(labels[nearest]):
        counts = np.bincount(around, minlength=len(classes))
        counts[labels[i]] = 0
        among = int(counts.argmax())
        if counts[among] > MOST * STRAY_NEIGHBOURS:
            found.setdefault((int(labels[i]), among), []).append(paths[i])
    ranked = sorted(found.items(), key=lambda item: (-len(item[1]), classes[item[0][0]], classes[item[0][1]]))
    return [Strays(classes[c], classes[among], len(members), members) for (c, among), members in ranked[:MAX_FACTS]]


def _attached(xy: np.ndarray, groups: np.ndarray, eps: float) -> np.ndarray:
    """DBSCAN's groups with each left-out point joined to the group of its nearest grouped point within ATTACH x eps:
    a sparser edge of an island still counts in its size."""
    grouped, loose = np.flatnonzero(groups >= 0), np.flatnonzero(groups < 0)
    if not len(grouped) or not len(loose):
        return groups
    from sklearn.neighbors import NearestNeighbors

    distance, nearest = NearestNeighbors(n_neighbors=1).fit(xy[grouped]).kneighbors(xy[loose])
    distance, nearest = distance[:, 0], nearest[:, 0]
    near = distance <= ATTACH * eps
    joined = groups.copy()
    joined[loose[near]] = groups[grouped[nearest[near]]]
    return joined


def class_groups(xy: np.ndarray, labels: np.ndarray, classes: list[str], paths: list[str]) -> list[ClassGroups]:
    """The classes whose map points form 2+ groups of a fair size (DBSCAN on the class's points, at the map's own
    scale), the most evenly split first."""
    from sklearn.cluster import DBSCAN

    if len(xy) <= SCALE_NEIGHBOURS:
        return []
    eps = EPS_SCALE * float(np.median(_nearest(xy, SCALE_NEIGHBOURS)[0][:, -1]))
    found = []
    for c, name in enumerate(classes):
        mine = np.flatnonzero(labels == c)
        least = max(GROUP_AT_LEAST, GROUP_SHARE * len(mine))
        if len(mine) < 2 * least or eps <= 0:
            continue
        groups = _attached(xy[mine], DBSCAN(eps=eps, min_samples=SCALE_NEIGHBOURS).fit_predict(xy[mine]), eps)
        members = [mine[groups == g] for g in np.unique(groups[groups >= 0])]
        members = sorted((m for m in members if len(m) >= least), key=len, reverse=True)
        if len(members) >= 2:
            middles = [m[np.linalg.norm(xy[m] - xy[m].mean(axis=0), axis=1).argmin()] for m in members]
            found.append(ClassGroups(name, [len(m) for m in members], [paths[i] for i in middles]))
    return sorted(found, key=lambda g: (-g.sizes[1], g.cls))[:MAX_FACTS]


def map_facts(xy: np.ndarray, labels: np.ndarray, classes: list[str], paths: list[str],
              keeps_neighbours: bool = True) -> list[ClassGroups | Strays]:
    """The map's facts: classes in separate groups, then pictures among another class (at most MAX_FACTS of each);
    none for a map whose nearness is not likeness (`keeps_neighbours` False: PCA)."""
    if not keeps_neighbours:
        return []
    xy, labels = np.asarray(xy, dtype=np.float32), np.asarray(labels, dtype=int)
    return [*class_groups(xy, labels, classes, paths), *strays(xy, labels, classes, paths)]
