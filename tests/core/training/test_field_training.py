"""Learning from use: pictures filed from the field join a run's training split and the continued run trains on them."""
import json
from pathlib import Path

import pytest

from core.data.demo import make_shapes_dataset
from core.events import FeaturesProgress, Message, RunFinished, RunStarted
from core.runstore.folder import RunFolder
from core.runstore.table import read_record
from core.training.field import FIELD_PREFIX, add_to_split, field_count, field_pictures_in, train_again


def _field_pictures(folder: Path, per_class: int) -> list[tuple[Path, str]]:
    """New shape pictures from outside the run's dataset, named as pictures filed from use are."""
    data = make_shapes_dataset(folder / "new", train_per_class=per_class, valid_per_class=1, size=112, seed=7)
    pictures = []
    for n, path in enumerate(sorted((data / "train").rglob("*.jpg"))):
        named = path.with_name(f"{FIELD_PREFIX}20261203-120000-{n:06d}-abcd.jpg")  # a kept picture's id
        path.rename(named)
        pictures.append((named, path.parent.name))
    return pictures


def test_added_pictures_join_the_training_split_once_and_are_counted(frozen_run, tmp_path):
    run_dir = frozen_run.copy_into(tmp_path / "runs")
    run = RunFolder(run_dir)
    index = run.dataset_index()
    classes, train, valid = index.classes, index.splits["train"], index.splits["valid"]
    pictures = _field_pictures(tmp_path, per_class=1)
    already = [(train[0][0], classes[train[0][1]]), (valid[0][0], classes[valid[0][1]])]

    assert add_to_split(run_dir, pictures + already) == len(pictures) == 4, "a picture of the split is skipped"
    assert add_to_split(run_dir, pictures) == 0, "and so is one added before"
    after = run.dataset_index().splits["train"]
    assert after[:len(train)] == train and [(p, classes[y]) for p, y in after[len(train):]] == pictures
    assert run.dataset_index().splits["valid"] == valid, "validation stays as it was"
    assert field_count(run_dir) == 4 and read_record(run_dir).field_pictures == 4
    assert field_pictures_in([("train/circle/field-trip.jpg", 0)]) == 0, "a dataset's own field-trip is not one"
    assert json.loads(run.split.read_text())["splits"]["train"][-1][0] == pictures[-1][0].as_posix()

    with pytest.raises(ValueError, match="new run"):
        add_to_split(run_dir, [(pictures[0][0], "hexagon")])
    with pytest.raises(FileNotFoundError, match="not a picture file"):
        add_to_split(run_dir, [(tmp_path / "missing.jpg", "circle")])
    run.update_summary(status="running")
    with pytest.raises(ValueError, match="training now"):
        add_to_split(run_dir, pictures)


def test_train_again_continues_the_run_on_the_added_pictures(frozen_run, tmp_path):
    run_dir = frozen_run.copy_into(tmp_path / "runs")
    before = next(e for e in frozen_run.events if isinstance(e, RunStarted)).train_size
    views = RunFolder(run_dir).read_config()["views"] or 1
    pictures = _field_pictures(tmp_path, per_class=2)

    events = list(train_again(run_dir, pictures, epochs=1))

    assert isinstance(events[0], Message) and "8 picture(s) from use" in events[0].text
    started = next(e for e in events if isinstance(e, RunStarted))
    assert started.train_size == before + 8 and started.first_epoch == frozen_run.finished.epochs_run + 1
    first = next(e for e in events if isinstance(e, FeaturesProgress))
    assert first.cached == first.total - 8 * views, "the run's pictures come from the cache, the new ones are read"
    assert isinstance(events[-1], RunFinished) and events[-1].epochs_run == frozen_run.finished.epochs_run + 1
    assert RunFolder(run_dir).read_summary()["field_pictures"] == 8, "the summary written by training counts them"
    assert read_record(run_dir).field_pictures == 8
