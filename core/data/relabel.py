"""Fix labels on disk without a file manager: move a picture to another class, set it aside, or add one from
outside (a kept picture); every change written to a journal in the dataset folder and undoable; nothing is ever
deleted or overwritten (but an added copy, by its undo)."""
from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.data.file_moves import copy_no_overwrite, file_digest, free_name, make_folders, rename_no_overwrite
from core.data.images import SET_ASIDE_FOLDER, has_image_extension, is_ignored
from core.data.scan import SPLIT_ALIASES
from core.errors import DatasetError
from core.system import atomic_write

JOURNAL_NAME = ".transfer-studio-changes.jsonl"  # hidden, so scanning never sees it
SPLIT_NAMES = {alias for aliases in SPLIT_ALIASES.values() for alias in aliases}
_LOCK = threading.Lock()  # one journal update at a time in this process


@dataclass
class Change:
    """One change to the dataset folder: `source` and `target` are paths relative to the dataset root."""

    id: int
    kind: str  # "move", "set_aside" or "add" (a copy from outside: `source` is its absolute path)
    when: str
    source: str
    target: str
    from_class: str | None
    to_class: str | None
    digest: str
    created: list[str] = field(default_factory=list)  # folders this change created, removed again by its undo
    undone: str | None = None  # when it was undone

    def to_dict(self) -> dict:
        """JSON-ready, as written to the journal (without `undone`, which later lines record)."""
        record = asdict(self)
        record.pop("undone")
        return record


