"""Which paths of a dataset folder a change may touch: inside the folder (never through a link), a picture of a class,
and class names that scanning reads back as classes. The checks under relabelling (core.data.relabel)."""
from __future__ import annotations

import os
from pathlib import Path

from core.data.images import SET_ASIDE_FOLDER, is_ignored
from core.data.scan import SPLIT_ALIASES
from core.errors import DatasetError

SPLIT_NAMES = {alias for aliases in SPLIT_ALIASES.values() for alias in aliases}
NOT_IN_A_CLASS = {  # whether the picture is in the set-aside folder -> why it cannot be changed
    True: "{name} is not inside the set-aside folder of the dataset; only pictures of a class can be changed.",
    False: "{name} is not inside a class folder of the dataset; only pictures of a class can be changed.",
}


def dataset_root(dataset_root: str | Path) -> Path:
    """The dataset folder, resolved, or DatasetError when it is not a folder."""
    root = Path(dataset_root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a dataset folder (it does not exist or is a file).")
    return root.resolve()


def inside(root: Path, path: str | Path) -> Path:
    """`path` (absolute, or relative to root) as an absolute path inside root, or DatasetError saying why not."""
    given = Path(path).expanduser()
    candidate = Path(os.path.normpath(given if given.is_absolute() else root / given))
    if candidate != root and root not in candidate.parents:
        raise DatasetError(f"{path} is not inside the dataset folder {root}; only its own pictures can be changed.")
    if root not in Path(os.path.realpath(candidate)).parents:
        raise DatasetError(f"{path} leads outside the dataset folder {root} (through a link); it is left alone.")
    return candidate


def place(root: Path, path: Path) -> tuple[Path, str | None, bool]:
    """(split folder or root, class name, whether set aside) of a picture: the class folder under
    train/valid/test when the dataset has a train/ folder, else directly under the root."""
    parts = path.relative_to(root).parts
    base, rest = root, parts
    if (root / "train").is_dir() and parts and parts[0].lower() in SPLIT_NAMES:
        base, rest = root / parts[0], parts[1:]
    set_aside = bool(rest) and rest[0].lower() == SET_ASIDE_FOLDER
    if set_aside:
        rest = rest[1:]
    if len(rest) < 2:
        raise DatasetError(NOT_IN_A_CLASS[set_aside].format(name=path.name))
    return base, rest[0], set_aside


def picture_at(root: Path, path: str | Path) -> Path:
    """The picture at `path`, checked: inside root, a file, not a hidden or system file."""
    picture = inside(root, path)
    if not picture.is_file():
        raise DatasetError(f"{path} is not a picture in the dataset folder (it does not exist or is a folder).")
    if is_ignored(Path(*[p for p in picture.relative_to(root).parts if p.lower() != SET_ASIDE_FOLDER])):
        raise DatasetError(f"{path} is a hidden or system file, not a picture of the dataset.")
    return picture


def check_class_name(name: str, flat: bool) -> None:
    """DatasetError unless `name` is a plain folder name that a scan reads back as a class."""
    if not name or name != name.strip() or any(c in name for c in "/\\\0") or name in (".", ".."):
        raise DatasetError(f"{name!r} is not a plain folder name for a class.")
    if name.startswith(".") or is_ignored(Path(name)):
        raise DatasetError(f"{name!r} cannot be a class: folders with that name are ignored when scanning.")
    if flat and name.lower() in SPLIT_NAMES:
        raise DatasetError(f"{name!r} cannot be a class here: a folder with that name would be read as a split.")
