import numpy as np
from PIL import Image

from core.data.demo import SHAPES, make_shapes_dataset
from core.data.scan import scan_dataset


def _pixels(root, rel):
    return np.asarray(Image.open(root / rel))


def test_same_seed_gives_same_pixels_and_other_seed_differs(tmp_path):
    a = make_shapes_dataset(tmp_path / "a", train_per_class=3, valid_per_class=2, size=64, seed=7)
    b = make_shapes_dataset(tmp_path / "b", train_per_class=3, valid_per_class=2, size=64, seed=7)
    c = make_shapes_dataset(tmp_path / "c", train_per_class=3, valid_per_class=2, size=64, seed=8)
    rel = "valid/star/star_001.jpg"
    assert np.array_equal(_pixels(a, rel), _pixels(b, rel))
    assert not np.array_equal(_pixels(a, rel), _pixels(c, rel))


def test_demo_layout_is_an_imagefolder_with_balanced_splits(tmp_path):
    root = make_shapes_dataset(tmp_path / "shapes", train_per_class=4, valid_per_class=2, size=64)
    index = scan_dataset(root)
    assert index.classes == sorted(SHAPES)
    counts = index.counts()
    assert all(n == 4 for n in counts["train"].values())
    assert all(n == 2 for n in counts["valid"].values())
