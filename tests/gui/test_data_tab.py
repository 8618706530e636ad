from core.demo_data import make_shapes_dataset
from gui.context import AppContext
from gui.data_tab import describe_dataset, find_datasets


def test_find_datasets_lists_train_valid_folders_nearest_first_without_descending_into_them(tmp_path):
    for rel in ("b/train/x", "b/valid/x", "group/a/train/x", "group/a/val/x", "b/train/nested/train/y",
                "only-train/train/x", "too/deep/down/here/d/train/x", "too/deep/down/here/d/valid/x"):
        (tmp_path / rel).mkdir(parents=True)
    assert find_datasets(tmp_path) == [tmp_path / "b", tmp_path / "group" / "a"]


def test_describe_dataset_counts_and_thumbnails(tmp_path):
    root = make_shapes_dataset(tmp_path / "shapes", train_per_class=5, valid_per_class=2, size=48)
    ctx = AppContext(data_root=tmp_path, runs_dir=tmp_path / "runs", initial_dataset=root)
    summary, table, thumbs = describe_dataset(ctx, str(root))
    assert summary.startswith("**4 classes**")
    assert table[0] == ["class", "train", "valid"] and table[-1] == ["total", 20, 8]
    assert len(thumbs) == 16 and {caption for _, caption in thumbs} == {"circle", "square", "star", "triangle"}
    warning, table, thumbs = describe_dataset(ctx, "/etc")
    assert warning.startswith("⚠️") and table == [] and thumbs == []
