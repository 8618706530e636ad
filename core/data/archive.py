"""One reader for uploaded .zip files (a dataset's pictures, a saved project): paths, links, sizes and the room they
need are checked before anything is written, and no member is unpacked past the size its header declared."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from core.errors import DatasetError

PICTURE, RUN_FILE, MANIFEST_KIND = "picture", "run file", "project manifest"
MB = 2**20


@dataclass(frozen=True)
class ZipLimits:
    """How much one zip may unpack. The defaults are the app's; its GUI passes --max-file-mb and --max-data-mb."""

    files: int = 20_000  # entries, files and folders
    total_bytes: int = 2 * 1024**3  # every member together, as declared
    picture_bytes: int = 50 * MB  # one picture of a dataset
    run_file_bytes: int = 2 * 1024**3  # one file of a run: its checkpoint is the big one (ViT-B/16 with optimizer)
    manifest_bytes: int = 16 * MB  # a project's list of runs and datasets, read into memory
    margin_bytes: int = 64 * MB  # kept free on the disk once the zip is unpacked
    data_bytes: int | None = None  # the datasets folder may not grow past this (--max-data-mb); None: no budget


# a member's kind -> the field of ZipLimits capping one member of that kind, and why a member is over it
CAPS = {PICTURE: "picture_bytes", RUN_FILE: "run_file_bytes", MANIFEST_KIND: "manifest_bytes"}
TOO_LARGE = {
    PICTURE: "too large ({size:,.0f} MB unpacked; at most {cap:,.0f} MB per picture)",
    RUN_FILE: "too large ({size:,.0f} MB unpacked; at most {cap:,.0f} MB per run file)",
    MANIFEST_KIND: "too large ({size:,.0f} MB unpacked; at most {cap:,.0f} MB per project manifest)",
}
# what the zip is ("zip", "project") -> (too many entries, too many bytes), whole sentences
TOO_MUCH = {
    "zip": ("The zip holds {count:,} files and folders; at most {cap:,} are accepted.",
            "The zip unpacks to {amount}; at most {cap} is accepted."),
    "project": ("The project holds {count:,} files and folders; at most {cap:,} are accepted.",
                "The project unpacks to {amount}; at most {cap} is accepted."),
}


class MemberDamaged(ValueError):
    """A member that could not be unpacked as declared; the message is the reason, and no part of it is left."""


@dataclass(frozen=True)
class Member:
    """One file of a zip: its entry, its path parts ('.' and empty parts dropped), and why it may not be written."""

    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    problem: str | None

    @property
    def name(self) -> str:
        return self.info.filename

    @property
    def size(self) -> int:
        return self.info.file_size