def _root(dataset_root: str | Path) -> Path:
    root = Path(dataset_root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a dataset folder (it does not exist or is a file).")
    return root.resolve()


def _inside(root: Path, path: str | Path) -> Path:
    """`path` (absolute, or relative to root) as an absolute path inside root, or DatasetError saying why not."""
    given = Path(path).expanduser()
    candidate = Path(os.path.normpath(given if given.is_absolute() else root / given))
    if candidate != root and root not in candidate.parents:
        raise DatasetError(f"{path} is not inside the dataset folder {root}; only its own pictures can be changed.")
    if root not in Path(os.path.realpath(candidate)).parents:
        raise DatasetError(f"{path} leads outside the dataset folder {root} (through a link); it is left alone.")
    return candidate


def _place(root: Path, path: Path) -> tuple[Path, str | None, bool]:
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
        where = "the set-aside folder" if set_aside else "a class folder"
        raise DatasetError(f"{path.name} is not inside {where} of the dataset; only pictures of a class can be changed.")
    return base, rest[0], set_aside


def _picture(root: Path, path: str | Path) -> Path:
    """The picture at `path`, checked: inside root, a file, not a hidden or system file."""
    picture = _inside(root, path)
    if not picture.is_file():
        raise DatasetError(f"{path} is not a picture in the dataset folder (it does not exist or is a folder).")
    if is_ignored(Path(*[p for p in picture.relative_to(root).parts if p.lower() != SET_ASIDE_FOLDER])):
        raise DatasetError(f"{path} is a hidden or system file, not a picture of the dataset.")
    return picture


def _check_class_name(name: str, flat: bool) -> None:
    if not name or name != name.strip() or any(c in name for c in "/\\\0") or name in (".", ".."):
        raise DatasetError(f"{name!r} is not a plain folder name for a class.")
    if name.startswith(".") or is_ignored(Path(name)):
        raise DatasetError(f"{name!r} cannot be a class: folders with that name are ignored when scanning.")
    if flat and name.lower() in SPLIT_NAMES:
        raise DatasetError(f"{name!r} cannot be a class here: a folder with that name would be read as a split.")


def _read_journal(root: Path) -> list[dict]:
    path = root / JOURNAL_NAME
    if not path.exists():
        return []
    lines = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                raise DatasetError(f"line {number} of {path} is not readable; the list of changes is damaged.") from None
    return lines


def _append(root: Path, record: dict) -> None:
    path = root / JOURNAL_NAME
    before = path.read_bytes() if path.exists() else b""
    atomic_write(path, before + (json.dumps(record) + "\n").encode())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def list_changes(dataset_root: str | Path) -> list[Change]:
    """Every change made to the dataset folder, oldest first, each with when it was undone (or None)."""
    root = _root(dataset_root)
    changes, undone = [], {}
    for record in _read_journal(root):
        try:
            if record.get("kind") == "undo":
                undone[record["undoes"]] = record["when"]
            else:
                changes.append(Change(**{k: v for k, v in record.items() if k in Change.__dataclass_fields__}))
        except (TypeError, KeyError, AttributeError):
            raise DatasetError(f"{root / JOURNAL_NAME} lists a change without all its details; "
                               "the list of changes is damaged.") from None
    for change in changes:
        change.undone = undone.get(change.id)
    return changes


def _apply(root: Path, picture: Path, target_folder: Path, kind: str, from_class: str | None,
           to_class: str | None, name: str | None = None) -> Change:
    """Move `picture` (copy it, for an "add") into `target_folder` under a free name and journal it; the move is
    rolled back when the journal cannot be written, so the journal never misses a change."""
    added, name = kind == "add", name or picture.name
    with _LOCK:
        changes = list_changes(root)  # a damaged journal refuses the change before anything moves
        _inside(root, target_folder / name)  # a class folder that is a link to elsewhere is refused
        if not picture.is_file():  # another session moved it a moment ago
            raise DatasetError(f"{picture.name} is no longer where it was; look at the list of changes.")
        try:
            digest = file_digest(picture)
            created = make_folders(root, target_folder)
            target = free_name(target_folder, name)
        except OSError as err:
            raise DatasetError(f"{picture.name} could not be moved ({err.strerror or type(err).__name__}); "
                               "nothing changed.") from None
        try:
            (copy_no_overwrite if added else rename_no_overwrite)(picture, target)
        except (OSError, DatasetError) as err:
            _remove_empty(root, created)
            if isinstance(err, DatasetError):  # the free name was taken meanwhile: it says so
                raise
            raise DatasetError(f"{picture.name} could not be {'copied' if added else 'moved'} "
                               f"({err.strerror or type(err).__name__}); nothing changed.") from None
        source = picture.as_posix() if added else picture.relative_to(root).as_posix()
        change = Change(id=max((c.id for c in changes), default=0) + 1, kind=kind, when=_now(),
                        source=source, target=target.relative_to(root).as_posix(),
                        from_class=from_class, to_class=to_class, digest=digest, created=created)
        try:
            _append(root, change.to_dict())
        except BaseException:
            target.unlink() if added else rename_no_overwrite(target, picture)
            _remove_empty(root, created)
            raise
    return change


def move_picture(dataset_root: str | Path, path: str | Path, to_class: str) -> Change:
    """Move a picture into the folder of class `to_class` in the same split (created when missing)."""
    root = _root(dataset_root)
    picture = _picture(root, path)
    base, from_class, set_aside = _place(root, picture)
    _check_class_name(to_class, flat=base == root)
    if to_class == from_class and not set_aside:
        raise DatasetError(f"{picture.name} is already in class {to_class}.")
    return _apply(root, picture, base / to_class, "move", from_class, to_class)


def set_aside(dataset_root: str | Path, path: str | Path) -> Change:
    """Move a picture out of training into `<root or split folder>/_set_aside/<its class>/`, kept on disk."""
    root = _root(dataset_root)
    picture = _picture(root, path)
    base, from_class, already = _place(root, picture)
    if already:
        raise DatasetError(f"{picture.name} is already set aside.")
    return _apply(root, picture, base / SET_ASIDE_FOLDER / from_class, "set_aside", from_class, None)


def add_picture(dataset_root: str | Path, picture: str | Path, to_class: str, name: str) -> Change:
    """Copy a picture from outside the dataset (a kept one) into the training folder of `to_class` (train/<class>/,
    or <class>/ in a flat dataset; created for a new class) under a free name based on `name`; undo deletes it."""
    root, source = _root(dataset_root), Path(picture).expanduser().absolute()
    if not source.is_file():
        raise DatasetError(f"{picture} is not a picture file (it does not exist or is a folder).")
    if root in Path(os.path.realpath(source)).parents:
        raise DatasetError(f"{source.name} is already in the dataset folder {root}; move it to its class instead.")
    if name != Path(name).name or is_ignored(Path(name)) or not has_image_extension(Path(name)):
        raise DatasetError(f"{name!r} is not a plain picture file name (like field-1.jpg).")
    flat = not (root / "train").is_dir()
    _check_class_name(to_class, flat=flat)
    return _apply(root, source, (root if flat else root / "train") / to_class, "add", None, to_class, name)


def _remove_empty(root: Path, created: list[str]) -> None:
    """Remove the folders a change created, deepest first, as long as they are empty."""
    for relative in created:
        try:
            _inside(root, relative).rmdir()  # the journal is a file on disk: never a folder outside the dataset
        except (OSError, DatasetError):
            return


def undo(dataset_root: str | Path, change_id: int) -> Change:
    """Put the picture of change `change_id` back where it was (delete an added copy), or DatasetError when that
    cannot be done safely."""
    root = _root(dataset_root)
    with _LOCK:
        changes = list_changes(root)
        change = next((c for c in changes if c.id == change_id), None)
        if change is None:
            raise DatasetError(f"there is no change {change_id} in the list of changes of {root}.")
        if change.undone:
            raise DatasetError(f"change {change_id} was already undone ({change.undone}).")
        added, target = change.kind == "add", _inside(root, change.target)  # an added copy goes out of sight first
        source = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.undone") if added else _inside(root, change.source)
        if not target.is_file():
            later = next((c for c in changes if c.id > change.id and c.source == change.target and not c.undone), None)
            hint = f"; it was changed again later (change {later.id}): undo that first" if later else ""
            raise DatasetError(f"{change.target} is gone, so change {change_id} cannot be undone{hint}.")
        if source.exists() or source.is_symlink():
            raise DatasetError(f"{change.source} is taken by another file now, so change {change_id} cannot be "
                               "undone; rename or move that file first.")
        if file_digest(target) != change.digest:
            raise DatasetError(f"{change.target} is not the same picture any more (its content changed), so change "
                               f"{change_id} cannot be undone.")
        try:
            created = [] if added else make_folders(root, source.parent)
            rename_no_overwrite(target, source)
        except OSError as err:
            raise DatasetError(f"change {change_id} could not be undone ({err.strerror or type(err).__name__}); "
                               "nothing changed.") from None
        try:
            _append(root, {"kind": "undo", "undoes": change.id, "when": _now()})
        except BaseException:
            rename_no_overwrite(source, target)
            _remove_empty(root, created)
            raise
        if added:
            source.unlink(missing_ok=True)
        _remove_empty(root, change.created)
        change.undone = _now()
    return change


def undo_last(dataset_root: str | Path) -> Change:
    """Undo the newest change that is not undone yet; DatasetError when there is none."""
    pending = [c for c in list_changes(dataset_root) if not c.undone]
    if not pending:
        raise DatasetError("there is no change to undo.")
    return undo(dataset_root, pending[-1].id)

