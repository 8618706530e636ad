"""Layouts: split, train-only and flat folders are found; a flat folder is split stratified and reproducibly."""
import json
from pathlib import Path

import pytest
from PIL import Image

from core.data.scan import find_datasets, index_from_split_record, scan_dataset
from core.errors import DatasetError
from tests.messy import make_messy_dataset


def write(root: Path, files: dict[str, int]) -> Path:
    """files: 'folder/class' -> how many small JPEGs to write there."""
    for folder, n in files.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGB", (16, 16), (i * 7 % 256, 40, 90)).save(root / folder / f"{i}.jpg")
    return root


def test_flat_layout_is_split_stratified_and_the_same_for_the_same_seed(tmp_path):
    root = write(tmp_path / "flat", {"a": 50, "b": 20, "c": 10})
    index = scan_dataset(root, valid_fraction=0.2, seed=3)
    assert index.layout == "flat"
    assert index.counts()["valid"] == {"a": 10, "b": 4, "c": 2}
    assert index.counts()["train"] == {"a": 40, "b": 16, "c": 8}
    assert not {p for p, _ in index.splits["train"]} & {p for p, _ in index.splits["valid"]}
    again = scan_dataset(root, valid_fraction=0.2, seed=3)
    assert again.splits == index.splits
    other = scan_dataset(root, valid_fraction=0.2, seed=4)
    assert other.splits["valid"] != index.splits["valid"] and other.counts() == index.counts()
    record = index.to_split_record()
    assert record["seed"] == 3 and record["splits"]["valid"][0][0].count("/") == 1
    assert index_from_split_record(json.loads(json.dumps(record))).splits == index.splits


def test_messy_flat_folder_nested_images_belong_to_their_class_and_junk_is_listed_or_ignored(tmp_path):
    index = scan_dataset(make_messy_dataset(tmp_path / "messy"))
    assert index.classes == ["cat", "dog"] and index.empty_classes == ["empty"]
    files = {p.relative_to(index.root).as_posix() for items in index.splits.values() for p, _ in items}
    assert "cat/nested/deeper/inside.jpg" in files and "cat/ünïcødé 猫.jpg" in files
    assert not any("DS_Store" in f or "/._" in f or "MACOSX" in f for f in files)
    assert {p.name: why for p, why in index.unused.items()} == {"notes.txt": "not an image file (.txt)"}  # not Thumbs.db


def test_a_photo_outside_the_class_folders_is_listed_with_that_reason(tmp_path):
    root = write(tmp_path / "ds", {"a": 3, "b": 3, ".": 1})
    assert {p.name: why for p, why in scan_dataset(root).unused.items()} == {"0.jpg": "not inside a class folder"}


def test_split_layout_accepts_val_alias_and_optional_test(tmp_path):
    root = write(tmp_path / "ds", {"train/x": 3, "train/y": 3, "val/x": 1, "val/y": 1, "test/x": 2, "valid_typo/z": 1})
    index = scan_dataset(root)
    assert index.layout == "split" and index.counts()["test"] == {"x": 2, "y": 0}


def test_train_without_valid_holds_out_part_of_train(tmp_path):
    index = scan_dataset(write(tmp_path / "ds", {"train/x": 10, "train/y": 10}), valid_fraction=0.3)
    assert index.layout == "train-only" and index.counts()["valid"] == {"x": 3, "y": 3}


def test_a_class_with_one_image_is_named_not_split(tmp_path):
    index = scan_dataset(write(tmp_path / "ds", {"a": 5, "b": 1}))
    assert index.unsplit_classes == ["b"] and index.counts()["valid"]["b"] == 0


@pytest.mark.parametrize("files,words", [
    ({}, "does not exist"),
    ({"a": 3}, "only one class folder with images (a/)"),
    ({"a": 0, "b": 0}, "no images in them"),
    ({".": 4}, "4 images lying directly in it but no class folders"),
])
def test_wrong_folders_are_explained_with_a_tree_example(tmp_path, files, words):
    root = write(tmp_path / "ds", files) if files else tmp_path / "missing"
    with pytest.raises(DatasetError) as err:
        scan_dataset(root)
    assert words in str(err.value) and "cats/" in str(err.value)


def test_a_file_instead_of_a_folder_is_explained(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(b"x")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        scan_dataset(tmp_path / "photo.jpg")


def test_find_datasets_lists_both_layouts_nearest_first(tmp_path):
    write(tmp_path, {"b/train/x": 1, "b/valid/x": 1, "group/a/train/x": 1, "datasets/pets/cat": 1, "datasets/pets/dog": 1,
                     "one/only": 2})
    assert find_datasets(tmp_path) == [tmp_path / "b", tmp_path / "datasets/pets", tmp_path / "group/a"]
