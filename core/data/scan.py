"""Find the images of a dataset folder, whatever its layout, and split them reproducibly."""
from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from core.data.images import has_image_extension, is_ignored, not_an_image_file
from core.errors import DatasetError

SPLIT_ALIASES = {"train": ("train",), "valid": ("valid", "val", "validation"), "test": ("test",)}
TREE_EXAMPLE = """Expected one of these (names are examples):
  my_photos/            my_photos/
    cats/ a.jpg b.jpg     train/ cats/ dogs/
    dogs/ c.jpg d.jpg     valid/ cats/ dogs/"""


@dataclass
class DatasetIndex:
    """Image files of each split with their class index; classes sorted by name as in ImageFolder."""

    root: Path
    layout: str
    classes: list[str]
    splits: dict[str, list[tuple[Path, int]]] = field(default_factory=dict)
    unused: dict[Path, str] = field(default_factory=dict)  # files found but not used, with the reason
    empty_classes: list[str] = field(default_factory=list)
    unsplit_classes: list[str] = field(default_factory=list)
    unknown_classes: dict[str, list[str]] = field(default_factory=dict)
    valid_fraction: float | None = None
    seed: int | None = None

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class for each split (the recipe reads "train"), every class present, zeros included."""
        return {split: class_counts((y for _, y in items), self.classes) for split, items in self.splits.items()}

    def to_split_record(self) -> dict:
        """The exact split as JSON (paths relative to the root), so a run can be reproduced and re-evaluated."""
        return {
            "root": str(self.root), "layout": self.layout, "classes": self.classes,
            "valid_fraction": self.valid_fraction, "seed": self.seed,
            "splits": {s: [[p.relative_to(self.root).as_posix(), y] for p, y in items] for s, items in self.splits.items()},
        }


def class_counts(labels: Iterable[int], classes: list[str]) -> dict[str, int]:
    """How many of `labels` (class indices) each class has, in class order."""
    found = Counter(labels)
    return {name: found[i] for i, name in enumerate(classes)}


def index_from_split_record(record: dict) -> DatasetIndex:
    """The exact DatasetIndex a run trained on (its split.json), e.g. to evaluate it on its own valid set."""
    root = Path(record["root"])
    index = DatasetIndex(root=root, layout=record["layout"], classes=list(record["classes"]),
                         valid_fraction=record.get("valid_fraction"), seed=record.get("seed"))
    index.splits = {split: [(root / path, int(label)) for path, label in items] for split, items in record["splits"].items()}
    return index


def file_stamp(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of a file, None when it cannot be read."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def walk_files(folder: Path) -> list[Path]:
    """Every non-hidden file under `folder`, sorted; hidden and system folders are not entered."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not is_ignored(Path(d))]
        found += [Path(dirpath) / name for name in filenames if not is_ignored(Path(name))]
    return sorted(found)