def open_zip(path: str | Path, error: type[Exception] = DatasetError) -> zipfile.ZipFile:
    """The zip at `path`, or the sentence saying it is not one."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise error(f"{Path(path).name} is not a readable .zip file ({err}).") from None


def _path_problem(info: zipfile.ZipInfo, parts: tuple[str, ...]) -> str | None:
    name = info.filename.replace("\\", "/")  # a backslash is a separator in zips made on Windows
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute path, which would write outside its folder"
    if ".." in parts:
        return "a path with .., which would write outside its folder"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link, which could point outside its folder"
    return None if parts else "a member without a name"


def members(archive: zipfile.ZipFile, limits: ZipLimits, error: type[Exception] = DatasetError,
            what: str = "zip") -> list[Member]:
    """The zip's files, each with what is wrong with its path; too many entries, or too many bytes declared in all,
    refuse the whole zip (`error`) before anything is read. `what` is a key of TOO_MUCH."""
    too_many, too_big = TOO_MUCH[what]
    entries = archive.infolist()
    if len(entries) > limits.files:
        raise error(too_many.format(count=len(entries), cap=limits.files))
    files = [i for i in entries if not i.is_dir()]
    total = sum(i.file_size for i in files)
    if total > limits.total_bytes:
        raise error(too_big.format(amount=_amount(total), cap=_amount(limits.total_bytes)))
    result, seen = [], set()
    for info in files:
        parts = tuple(p for p in info.filename.replace("\\", "/").split("/") if p not in ("", "."))
        problem = _path_problem(info, parts) or ("a second file of the same name" if parts in seen else None)
        seen.add(parts)
        result.append(Member(info, parts, problem))
    return result


def size_problem(member: Member, kind: str, limits: ZipLimits) -> str | None:
    """Why one member is too large for its kind (PICTURE, RUN_FILE, MANIFEST_KIND), or None."""
    cap = getattr(limits, CAPS[kind])
    if member.size <= cap:
        return None
    return TOO_LARGE[kind].format(size=member.size / MB, cap=cap / MB)


def _amount(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:,.1f} MB" if size >= 1e6 else f"{size:,} bytes"


def folder_bytes(folder: str | Path) -> int:
    """The size of every file under a folder (links not followed), to keep the datasets folder bounded."""
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


def check_budget(folder: str | Path, incoming: int, max_bytes: int | None,
                 error: type[Exception] = DatasetError) -> None:
    """Refuse, in a sentence, `incoming` bytes that would grow `folder` past `max_bytes` (None: no limit)."""
    if max_bytes is None:
        return
    used = folder_bytes(folder)
    if used + incoming > max_bytes:
        raise error(f"The datasets folder holds {used / MB:,.0f} MB and may hold at most {max_bytes / MB:,.0f} MB; "
                    f"this upload ({incoming / MB:,.1f} MB) would pass that. "
                    "Remove a dataset, or start the app with a larger --max-data-mb.")


def check_disk(writes: dict[Path, int], margin: int, error: type[Exception] = DatasetError) -> None:
    """Refuse, in a sentence, writes (folder -> bytes) that would leave less than `margin` free on a disk."""
    needed: dict[int, list] = {}  # device -> [a folder on it that exists, bytes]
    for folder, size in writes.items():
        place = next(p for p in (Path(folder).resolve(), *Path(folder).resolve().parents) if p.exists())
        needed.setdefault(place.stat().st_dev, [place, 0])[1] += size
    for place, size in needed.values():
        free = shutil.disk_usage(place).free
        if size + margin > free:
            raise error(f"The disk holding {place} has {free / MB:,.0f} MB free; this needs {size / MB:,.1f} MB "
                        f"and {margin / MB:,.0f} MB kept free. Free some space, then try again.")


def check_room(limits: ZipLimits, writes: dict[Path, int], datasets: Path, into_datasets: int,
               error: type[Exception] = DatasetError) -> None:
    """Refuse, in a sentence, writes (folder -> bytes) the disks have no room for, or `into_datasets` bytes that would
    grow the datasets folder past its budget."""
    check_budget(datasets, into_datasets, limits.data_bytes, error)
    check_disk(writes, limits.margin_bytes, error)


def copy_at_most(source, out, size: int, chunk: int = MB) -> None:
    """Copy a stream, stopping (MemberDamaged) as soon as it gives more than `size` bytes: nothing past it is
    written, whatever the zip module does with a header that lies."""
    left = size
    while data := source.read(min(chunk, left + 1)):
        left -= len(data)
        if left < 0:
            raise MemberDamaged(f"it unpacks to more than the {size:,} bytes its header declares")
        out.write(data)


def unpack(archive: zipfile.ZipFile, member: Member, destination: Path) -> None:
    """Write one member to `destination` (its folder made), never past its declared size; a damaged or lying member
    raises MemberDamaged with the reason and leaves no file."""
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)  # fails where a file took the folder's name
        with archive.open(member.info) as source, open(destination, "wb") as out:
            copy_at_most(source, out, member.size)
    except (MemberDamaged, zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        with contextlib.suppress(OSError):
            destination.unlink(missing_ok=True)
        if isinstance(err, MemberDamaged):
            raise
        raise MemberDamaged(f"damaged inside the zip ({err})") from None  # a bad CRC: other bytes than declared
