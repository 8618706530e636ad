"""Learning from use: pictures met in the field, filed by the owner, join a run's training split, and the run carries
on (`continue_run`) in its own folder so that it learns from them; summary.json counts them (`field_pictures`)."""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Iterable, Iterator

from core.events import Event, Message
from core.runstore.folder import RunFolder
from core.runstore.kept import ID_PATTERN
from core.runstore.owner import ALIVE, owner_state

FIELD_PREFIX = "field-"  # the file name a picture filed from use starts with (e.g. field-<kept id>.jpg)
FILED_NAME = re.compile(re.escape(FIELD_PREFIX) + ID_PATTERN.pattern + r"( \(\d+\))?")
AGAIN_EPOCHS = (3, 10)  # train_again's default: a third of the run's planned epochs, within these bounds


def field_pictures_in(items: Iterable[tuple[str | Path, object]]) -> int:
    """How many (path, label) training items are pictures filed from use: named FIELD_PREFIX + a kept picture's id
    (a " (2)" the filing added to stay clear of a taken name allowed), so a dataset's own field-trip.jpg is not."""
    return sum(bool(FILED_NAME.fullmatch(Path(path).stem)) for path, _ in items)


def field_count(run_dir: str | Path) -> int:
    """The run's pictures from use among its training pictures, as its summary.json says (0 when it does not)."""
    try:
        return int(RunFolder(run_dir).read_summary().get("field_pictures") or 0)
    except (TypeError, ValueError):
        return 0


def _same_file(path: str | Path) -> str:
    return os.path.normcase(os.path.normpath(os.path.abspath(path)))


def _relative(root: Path, path: Path) -> str:
    """The split record's name of `path`: relative to the dataset root when inside it, else the absolute path."""
    path = Path(os.path.abspath(path))
    try:
        return path.relative_to(Path(os.path.abspath(root))).as_posix()
    except ValueError:
        return path.as_posix()


def _check_idle(run: RunFolder) -> None:
    """ValueError when the run is training now: its split must not change under it."""
    if owner_state(run.path) == ALIVE or run.read_summary().get("status") == "running":
        raise ValueError(f"{run.run_id} is training now; wait until it ends before adding pictures to it.")


def add_to_split(run_dir: str | Path, pictures: list[tuple[Path, str]]) -> int:
    """Append (picture, class) pairs to the run's training split (split.json), for classes the run knows; a picture
    already in any of its splits is skipped (a validation picture stays one). Updates summary.json's
    `field_pictures`. Returns how many were added."""
    run = RunFolder(run_dir)
    _check_idle(run)
    record = run.read_split_record()
    classes = list(record.get("classes") or [])
    new = sorted({str(name) for _, name in pictures} - set(classes))
    if new:
        raise ValueError(f"{run.run_id} does not know the class {new[0]!r} (its classes: {', '.join(classes)}); "
                         "a new class needs a new run: start a new run on the dataset.")
    missing = [str(path) for path, _ in pictures if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"{missing[0]} is not a picture file, so it cannot be added to {run.run_id}.")
    root = Path(record["root"])
    splits = record.setdefault("splits", {})
    train = splits.setdefault("train", [])
    present = {_same_file(root / name) for items in splits.values() for name, _ in items}
    added = 0
    for path, name in pictures:
        if _same_file(path) in present:
            continue
        present.add(_same_file(path))
        train.append([_relative(root, Path(path)), classes.index(str(name))])
        added += 1
    if added:
        run.write_split(record)
    run.update_summary(field_pictures=field_pictures_in(train))
    return added


def remove_from_split(run_dir: str | Path, paths: list[Path]) -> int:
    """Take pictures out of the run's training split (a filing undone after the run learned from it), so that the run
    can still be continued (it checks that every picture of its split is there); updates `field_pictures`. Returns
    how many were taken out."""
    run = RunFolder(run_dir)
    _check_idle(run)
    record = run.read_split_record()
    root, gone = Path(record["root"]), {_same_file(path) for path in paths}
    train = record.setdefault("splits", {}).setdefault("train", [])
    kept = [item for item in train if _same_file(root / item[0]) not in gone]
    if len(kept) != len(train):
        record["splits"]["train"] = kept
        run.write_split(record)
    run.update_summary(field_pictures=field_pictures_in(kept))
    return len(train) - len(kept)


def again_epochs(run_dir: str | Path) -> int:
    """How many more epochs `train_again` gives a run by default: a third of its plan, within AGAIN_EPOCHS."""
    try:
        planned = int(RunFolder(run_dir).read_config().get("epochs") or 0)
    except (TypeError, ValueError):
        planned = 0
    low, high = AGAIN_EPOCHS
    return max(low, min(high, planned // 3))


def train_again(run_dir: str | Path, pictures: list[tuple[Path, str]], epochs: int | None = None,
                stop: threading.Event | None = None) -> Iterator[Event]:
    """Add the pictures to the run's training split, then carry the run on for `epochs` more (default
    `again_epochs`) in its own folder. best.pt becomes the best of these new epochs even when an earlier epoch did
    better on the validation pictures, which hold none of the pictures from use: asked to learn from them, the run
    must not keep a model that never saw them (bench/field_loop.py measured a run that did)."""
    # imported here: continue_run's RunState counts field pictures with this module (an import cycle otherwise)
    from core.training.continued import continue_run

    added = add_to_split(run_dir, pictures)
    more = epochs or again_epochs(run_dir)
    yield Message(f"{added} picture(s) from use added to the training pictures ({field_count(run_dir)} in all); "
                  f"training {more} more epoch(s).")
    yield from continue_run(run_dir, more, stop, fresh_best=True)