def subfolders(folder: Path) -> list[Path]:
    """Subfolders that are not hidden or system folders, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and not is_ignored(Path(p.name)))


def _split_dir(root: Path, split: str) -> Path | None:
    for alias in SPLIT_ALIASES[split]:
        if (root / alias).is_dir():
            return root / alias
    return None


def _classes_in(folder: Path, index: DatasetIndex) -> dict[str, list[Path]]:
    """Images of each class subfolder (nested folders included); other files go to `index.unused`."""
    images = {}
    for class_dir in subfolders(folder):
        files = walk_files(class_dir)
        index.unused.update({p: not_an_image_file(p) for p in files if not has_image_extension(p)})
        images[class_dir.name] = [p for p in files if has_image_extension(p)]
    for p in sorted(folder.iterdir()):
        if p.is_file() and not is_ignored(Path(p.name)):
            index.unused[p] = "not inside a class folder" if has_image_extension(p) else not_an_image_file(p)
    return images


def _stratified_split(per_class: dict[str, list[Path]], index: DatasetIndex, fraction: float, seed: int) -> None:
    """Hold out `fraction` of every class (at least one image), the same files for the same seed."""
    train, valid = [], []
    for label, name in enumerate(index.classes):
        files = sorted(per_class[name])
        random.Random(f"{seed}:{name}").shuffle(files)
        if len(files) < 2:
            index.unsplit_classes.append(name)
            n_valid = 0
        else:
            n_valid = min(len(files) - 1, max(1, round(len(files) * fraction)))
        valid += [(p, label) for p in sorted(files[:n_valid])]
        train += [(p, label) for p in sorted(files[n_valid:])]
    index.splits["train"], index.splits["valid"] = train, valid
    index.valid_fraction, index.seed = fraction, seed


def _check_folder(root: Path) -> None:
    if not root.exists():
        raise DatasetError(f"{root} does not exist.\n{TREE_EXAMPLE}")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder.\n{TREE_EXAMPLE}")


def _explain_too_few(root: Path, per_class: dict[str, list[Path]], where: Path) -> DatasetError:
    with_images = [name + "/" for name, files in per_class.items() if files]
    loose = [p for p in where.iterdir() if p.is_file() and has_image_extension(p)]
    if with_images:
        found = f"only one class folder with images ({with_images[0]})"
    elif loose:
        found = f"{len(loose)} images lying directly in it but no class folders"
    elif per_class:
        found = f"{len(per_class)} folder(s) ({', '.join(sorted(per_class)[:5])}) but no images in them"
    else:
        found = "no images and no subfolders"
    return DatasetError(f"{where} has {found}; a classifier needs at least 2 classes, one folder each.\n{TREE_EXAMPLE}")


def scan_dataset(root: str | Path, valid_fraction: float = 0.2, seed: int = 0) -> DatasetIndex:
    """Index a dataset folder (split, train-only or flat layout), or raise DatasetError saying what was found."""
    if not 0 < valid_fraction < 1:
        raise DatasetError("the validation share must be between 0 and 1 (e.g. 0.2 for 20 %)")
    root = Path(root).expanduser()
    _check_folder(root)
    root = root.resolve()
    train_dir, valid_dir = _split_dir(root, "train"), _split_dir(root, "valid")
    index = DatasetIndex(root=root, layout="split" if train_dir and valid_dir else "train-only" if train_dir else "flat", classes=[])
    per_class = _classes_in(train_dir or root, index)
    index.classes = sorted(name for name, files in per_class.items() if files)
    index.empty_classes = sorted(name for name, files in per_class.items() if not files)
    if len(index.classes) < 2:
        raise _explain_too_few(root, per_class, train_dir or root)
    if index.layout == "split":
        index.splits["train"] = [(p, index.classes.index(c)) for c in index.classes for p in per_class[c]]
    else:
        _stratified_split({c: per_class[c] for c in index.classes}, index, valid_fraction, seed)
    for split, folder in (("valid", valid_dir if index.layout == "split" else None), ("test", _split_dir(root, "test"))):
        if folder is None:
            continue
        found = _classes_in(folder, index)
        index.unknown_classes[split] = sorted(c for c, files in found.items() if files and c not in index.classes)
        index.splits[split] = [(p, index.classes.index(c)) for c in index.classes for p in found.get(c, [])]
    if not index.splits["valid"] and index.layout != "split":
        raise DatasetError(f"{root}: every class has a single image, so none can be held out for validation; "
                           "add at least 2 images per class.")
    if not index.splits["valid"]:
        raise DatasetError(f"{valid_dir} holds no images of the training classes ({', '.join(index.classes)}).\n{TREE_EXAMPLE}")
    return index


def find_datasets(root: Path, depth: int = 3) -> list[Path]:
    """Folders under `root` (itself included) that look like a dataset, nearest first, without reading images."""
    found, level = [], [root]
    for _ in range(depth + 1):
        hits = [p for p in level if _looks_like_dataset(p)]
        found += hits
        level = [child for p in level if p not in hits for child in _safe_subfolders(p)]
    return found


def _safe_subfolders(path: Path) -> list[Path]:
    try:
        return subfolders(path)
    except OSError:
        return []


def _looks_like_dataset(path: Path) -> bool:
    """train/ (with or without valid/), or at least two subfolders holding image files directly."""
    if (path / "train").is_dir():
        return True
    with_images = 0
    for child in _safe_subfolders(path):
        try:
            with_images += any(has_image_extension(Path(e.name)) for e in os.scandir(child) if e.is_file())
        except OSError:
            continue
        if with_images >= 2:
            return True
    return False
