"""The map's facts on maps drawn by hand: a class in two islands, pictures of one class inside another's island,
nothing where nothing stands out, and nothing at all for a PCA map."""
import json

import numpy as np

from core.evaluation.map_facts import MAX_FACTS, ClassGroups, Strays, map_facts

CLASSES = ["circle", "square", "star"]


def _island(rng, centre, count: int) -> np.ndarray:
    return np.asarray(centre, dtype=np.float32) + rng.normal(0, 1.0, size=(count, 2)).astype(np.float32)


def _map(*parts: tuple[int, tuple[float, float], int], seed: int = 0):
    """(xy, labels, paths) of islands given as (class index, centre, count)."""
    rng = np.random.default_rng(seed)
    xy = np.concatenate([_island(rng, centre, count) for _, centre, count in parts])
    labels = np.concatenate([np.full(count, c) for c, _, count in parts])
    paths = [f"/data/{CLASSES[c]}/{i:03d}.jpg" for i, c in enumerate(labels)]
    return xy, labels, paths


def test_a_class_in_two_islands_is_one_fact_with_both_sizes_and_an_example_of_each():
    xy, labels, paths = _map((0, (0, 0), 40), (1, (30, 0), 40), (2, (0, 30), 30), (2, (30, 30), 12))
    facts = map_facts(xy, labels, CLASSES, paths)
    assert facts == [ClassGroups("star", [30, 12], facts[0].examples)]
    first, second = facts[0].examples
    assert np.linalg.norm(xy[paths.index(first)] - (0, 30)) < 2.5
    assert np.linalg.norm(xy[paths.index(second)] - (30, 30)) < 2.5
    assert facts[0].to_dict() == {"kind": "groups", "cls": "star", "sizes": [30, 12], "examples": [first, second]}


def test_a_small_far_cluster_of_a_class_is_no_group_of_its_own():
    # 4 pictures of 40 + 4: under both 5 and 10 % of the class
    xy, labels, paths = _map((0, (0, 0), 40), (0, (40, 40), 4), (1, (30, 0), 40))
    assert [f for f in map_facts(xy, labels, CLASSES, paths) if f.kind == "groups"] == []


def test_pictures_inside_another_class_island_are_strays_among_it():
    xy, labels, paths = _map((0, (0, 0), 60), (1, (30, 0), 40), (2, (0, 30), 40))
    rng = np.random.default_rng(1)
    strays_at = rng.choice(np.flatnonzero(labels == 0), 3, replace=False)
    xy[np.flatnonzero(labels == 1)[:3]] = xy[strays_at] + 0.05  # 3 squares among the circles
    facts = map_facts(xy, labels, CLASSES, paths)
    found = [f for f in facts if isinstance(f, Strays)]
    assert len(found) == 1
    assert (found[0].cls, found[0].among, found[0].count) == ("square", "circle", 3)
    assert sorted(found[0].paths) == sorted(paths[i] for i in np.flatnonzero(labels == 1)[:3])
    assert json.loads(json.dumps(found[0].to_dict()))["kind"] == "strays"


def test_clean_islands_give_no_facts_and_a_pca_map_none_at_all():
    xy, labels, paths = _map((0, (0, 0), 40), (1, (30, 0), 40), (2, (0, 30), 40))
    assert map_facts(xy, labels, CLASSES, paths) == []
    mixed = labels.copy()
    mixed[::2] = (mixed[::2] + 1) % 3  # every other picture among another class: facts on a t-SNE map
    assert map_facts(xy, mixed, CLASSES, paths)
    assert map_facts(xy, mixed, CLASSES, paths, keeps_neighbours=False) == []


def test_at_most_three_facts_of_a_kind_largest_first():
    parts = [(c % 3, (40.0 * c, 0), 30) for c in range(9)]  # each class in three islands
    xy, labels, paths = _map(*parts)
    groups = [f for f in map_facts(xy, labels, CLASSES, paths) if f.kind == "groups"]
    assert len(groups) == MAX_FACTS == 3 and all(len(g.sizes) == 3 for g in groups)
    assert map_facts(xy[:4], labels[:4], CLASSES, paths[:4]) == []  # too few pictures to measure
