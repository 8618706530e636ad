"""Build a class-per-folder dataset from uploads, webcam shots or a .zip, never writing outside its folder."""
from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image

from core.data.archive import (PICTURE, Member, MemberDamaged, ZipLimits, check_budget, check_room, members, open_zip,
                               size_problem, unpack)
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
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')


@dataclass
class Added:
    """What an upload did: files written, and the ones refused with the reason."""

    written: list[Path] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


# What a name is for -> the sentence asking for it (whole, so that each translates whole)
TYPE_FIRST = {
    "name": "Type a name first (letters, digits, spaces, - or _).",
    "dataset name": "Type a dataset name first (letters, digits, spaces, - or _).",
    "class name": "Type a class name first (letters, digits, spaces, - or _).",
    "file name": "Type a file name first (letters, digits, spaces, - or _).",
}


def safe_name(text: str, what: str = "name") -> str:
    """A folder name from what the user typed: no slashes, no leading dots, not empty; `what` is a key of
    TYPE_FIRST."""
    name = _UNSAFE.sub("-", (text or "").strip()).strip(" .-")
    if not name:
        raise DatasetError(TYPE_FIRST[what])
    return name[:80]


def dataset_folder(data_root: str | Path, name: str) -> Path:
    """<data root>/datasets/<name>, created if missing."""
    folder = Path(data_root).resolve() / DATASETS_FOLDER / safe_name(name, "dataset name")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
    check_budget(room or dataset, incoming, max_bytes)
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


def _picture_problem(member: Member, limits: ZipLimits) -> str | None:
    path = PurePosixPath(*member.parts)
    return not_an_image_file(path) if not has_image_extension(path) else size_problem(member, PICTURE, limits)


def extract_zip(zip_path: str | Path, target: Path, limits: ZipLimits = ZipLimits(), room: Path | None = None) -> Added:
    """Unpack the images of a zip into `target`; escapes, links, non-images and bad images are refused, named.

    A single top folder inside the zip (my_photos/cats/…) is dropped, so its classes land directly in `target`.
    The zip's directory is checked first (core.data.archive): too many files, too many bytes, no room on the disk or
    in the datasets budget (`room`, the builder's folder, else `target`) refuse it whole; a member too large or
    damaged is refused alone, and none is unpacked past its declared size.
    """
    with open_zip(zip_path) as archive:
        wanted = [m for m in members(archive, limits) if m.problem or not is_ignored(PurePosixPath(*m.parts))]
        planned = [(m, m.problem or _picture_problem(m, limits)) for m in wanted]
        incoming = sum(m.size for m, problem in planned if problem is None)
        check_room(limits, {target: incoming}, room or target, incoming)
        good = [m.parts for m, problem in planned if problem is None]
        strip = len({p[0] for p in good}) == 1 and all(len(p) > 2 for p in good)
        result, root = Added(), target.resolve()
        for member, problem in planned:
            relative = member.parts[1:] if strip else member.parts
            destination = (root.joinpath(*relative)).resolve() if relative else root
            if problem is None and root not in destination.parents:
                problem = "a path outside the dataset folder"
            if problem:
                result.rejected.append({"name": member.name, "reason": problem})
                continue
            destination = _free_path(destination.parent, destination.name)
            try:
                unpack(archive, member, destination)
                load_image(destination)
            except (UnreadableImage, MemberDamaged) as err:
                destination.unlink(missing_ok=True)
                result.rejected.append({"name": member.name, "reason": getattr(err, "reason", str(err))})
                continue
            result.written.append(destination)
    return result
