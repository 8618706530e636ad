"""Moving and copying a dataset's files without ever replacing another, each file checked by its digest: the file
operations under relabelling (core.data.relabel)."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from core.errors import DatasetError


def file_digest(path: Path) -> str:
    """A fingerprint of the file's content: an undo checks it is still the same picture."""
    hasher = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem (2).ext`, `(3)`, … when that is taken: never an existing file."""
    target, stem, suffix, n = folder / name, Path(name).stem, Path(name).suffix, 2
    while target.exists() or target.is_symlink():
        target, n = folder / f"{stem} ({n}){suffix}", n + 1
    return target


def make_folders(root: Path, folder: Path) -> list[str]:
    """Create `folder` and missing parents; the ones created, deepest first, relative to root."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
    return [p.relative_to(root).as_posix() for p in missing]


def rename_no_overwrite(source: Path, target: Path) -> None:
    """Move a file without ever replacing another: a hard link (fails if the name is taken), then unlink;
    a plain rename after a check where the file system has no hard links."""
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise DatasetError(f"{target.name} appeared in {target.parent} meanwhile; nothing was moved.") from None
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if target.exists():
            raise DatasetError(f"{target.name} appeared in {target.parent} meanwhile; nothing was moved.") from None
        os.rename(source, target)
        return
    os.unlink(source)


def copy_no_overwrite(source: Path, target: Path) -> None:
    """Copy a file in under a free name: written to a hidden temporary beside it, then moved in without replacing."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.copy")
    try:
        shutil.copyfile(source, temporary)
        rename_no_overwrite(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
