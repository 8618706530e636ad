"""Fix labels on disk without a file manager: move a picture to another class, set it aside, or add one from
outside (a kept picture), one picture or several as a batch; every change written to a journal in the dataset folder
and undoable (a batch all together); nothing is ever deleted or overwritten (but an added copy, by its undo)."""
from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.data.dataset_paths import check_class_name as _check_class_name
from core.data.dataset_paths import dataset_root as _root
from core.data.dataset_paths import inside as _inside
from core.data.dataset_paths import picture_at as _picture
from core.data.dataset_paths import place as _place
from core.data.file_moves import copy_no_overwrite, file_digest, free_name, make_folders, rename_no_overwrite
from core.data.images import SET_ASIDE_FOLDER, has_image_extension, is_ignored
from core.errors import DatasetError
from core.system import atomic_write

JOURNAL_NAME = ".transfer-studio-changes.jsonl"  # hidden, so scanning never sees it
NEW_BATCH = 0  # `batch` given to _apply for the first change of a batch: the batch is named by that change's id
_LOCK = threading.Lock()  # one journal update at a time in this process
NOT_DONE = {  # whether the picture was being copied (added from outside) -> the sentence when that failed
    True: "{name} could not be copied ({why}); nothing changed.",
    False: "{name} could not be moved ({why}); nothing changed.",
}
STOPPED = {  # a batch that stopped at one picture: the reason is that picture's own sentence, whole
    "changing": "The batch stopped at {name}: {reason} The {count} picture(s) before it were changed and can be "
                "undone together.",
    "undoing": "The batch stopped at {name}: {reason} The {count} picture(s) before it were put back.",
    "nothing": "The batch stopped at {name}: {reason} Nothing was changed.",
}
GONE = "{target} is gone, so change {change} cannot be undone."
GONE_CHANGED_AGAIN = ("{target} is gone, so change {change} cannot be undone; it was changed again later "
                      "(change {later}): undo that first.")


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
    batch: int | None = None  # changes made together share it (the id of the batch's first change); undone together
    undone: str | None = None  # when it was undone

    def to_dict(self) -> dict:
        """JSON-ready, as written to the journal (without `undone`, which later lines record)."""
        record = asdict(self)
        record.pop("undone")
        return record


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
           to_class: str | None, name: str | None = None, batch: int | None = None) -> Change:
    """Move `picture` (copy it, for an "add") into `target_folder` under a free name and journal it, in `batch`
    (NEW_BATCH: a batch named by this change); the move is rolled back when the journal cannot be written, so the
    journal never misses a change."""
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
            raise DatasetError(NOT_DONE[False].format(name=picture.name, why=err.strerror or type(err).__name__)) \
                from None
        try:
            (copy_no_overwrite if added else rename_no_overwrite)(picture, target)
        except (OSError, DatasetError) as err:
            _remove_empty(root, created)
            if isinstance(err, DatasetError):  # the free name was taken meanwhile: it says so
                raise
            raise DatasetError(NOT_DONE[added].format(name=picture.name, why=err.strerror or type(err).__name__)) \
                from None
        source = picture.as_posix() if added else picture.relative_to(root).as_posix()
        number = max((c.id for c in changes), default=0) + 1
        change = Change(id=number, kind=kind, when=_now(), source=source, target=target.relative_to(root).as_posix(),
                        from_class=from_class, to_class=to_class, digest=digest, created=created,
                        batch=number if batch == NEW_BATCH else batch)
        try:
            _append(root, change.to_dict())
        except BaseException:
            target.unlink() if added else rename_no_overwrite(target, picture)
            _remove_empty(root, created)
            raise
    return change


def _move(root: Path, path: str | Path, to_class: str, batch: int | None = None) -> Change:
    picture = _picture(root, path)
    base, from_class, set_aside = _place(root, picture)
    _check_class_name(to_class, flat=base == root)
    if to_class == from_class and not set_aside:
        raise DatasetError(f"{picture.name} is already in class {to_class}.")
    return _apply(root, picture, base / to_class, "move", from_class, to_class, batch=batch)


def _set_aside(root: Path, path: str | Path, to_class: None = None, batch: int | None = None) -> Change:
    picture = _picture(root, path)
    base, from_class, already = _place(root, picture)
    if already:
        raise DatasetError(f"{picture.name} is already set aside.")
    return _apply(root, picture, base / SET_ASIDE_FOLDER / from_class, "set_aside", from_class, None, batch=batch)


def move_picture(dataset_root: str | Path, path: str | Path, to_class: str) -> Change:
    """Move a picture into the folder of class `to_class` in the same split (created when missing)."""
    return _move(_root(dataset_root), path, to_class)


def set_aside(dataset_root: str | Path, path: str | Path) -> Change:
    """Move a picture out of training into `<root or split folder>/_set_aside/<its class>/`, kept on disk."""
    return _set_aside(_root(dataset_root), path)


class BatchStopped(DatasetError):
    """A batch that stopped at one picture: the pictures before it stay changed (journaled, undoable together)."""

    def __init__(self, path: str | Path, reason: DatasetError, changes: list[Change], undoing: bool = False):
        self.path, self.changes = str(path), changes
        said = STOPPED["nothing" if not changes else "undoing" if undoing else "changing"]
        super().__init__(said.format(name=Path(path).name, reason=reason, count=len(changes)))


def _batch(dataset_root: str | Path, paths: list[str | Path], act, to_class: str | None) -> list[Change]:
    """`act` on each picture in turn, the changes sharing one batch; BatchStopped at the first that fails."""
    root, changes = _root(dataset_root), []
    for path in paths:
        try:
            changes.append(act(root, path, to_class, batch=changes[0].batch if changes else NEW_BATCH))
        except DatasetError as err:
            raise BatchStopped(path, err, changes) from None
    return changes


def move_pictures(dataset_root: str | Path, paths: list[str | Path], to_class: str) -> list[Change]:
    """Move several pictures to class `to_class` (each in its own split) as one batch, undone together."""
    return _batch(dataset_root, paths, _move, to_class)


def set_aside_pictures(dataset_root: str | Path, paths: list[str | Path]) -> list[Change]:
    """Set several pictures aside as one batch, undone together."""
    return _batch(dataset_root, paths, _set_aside, None)


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
            said = GONE_CHANGED_AGAIN if later else GONE
            raise DatasetError(said.format(target=change.target, change=change_id, later=later.id if later else None))
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


def undo_last_batch(dataset_root: str | Path) -> list[Change]:
    """Undo the newest change not undone yet and, when it belongs to a batch, the rest of that batch, newest first;
    the changes undone, or DatasetError naming the picture that stopped it (those before it stay undone)."""
    pending = [c for c in list_changes(dataset_root) if not c.undone]
    if not pending:
        raise DatasetError("there is no change to undo.")
    newest = pending[-1]
    batch = [c for c in reversed(pending) if c.id == newest.id or (newest.batch is not None and c.batch == newest.batch)]
    undone = []
    for change in batch:
        try:
            undone.append(undo(dataset_root, change.id))
        except DatasetError as err:
            if not undone:
                raise
            raise BatchStopped(change.target, err, undone, undoing=True) from None
    return undone
