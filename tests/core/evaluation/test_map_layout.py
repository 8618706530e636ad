"""The map's layout: seeded, every row placed (a sample laid out above the cap, the rest by their neighbours), PCA's
shape, a clear sentence for an unknown method, and the neighbour agreement that measures a layout."""
import numpy as np
import pytest

from core.evaluation.map_layout import METHODS, layout, neighbour_agreement, place_by_neighbours


def _blobs(per_class: int = 40, classes: int = 3, dims: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well separated classes: each a direction of its own plus a little noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dims)) * 4
    labels = np.repeat(np.arange(classes), per_class)
    return (centres[labels] + rng.normal(size=(len(labels), dims))).astype(np.float32), labels


def test_a_seed_gives_one_map_every_time_and_picks_the_sample():
    x, _ = _blobs()
    first, again = layout(x, "tsne", seed=3), layout(x, "tsne", seed=3)
    assert first.xy.shape == (len(x), 2) and first.xy.dtype == np.float32
    assert np.array_equal(first.xy, again.xy)
    assert (first.method, first.laid_out, first.sampled) == ("tsne", len(x), False)
    sampled = [layout(x, "tsne", seed=seed, cap=60).xy for seed in (3, 3, 4)]
    assert np.array_equal(sampled[0], sampled[1]) and not np.allclose(sampled[0], sampled[2])


def test_above_the_cap_a_sample_is_laid_out_and_every_other_row_placed_among_its_own():
    x, labels = _blobs(per_class=40)
    placed = layout(x, "tsne", seed=0, cap=60)
    assert placed.sampled and placed.laid_out == 60 and placed.xy.shape == (len(x), 2)
    assert np.isfinite(placed.xy).all()
    assert neighbour_agreement(placed.xy, labels) > 0.9  # the placed rows land in their class's island



def test_a_row_is_placed_at_the_median_of_its_most_alike_anchors():
    anchors = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    anchor_xy = np.array([[0, 0], [10, 0], [0, 10]], dtype=np.float32)
    rows = np.array([[5, 0.1, 0], [0, 0.2, 3]], dtype=np.float32)  # alike the first anchor, then the third
    assert np.array_equal(place_by_neighbours(rows, anchors, anchor_xy, k=1), [[0, 0], [0, 10]])
    assert np.array_equal(place_by_neighbours(anchors, anchors, anchor_xy, k=1), anchor_xy)


def test_pca_gives_two_columns_even_for_a_single_feature_and_tiny_sets_a_line():
    x, _ = _blobs(per_class=5)
    assert layout(x, "pca").xy.shape == (15, 2)
    assert layout(x[:, :1], "pca").xy.shape == (15, 2)
    tiny = layout(x[:2], "tsne")
    assert tiny.xy.shape == (2, 2) and tiny.laid_out == 2


def test_an_unknown_method_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"'umap' is not a way to draw the map; choose one of tsne, pca"):
        layout(np.zeros((5, 3), np.float32), "umap")
    assert set(METHODS) == {"tsne", "pca"} and METHODS["tsne"].keeps_neighbours and not METHODS["pca"].keeps_neighbours


def test_neighbour_agreement_counts_the_share_of_nearest_points_of_the_same_class():
    line = np.array([[0.0, 0], [1, 0], [2, 0], [100, 0], [101, 0], [102, 0]], dtype=np.float32)
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert neighbour_agreement(line, labels, k=2) == 1.0
    # k=3: each point's third neighbour is across the gap
    assert neighbour_agreement(line, labels, k=3) == pytest.approx(2 / 3)
    mixed = np.array([0, 1, 0, 1, 0, 1])
    assert neighbour_agreement(line, mixed, k=2) == pytest.approx(1 / 3)
    assert np.isnan(neighbour_agreement(line[:2], labels[:2], k=5))
    # cosine: only the direction counts, so a far point in the same direction is a near one
    rays = np.array([[1, 0], [50, 0], [0, 1], [0, 60]], dtype=np.float32)
    assert neighbour_agreement(rays, np.array([0, 0, 1, 1]), k=1, cosine=True) == 1.0
    assert neighbour_agreement(rays, np.array([0, 0, 1, 1]), k=1) < 1.0
