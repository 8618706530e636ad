"""Build a class-per-folder dataset from uploads, webcam shots or a .zip, never writing outside its folder."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image

from core.data.images import (
    UnreadableImage,
    has_image_extension,
    is_ignored,
    load_image,
    not_an_image_file,
)
from core.data.scan import subfolders, walk_files
from core.errors import DatasetError

DATASETS_FOLDER = "datasets"
MAX_ZIP_FILES = 20_000
MAX_ZIP_BYTES = 2 * 1024**3
MAX_MEMBER_BYTES = 50 * 1024**2  # one picture inside a zip; a bigger member is refused before it is unpacked
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')


@dataclass
class Added:
    """What an upload did: files written, and the ones refused with the reason."""

    written: list[Path] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


def safe_name(text: str, what: str = "name") -> str:
    """A folder name from what the user typed: no slashes, no leading dots, not empty."""
    name = _UNSAFE.sub("-", (text or "").strip()).strip(" .-")
    if not name:
        raise DatasetError(f"Type a {what} first (letters, digits, spaces, - or _).")
    return name[:80]


def dataset_folder(data_root: str | Path, name: str) -> Path:
    """<data root>/datasets/<name>, created if missing."""
    folder = Path(data_root).resolve() / DATASETS_FOLDER / safe_name(name, "dataset name")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def folder_bytes(folder: str | Path) -> int:
    """The size of every file under a folder (links not followed), to keep the builder's folder bounded."""
    total, pending = 0, [Path(folder)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    return total


def check_room(folder: str | Path, incoming: int, max_bytes: int | None) -> None:
    """Refuse, in a sentence, `incoming` bytes that would grow `folder` past `max_bytes` (None: no limit)."""
    if max_bytes is None:
        return
    used = folder_bytes(folder)
    if used + incoming > max_bytes:
        raise DatasetError(f"The datasets folder holds {used / 2**20:,.0f} MB and may hold at most "
                           f"{max_bytes / 2**20:,.0f} MB; this upload ({incoming / 2**20:,.1f} MB) would pass that. "
                           "Remove a dataset, or start the app with a larger --max-data-mb.")


def add_class(dataset: Path, name: str) -> Path:
    folder = dataset / safe_name(name, "class name")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def class_images(dataset: Path) -> dict[str, list[Path]]:
    """Images of each class folder of a flat dataset, classes in name order."""
    if not dataset.is_dir():
        return {}
    return {c.name: [p for p in walk_files(c) if has_image_extension(p)] for c in subfolders(dataset)}


def _free_path(folder: Path, name: str) -> Path:
    stem, suffix = Path(name).stem or "image", Path(name).suffix.lower()
    path, n = folder / f"{stem}{suffix}", 1
    while path.exists():
        path, n = folder / f"{stem}-{n}{suffix}", n + 1
    return path


def add_images(dataset: Path, class_name: str, files: list[str | Path | Image.Image], room: Path | None = None,
               max_bytes: int | None = None) -> Added:
    """Copy image files (or save webcam frames) into a class folder; unreadable ones are refused, named.

    With `max_bytes`, the files are refused as a whole (DatasetError) when they would grow `room` (the builder's
    folder, else the dataset) past it.
    """
    incoming = sum(Path(f).stat().st_size for f in files if not isinstance(f, Image.Image) and Path(f).is_file())
    check_room(room or dataset, incoming, max_bytes)
    folder = add_class(dataset, class_name)
    result = Added()
    for item in files:
        if isinstance(item, Image.Image):
            target = _free_path(folder, f"capture-{time.strftime('%Y%m%d-%H%M%S')}.jpg")
            item.convert("RGB").save(target, quality=92)
            result.written.append(target)
            continue
        source = Path(item)
        name = safe_name(source.name, "file name")
        if not has_image_extension(source):
            result.rejected.append({"name": source.name, "reason": not_an_image_file(source)})
            continue
        try:
            load_image(source)
        except UnreadableImage as err:
            result.rejected.append({"name": source.name, "reason": err.reason})
            continue
        target = _free_path(folder, name)
        shutil.copyfile(source, target)
        result.written.append(target)
    return result


def remove_image(dataset: Path, path: str | Path) -> None:
    """Delete one image of the dataset; refuses anything outside it."""
    target = Path(path).resolve()
    if dataset.resolve() not in target.parents or not target.is_file():
        raise DatasetError(f"{Path(path).name} is not an image of this dataset.")
    target.unlink()


def _member_problem(info: zipfile.ZipInfo, parts: tuple[str, ...], max_member_bytes: int) -> str | None:
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path (refused: it would write outside the dataset folder)"
    if ".." in parts:
        return "path with .. (refused: it would write outside the dataset folder)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link (refused)"
    if not has_image_extension(PurePosixPath(name)):
        return not_an_image_file(PurePosixPath(name))
    if info.file_size > max_member_bytes:
        return f"too large ({info.file_size / 2**20:,.0f} MB unpacked; at most {max_member_bytes / 2**20:,.0f} MB per picture)"
    return None


def extract_zip(zip_path: str | Path, target: Path, max_files: int = MAX_ZIP_FILES, max_bytes: int = MAX_ZIP_BYTES,
                room: Path | None = None, room_bytes: int | None = None,
                max_member_bytes: int = MAX_MEMBER_BYTES) -> Added:
    """Unpack the images of a zip into `target`; escapes, links, non-images and bad images are refused, named.

    A single top folder inside the zip (my_photos/cats/…) is dropped, so its classes land directly in `target`.
    Sizes are read from the zip's directory before anything is unpacked, and no member is unpacked past its declared
    size, so a zip bomb is refused (whole, or member by member) without filling memory or disk; with `room_bytes`,
    `room` (the builder's folder) may not grow past it.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as err:
        raise DatasetError(f"{Path(zip_path).name} is not a readable .zip file ({err}).") from None
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir()]
        if len(members) > max_files:
            raise DatasetError(f"The zip holds {len(members):,} files; at most {max_files:,} are accepted.")
        total = sum(i.file_size for i in members)
        if total > max_bytes:
            raise DatasetError(f"The zip unpacks to {total / 1e9:.1f} GB; at most {max_bytes / 1e9:.1f} GB is accepted.")
        check_room(room or target, sum(i.file_size for i in members if i.file_size <= max_member_bytes), room_bytes)
        split = {i.filename: tuple(p for p in i.filename.replace("\\", "/").split("/") if p not in ("", ".")) for i in members}
        wanted = [i for i in members if split[i.filename] and not is_ignored(PurePosixPath(*split[i.filename]))]
        problems = {i.filename: _member_problem(i, split[i.filename], max_member_bytes) for i in wanted}
        good = [split[i.filename] for i in wanted if problems[i.filename] is None]
        strip = len({p[0] for p in good}) == 1 and all(len(p) > 2 for p in good)
        result, root = Added(), target.resolve()
        for info in wanted:
            parts, problem = split[info.filename], problems[info.filename]
            relative = parts[1:] if strip else parts
            destination = (root.joinpath(*relative)).resolve() if relative else root
            if problem is None and root not in destination.parents:
                problem = "path outside the dataset folder (refused)"
            if problem:
                result.rejected.append({"name": info.filename, "reason": problem})
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination = _free_path(destination.parent, destination.name)
            try:
                with archive.open(info) as source, open(destination, "wb") as out:
                    _copy_at_most(source, out, info.file_size)
                load_image(destination)
            except (UnreadableImage, zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
                destination.unlink(missing_ok=True)
                reason = err.reason if isinstance(err, UnreadableImage) else f"damaged inside the zip ({err})"
                result.rejected.append({"name": info.filename, "reason": reason})
                continue
            result.written.append(destination)
    return result


def _copy_at_most(source, out, size: int, chunk: int = 1 << 20) -> None:
    """Copy a zip member, refusing one that unpacks to more than its directory declared."""
    left = size
    while data := source.read(min(chunk, left + 1)):
        left -= len(data)
        if left < 0:
            raise OSError("it unpacks to more than the zip declares")
        out.write(data)
