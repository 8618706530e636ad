"""Moving and setting aside pictures on disk: journalled, undoable byte for byte, never outside the dataset."""
import hashlib
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from core.data.relabel import (
    JOURNAL_NAME,
    BatchStopped,
    add_picture,
    list_changes,
    move_picture,
    move_pictures,
    set_aside,
    set_aside_pictures,
    undo,
    undo_last,
    undo_last_batch,
)
from core.data.scan import scan_dataset
from core.errors import DatasetError


def write(root: Path, files: dict[str, int]) -> Path:
    """files: 'folder/class' -> how many small JPEGs (all different) to write there."""
    for folder, n in files.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGB", (16, 16), (i * 37 % 256, sum(map(ord, folder)) % 256, 90)).save(root / folder / f"{i}.jpg")
    return root


def tree(root: Path) -> dict[str, str]:
    """Every file and folder under root (the journal left out) -> hash of its content ('dir' for folders)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            found[Path(dirpath, name).relative_to(root).as_posix()] = "dir"
        for name in filenames:
            if name != JOURNAL_NAME:
                path = Path(dirpath, name)
                found[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def split_set(tmp_path) -> Path:
    return write(tmp_path / "split", {"train/cat": 4, "train/dog": 4, "valid/cat": 2, "valid/dog": 2})


def test_move_then_undo_restores_the_folders_byte_for_byte(split_set):
    before = tree(split_set)
    change = move_picture(split_set, "train/cat/1.jpg", "dog")
    assert (change.source, change.target, change.from_class, change.to_class) == \
        ("train/cat/1.jpg", "train/dog/1 (2).jpg", "cat", "dog")  # train/dog/1.jpg exists: a free name, no overwrite
    assert (split_set / "train/dog/1.jpg").read_bytes() != (split_set / "train/dog/1 (2).jpg").read_bytes()
    index = scan_dataset(split_set)
    assert index.counts()["train"] == {"cat": 3, "dog": 5}
    assert tree(split_set) != before
    undone = undo(split_set, change.id)
    assert undone.undone and tree(split_set) == before


def test_move_to_a_new_class_then_undo_removes_the_folder_it_made(split_set):
    before = tree(split_set)
    change = move_picture(split_set, split_set / "valid/dog/0.jpg", "fox")  # an absolute path inside is fine
    assert change.target == "valid/fox/0.jpg" and change.created == ["valid/fox"]
    undo_last(split_set)
    assert tree(split_set) == before


def test_set_aside_leaves_every_class_and_undo_brings_it_back(split_set):
    before = tree(split_set)
    change = set_aside(split_set, "train/dog/2.jpg")
    assert change.target == "train/_set_aside/dog/2.jpg" and (split_set / change.target).is_file()
    index = scan_dataset(split_set)
    assert index.classes == ["cat", "dog"] and "_set_aside" not in index.classes
    every_path = [p for items in index.splits.values() for p, _ in items] + list(index.unused)
    assert not [p for p in every_path if "_set_aside" in p.parts]
    assert index.counts()["train"] == {"cat": 4, "dog": 3}
    undo(split_set, change.id)
    assert tree(split_set) == before and scan_dataset(split_set).counts()["train"] == {"cat": 4, "dog": 4}


def test_flat_layout_moves_between_class_folders_and_sets_aside_beside_them(tmp_path):
    root = write(tmp_path / "flat", {"a": 5, "b": 5, "a/nested": 1})
    moved = move_picture(root, "a/nested/0.jpg", "b")
    assert moved.target == "b/0 (2).jpg" and moved.from_class == "a"
    aside = set_aside(root, "b/3.jpg")
    assert aside.target == "_set_aside/b/3.jpg"
    assert scan_dataset(root).classes == ["a", "b"]
    with pytest.raises(DatasetError, match="read as a split"):
        move_picture(root, "a/1.jpg", "train")


def test_the_journal_lists_every_change_with_when_from_and_to(split_set):
    first = move_picture(split_set, "train/cat/0.jpg", "dog")
    second = set_aside(split_set, "valid/cat/1.jpg")
    undo(split_set, first.id)
    changes = list_changes(split_set)
    assert [(c.id, c.kind, c.source, c.target) for c in changes] == [
        (1, "move", "train/cat/0.jpg", "train/dog/0 (2).jpg"),
        (2, "set_aside", "valid/cat/1.jpg", "valid/_set_aside/cat/1.jpg"),
    ]
    assert changes[0].undone and changes[1].undone is None and changes[1].when == second.when
    lines = [json.loads(line) for line in (split_set / JOURNAL_NAME).read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["move", "set_aside", "undo"]
    assert undo_last(split_set).id == 2
    with pytest.raises(DatasetError, match="no change to undo"):
        undo_last(split_set)
    with pytest.raises(DatasetError, match="already undone"):
        undo(split_set, 1)
    with pytest.raises(DatasetError, match="hidden or system file"):
        set_aside(split_set, JOURNAL_NAME)


def test_paths_outside_the_dataset_are_refused(split_set, tmp_path):
    outside = write(tmp_path / "elsewhere", {"cat": 1}) / "cat/0.jpg"
    (split_set / "train/cat/link.jpg").symlink_to(outside)
    (split_set / "train/linked").symlink_to(outside.parent, target_is_directory=True)
    write(split_set, {"train": 1})
    (split_set / "train/cat/._0.jpg").write_bytes(b"macOS metadata")
    for path, words in [
        (outside, "not inside the dataset folder"),
        ("../elsewhere/cat/0.jpg", "not inside the dataset folder"),
        ("train/cat/../../../elsewhere/cat/0.jpg", "not inside the dataset folder"),
        ("train/cat/link.jpg", "through a link"),
        ("train/linked/0.jpg", "through a link"),
        ("train/cat/missing.jpg", "does not exist"),
        ("train/cat", "is a folder"),
        ("train/cat/._0.jpg", "hidden or system file"),
        ("train/0.jpg", "not inside a class folder"),
    ]:
        with pytest.raises(DatasetError, match=words):
            move_picture(split_set, path, "dog")
    assert outside.is_file() and not list_changes(split_set)
    for bad in ("", "../dog", "a/b", ".hidden", "_set_aside"):
        with pytest.raises(DatasetError):
            move_picture(split_set, "train/cat/0.jpg", bad)
    with pytest.raises(DatasetError, match="already in class"):
        move_picture(split_set, "train/cat/0.jpg", "cat")


def test_undo_refuses_when_the_original_place_is_taken_or_the_picture_is_gone(split_set):
    taken = move_picture(split_set, "train/cat/0.jpg", "dog")
    write(split_set, {"train/cat": 1})  # a new train/cat/0.jpg takes the old place
    with pytest.raises(DatasetError, match="taken by another file"):
        undo(split_set, taken.id)
    gone = move_picture(split_set, "train/cat/1.jpg", "dog")
    again = move_picture(split_set, gone.target, "cat")  # moved on again: undo the later change first
    with pytest.raises(DatasetError, match=f"change {again.id}"):
        undo(split_set, gone.id)
    undo(split_set, again.id)
    undo(split_set, gone.id)
    assert (split_set / "train/cat/1.jpg").is_file()
    aside = set_aside(split_set, "valid/dog/0.jpg")
    (split_set / aside.target).write_bytes(b"not the same picture")
    with pytest.raises(DatasetError, match="not the same picture"):
        undo(split_set, aside.id)
    with pytest.raises(DatasetError, match="no change 99"):
        undo(split_set, 99)
    assert list_changes(split_set)[0].undone is None  # refusals change nothing


def test_a_class_folder_that_links_elsewhere_and_a_damaged_journal_move_nothing(tmp_path):
    root = write(tmp_path / "ds", {"cat": 2, "dog": 1})
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "bird").symlink_to(outside, target_is_directory=True)
    before = tree(root)
    with pytest.raises(DatasetError, match="outside the dataset"):
        move_picture(root, root / "cat" / "0.jpg", "bird")
    assert tree(root) == before and not list(outside.iterdir())
    (root / JOURNAL_NAME).write_text('{"kind": "undo"}\n')
    with pytest.raises(DatasetError, match="damaged"):
        move_picture(root, root / "cat" / "0.jpg", "dog")
    assert tree(root) == before, "refused before anything moved"


@pytest.fixture
def kept(tmp_path) -> Path:
    """A picture kept from use: outside every dataset."""
    (tmp_path / "kept").mkdir()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(tmp_path / "kept" / "20240101-120000-000001-abcd.jpg")
    return tmp_path / "kept" / "20240101-120000-000001-abcd.jpg"


def test_add_copies_a_picture_into_training_under_a_free_name_and_undo_takes_it_back(split_set, kept):
    before, sent = tree(split_set), kept.read_bytes()
    first = add_picture(split_set, kept, "cat", "field-1.jpg")
    second = add_picture(split_set, kept, "cat", "field-1.jpg")  # the name is taken: a free one, no overwrite
    fox = add_picture(split_set, kept, "fox", "field-1.jpg")  # a new class
    assert [(c.kind, c.target, c.from_class, c.to_class, c.created) for c in (first, second, fox)] == [
        ("add", "train/cat/field-1.jpg", None, "cat", []), ("add", "train/cat/field-1 (2).jpg", None, "cat", []),
        ("add", "train/fox/field-1.jpg", None, "fox", ["train/fox"])]
    assert first.source == kept.as_posix() and kept.read_bytes() == sent, "a copy: the kept picture stays"
    assert all((split_set / c.target).read_bytes() == sent for c in (first, second, fox))
    assert scan_dataset(split_set).counts()["train"] == {"cat": 6, "dog": 4, "fox": 1}
    assert [(c.id, c.kind, c.undone) for c in list_changes(split_set)] == [(1, "add", None), (2, "add", None),
                                                                          (3, "add", None)]
    undo(split_set, first.id)
    assert not (split_set / first.target).exists() and (split_set / second.target).is_file()
    undo_last(split_set)
    undo_last(split_set)
    assert tree(split_set) == before and kept.read_bytes() == sent, "the copies and the folder they made are gone"
    assert all(c.undone for c in list_changes(split_set))
    lines = [json.loads(line)["kind"] for line in (split_set / JOURNAL_NAME).read_text().splitlines()]
    assert lines == ["add"] * 3 + ["undo"] * 3


def test_add_goes_to_the_class_folder_of_a_flat_dataset(tmp_path, kept):
    root = write(tmp_path / "flat", {"a": 2, "b": 2})
    change = add_picture(root, kept, "a", "field-2.jpg")
    new = add_picture(root, str(kept), "c", "field-2.jpg")
    assert (change.target, new.target, new.created) == ("a/field-2.jpg", "c/field-2.jpg", ["c"])
    assert scan_dataset(root).classes == ["a", "b", "c"]
    with pytest.raises(DatasetError, match="read as a split"):
        add_picture(root, kept, "train", "field-2.jpg")
    undo_last(root)
    assert not (root / "c").exists() and (root / "a/field-2.jpg").is_file()


def test_add_refuses_what_it_cannot_do_safely_and_changes_nothing(split_set, kept, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (split_set / "train/bird").symlink_to(outside, target_is_directory=True)
    before = tree(split_set)
    for picture, to_class, name, words in [
        (tmp_path / "missing.jpg", "cat", "x.jpg", "does not exist"),
        (kept.parent, "cat", "x.jpg", "is a folder"),
        (split_set / "train/dog/0.jpg", "cat", "x.jpg", "already in the dataset"),
        (kept, "cat", "../x.jpg", "plain picture file name"),
        (kept, "cat", "sub/x.jpg", "plain picture file name"),
        (kept, "cat", ".x.jpg", "plain picture file name"),
        (kept, "cat", "x.txt", "plain picture file name"),
        (kept, "../dog", "x.jpg", "plain folder name"),
        (kept, "", "x.jpg", "plain folder name"),
        (kept, "bird", "x.jpg", "outside the dataset"),
    ]:
        with pytest.raises(DatasetError, match=words):
            add_picture(split_set, picture, to_class, name)
    assert tree(split_set) == before and not list_changes(split_set) and not list(outside.iterdir())
    change = add_picture(split_set, kept, "dog", "field-3.jpg")
    (split_set / change.target).write_bytes(b"another picture now")
    with pytest.raises(DatasetError, match="not the same picture"):
        undo(split_set, change.id)
    assert (split_set / change.target).read_bytes() == b"another picture now"


def test_a_batch_move_and_its_undo_restore_every_file_and_the_journal_says_so(split_set):
    before = tree(split_set)
    single = move_picture(split_set, "valid/dog/1.jpg", "cat")  # before the batch: not undone with it
    after_single = tree(split_set)
    moved = move_pictures(split_set, ["train/cat/0.jpg", "train/cat/1.jpg", split_set / "valid/cat/0.jpg"], "dog")
    assert [(c.source, c.target) for c in moved] == [("train/cat/0.jpg", "train/dog/0 (2).jpg"),
                                                      ("train/cat/1.jpg", "train/dog/1 (2).jpg"),
                                                      ("valid/cat/0.jpg", "valid/dog/0 (2).jpg")]
    assert {c.batch for c in moved} == {moved[0].id} and single.batch is None
    assert scan_dataset(split_set).counts()["train"] == {"cat": 2, "dog": 6}
    lines = [json.loads(line) for line in (split_set / JOURNAL_NAME).read_text().splitlines()]
    assert [line["batch"] for line in lines] == [None, moved[0].id, moved[0].id, moved[0].id]

    undone = undo_last_batch(split_set)
    assert [c.id for c in undone] == [moved[2].id, moved[1].id, moved[0].id], "newest first"
    assert tree(split_set) == after_single, "every picture of the batch back, the earlier change left alone"
    lines = [json.loads(line) for line in (split_set / JOURNAL_NAME).read_text().splitlines()]
    assert [line.get("undoes") for line in lines[4:]] == [moved[2].id, moved[1].id, moved[0].id]
    assert [c.id for c in undo_last_batch(split_set)] == [single.id], "a change of its own is undone alone"
    assert tree(split_set) == before

    aside = set_aside_pictures(split_set, ["train/dog/0.jpg", "valid/cat/1.jpg"])
    assert [c.target for c in aside] == ["train/_set_aside/dog/0.jpg", "valid/_set_aside/cat/1.jpg"]
    assert aside[0].batch == aside[1].batch == aside[0].id != moved[0].id
    assert len(undo_last_batch(split_set)) == 2 and tree(split_set) == before
    assert all(c.undone for c in list_changes(split_set))
    with pytest.raises(DatasetError, match="no change to undo"):
        undo_last_batch(split_set)


def test_an_old_journal_line_without_a_batch_still_loads_and_undoes_alone(split_set):
    old = move_picture(split_set, "train/cat/2.jpg", "dog").to_dict()
    old.pop("batch")  # as the app wrote it before batches existed
    (split_set / JOURNAL_NAME).write_text(json.dumps(old) + "\n")
    (loaded,) = list_changes(split_set)
    assert (loaded.id, loaded.batch, loaded.target) == (1, None, "train/dog/2 (2).jpg")
    batch = move_pictures(split_set, ["train/cat/3.jpg"], "dog")
    assert batch[0].batch == 2
    assert [c.id for c in undo_last_batch(split_set)] == [2]
    assert [c.id for c in undo_last_batch(split_set)] == [1]
    assert (split_set / "train/cat/2.jpg").is_file() and (split_set / "train/cat/3.jpg").is_file()


def test_a_batch_stopped_by_a_missing_picture_keeps_the_moved_ones_journaled_and_names_it(split_set):
    before = tree(split_set)
    paths = ["train/cat/0.jpg", "train/cat/1.jpg", "train/cat/gone.jpg", "train/cat/2.jpg"]
    said = r"stopped at gone.jpg: .*does not exist.*The 2 picture\(s\) before it were changed"
    with pytest.raises(BatchStopped, match=said) as stopped:
        move_pictures(split_set, paths, "dog")
    assert stopped.value.path == "train/cat/gone.jpg" and len(stopped.value.changes) == 2
    assert isinstance(stopped.value, DatasetError)
    assert [(c.source, c.batch) for c in list_changes(split_set)] == [("train/cat/0.jpg", 1), ("train/cat/1.jpg", 1)]
    assert (split_set / "train/cat/2.jpg").is_file(), "nothing after the stop moved"
    assert not (split_set / "train/cat/0.jpg").exists() and (split_set / "train/dog/0 (2).jpg").is_file()
    assert len(undo_last_batch(split_set)) == 2 and tree(split_set) == before


def test_undoing_a_batch_stops_at_a_picture_it_cannot_put_back_and_says_so(split_set):
    moved = move_pictures(split_set, ["train/cat/0.jpg", "train/cat/1.jpg", "train/cat/2.jpg"], "dog")
    write(split_set, {"train/cat": 2})  # new files take the old places of 0.jpg and 1.jpg
    said = r"stopped at 1 \(2\).jpg: .*taken by another file.*The 1 picture\(s\) before it were put back"
    with pytest.raises(BatchStopped, match=said) as err:
        undo_last_batch(split_set)
    assert [c.id for c in err.value.changes] == [moved[2].id]
    assert [c.undone is not None for c in list_changes(split_set)] == [False, False, True]
