"""Pictures the model was shown, kept (when the owner turns keeping on) to review and learn from: the pixels only,
re-encoded (no EXIF, GPS, ICC or XMP), the longest side capped, the oldest evicted past a size cap; one JSON record
beside each picture, named by a time-sortable id that is never a path."""
from __future__ import annotations

import io
import os
import re
import secrets
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.images import MAX_PIXELS, MIN_SIDE, UnreadableImage, load_image, load_image_bytes
from core.runstore.folder import is_run_id
from core.system import atomic_write, read_json_object, write_json_atomic

SOURCES = ("predict", "demo", "link", "webcam", "folder", "api")
VERDICTS = ("right", "labelled", "unknown")  # None: not reviewed yet
ID_PATTERN = re.compile(r"\d{8}-\d{6}-\d{6}-[0-9a-f]{4}")  # YYYYmmdd-HHMMSS-ffffff-xxxx (UTC)
PICTURE, RECORD = ".jpg", ".json"  # each kept picture's two files: <id>.jpg and <id>.json
JPEG_QUALITY = 90
MB = 1_000_000
TOP = 3  # answers remembered per picture
SMALLEST_SIDE_CAP = 64
_LOCKS: dict[str, threading.Lock] = {}  # one lock per store folder, shared by every KeptStore of it
_LOCKS_LOCK = threading.Lock()


def _whole(value: object, low: int) -> bool:
    """Whether `value` is a whole number (not a bool) of at least `low`."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


# What the owner's review may change, each with its check (None is always allowed: "not said").
UPDATABLE = {"verdict": lambda v: v in VERDICTS, "truth": lambda v: isinstance(v, str) and bool(v),
             "change_id": lambda v: _whole(v, 1), "dataset": lambda v: isinstance(v, str) and bool(v)}
SETTING_CHECKS = {"on": lambda v: isinstance(v, bool), "cap_mb": lambda v: _whole(v, 1),
                  "max_side": lambda v: _whole(v, SMALLEST_SIDE_CAP)}


@dataclass(frozen=True)
class KeepSettings:
    """Whether pictures are kept, how many megabytes they may take, and the longest side they are kept at."""

    on: bool = False
    cap_mb: int = 500
    max_side: int = 1024

    def __post_init__(self) -> None:
        bad = [name for name, ok in SETTING_CHECKS.items() if not ok(getattr(self, name))]
        if bad:
            raise ValueError(f"Keeping settings need on: true or false, cap_mb: a whole number of at least 1 and "
                             f"max_side: a whole number of at least {SMALLEST_SIDE_CAP} (wrong: {', '.join(bad)}).")


def read_keep_settings(path: str | Path) -> KeepSettings:
    """The saved settings; the default for each one missing or unreadable (keeping stays off unless turned on)."""
    saved = read_json_object(path)
    return KeepSettings(**{name: saved[name] for name, ok in SETTING_CHECKS.items() if name in saved and ok(saved[name])})


def write_keep_settings(path: str | Path, settings: KeepSettings) -> None:
    """Remember the settings (atomically)."""
    write_json_atomic(path, asdict(settings))


@dataclass
class KeptPicture:
    """One kept picture: its file, the run's calibrated answer, where it came from and what the owner said of it."""

    id: str  # time-sortable, YYYYmmdd-HHMMSS-ffffff-xxxx
    path: Path  # the re-encoded picture
    run: str
    top: list[tuple[str, float]]  # the top answers, calibrated, most likely first
    not_sure: bool
    source: str  # one of SOURCES
    time: str  # ISO, UTC
    bytes: int  # the picture file's size
    verdict: str | None = None  # one of VERDICTS, or None when not reviewed yet
    truth: str | None = None  # the class the owner said it is
    change_id: int | None = None  # the dataset change that filed it (core.data.relabel), for undo
    dataset: str | None = None  # the dataset folder it was filed into

    @property
    def predicted(self) -> str:
        return self.top[0][0]

    @property
    def confidence(self) -> float:
        return self.top[0][1]

    @property
    def margin(self) -> float:
        """How far the top answer is ahead of the second (the top probability when there is one class)."""
        return self.top[0][1] - (self.top[1][1] if len(self.top) > 1 else 0.0)

    def to_dict(self) -> dict:
        """JSON-ready: the path as text, the answers as [[label, p], ...]."""
        return {**asdict(self), "path": str(self.path), "top": [[label, p] for label, p in self.top]}


def _top(top) -> list[tuple[str, float]]:
    """The first TOP answers as (label, probability); ValueError when they are not that."""
    try:
        answers = [(label, float(p)) for label, p in list(top)[:TOP]]
    except (TypeError, ValueError):
        answers = []
    if not answers or not all(isinstance(label, str) and 0.0 <= p <= 1.0 for label, p in answers):
        raise ValueError("A kept picture needs its answers as (class, probability between 0 and 1) pairs.")
    return answers


def _picture_of(record: dict, path: Path) -> KeptPicture:
    """A KeptPicture from its JSON record; KeyError, TypeError or ValueError when the record is damaged."""
    fields = {name: record[name] for name in KeptPicture.__dataclass_fields__ if name in record and name != "path"}
    picture = KeptPicture(path=path, **fields)
    picture.top = _top(picture.top)
    if not ID_PATTERN.fullmatch(str(picture.id)) or picture.verdict not in (*VERDICTS, None):
        raise ValueError(f"{path.stem} has a damaged record.")
    return picture


def _decoded(picture: bytes | str | Path | Image.Image, draft_side: int) -> Image.Image:
    """The picture as upright RGB through the app's decoder; UnreadableImage for a broken file or a bomb."""
    if isinstance(picture, bytes):
        return load_image_bytes(picture, draft_side)
    if isinstance(picture, (str, Path)):
        return load_image(picture, draft_side)
    if not isinstance(picture, Image.Image):
        raise TypeError(f"A kept picture is bytes, a file path or a PIL image, not {type(picture).__name__}.")
    width, height = picture.size
    if width * height > MAX_PIXELS:
        raise UnreadableImage(f"too many pixels ({width}x{height}, over the {MAX_PIXELS:,} pixel safety limit)",
                              "too_large")
    if min(width, height) < MIN_SIDE:
        raise UnreadableImage(f"too small ({width}x{height} px; at least {MIN_SIDE} px on each side is needed)", "tiny")
    return picture.convert("RGB")


def _encoded(image: Image.Image, max_side: int) -> bytes:
    """The pixels only, as a JPEG whose longest side is at most `max_side`: a fresh image carries no metadata."""
    clean = Image.fromarray(np.array(image.convert("RGB"), dtype=np.uint8), "RGB")
    clean.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    clean.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


class KeptStore:
    """The kept pictures of one folder (`<runs folder>/kept`): keep, list, review and delete them; thread-safe."""

    def __init__(self, folder: str | Path, cap_mb: float = 500, max_side: int = 1024) -> None:
        if not isinstance(cap_mb, (int, float)) or isinstance(cap_mb, bool) or not cap_mb > 0:
            raise ValueError(f"The cap on kept pictures must be a positive number of megabytes, not {cap_mb!r}.")
        if not _whole(max_side, SMALLEST_SIDE_CAP):
            raise ValueError(f"The longest side of a kept picture must be at least {SMALLEST_SIDE_CAP} px, "
                             f"not {max_side!r}.")
        self.folder, self.cap_mb, self.max_side = Path(folder), cap_mb, max_side
        with _LOCKS_LOCK:
            self._lock = _LOCKS.setdefault(os.path.abspath(self.folder), threading.Lock())

    def _path(self, picture_id: str, suffix: str) -> Path:
        """The file of a kept picture; LookupError for an id that is not one (a path, a name of something else)."""
        if not isinstance(picture_id, str) or not ID_PATTERN.fullmatch(picture_id):
            raise LookupError(f"{picture_id!r} is not the id of a kept picture.")
        return self.folder / f"{picture_id}{suffix}"

    def _files(self) -> dict[str, list[tuple[Path, int]]]:
        """Each kept id's files with their sizes (links and other names left alone), oldest id first."""
        found: dict[str, list[tuple[Path, int]]] = {}
        try:
            with os.scandir(self.folder) as entries:
                named = [(e, *os.path.splitext(e.name)) for e in entries]
        except OSError:
            return {}
        for entry, stem, suffix in named:
            try:
                if suffix in (PICTURE, RECORD) and ID_PATTERN.fullmatch(stem) and entry.is_file(follow_symlinks=False):
                    found.setdefault(stem, []).append((Path(entry.path), entry.stat(follow_symlinks=False).st_size))
            except OSError:  # deleted a moment ago
                continue
        return dict(sorted(found.items()))

    def keep(self, picture: bytes | str | Path | Image.Image, run: str, top, not_sure: bool,
             source: str) -> KeptPicture:
        """Keep one answered picture (re-encoded, metadata-free, capped), then evict the oldest past the cap.
        UnreadableImage (a broken file, a bomb) or ValueError (bad details) before anything is written."""
        answers = _top(top)
        if source not in SOURCES:
            raise ValueError(f"{source!r} is not a source of kept pictures ({', '.join(SOURCES)}).")
        if not is_run_id(run):
            raise ValueError(f"{run!r} is not the id of a run.")
        data = _encoded(_decoded(picture, self.max_side), self.max_side)
        with self._lock:
            now = datetime.now(UTC)
            picture_id = f"{now:%Y%m%d-%H%M%S-%f}-{secrets.token_hex(2)}"
            while self._path(picture_id, RECORD).exists() or self._path(picture_id, PICTURE).exists():
                picture_id = f"{picture_id[:-4]}{secrets.token_hex(2)}"
            kept = KeptPicture(picture_id, self._path(picture_id, PICTURE), run, answers, bool(not_sure), source,
                               now.isoformat(timespec="seconds"), len(data))
            atomic_write(kept.path, data)
            try:
                self._write(kept)
            except BaseException:
                kept.path.unlink(missing_ok=True)
                raise
            self._evict(keep=picture_id)
        return kept

    def _write(self, picture: KeptPicture) -> None:
        """Write the picture's record (atomically) beside it."""
        record = picture.to_dict()
        record.pop("path")  # the folder may move: the picture is always <id>.jpg beside its record
        write_json_atomic(self._path(picture.id, RECORD), record)

    def _evict(self, keep: str) -> None:
        """Delete the oldest pictures until the folder is within the cap: those not reviewed first, then reviewed
        ones; never `keep` (the one just kept) nor a filed one (its copy in the dataset is found through it)."""
        files = self._files()
        total = sum(size for entries in files.values() for _, size in entries)
        reviewed = {p.id: p.verdict for p in self.list()}
        for wave in (lambda v: v is None, lambda v: v in ("right", "unknown")):
            for picture_id, entries in files.items():
                if total <= self.cap_mb * MB:
                    return
                if picture_id != keep and wave(reviewed.get(picture_id)):  # a damaged record goes first
                    for path, size in entries:
                        path.unlink(missing_ok=True)
                        total -= size

    def list(self) -> list[KeptPicture]:
        """Every kept picture, oldest first (a damaged record, or one whose picture is gone, left out)."""
        pictures = []
        for picture_id in self._files():
            try:
                pictures.append(self.get(picture_id))
            except LookupError:
                continue
        return pictures

    def get(self, picture_id: str) -> KeptPicture:
        """One kept picture; LookupError with a sentence when there is none of that id (or it is damaged)."""
        record, path = self._path(picture_id, RECORD), self._path(picture_id, PICTURE)
        saved = read_json_object(record)
        try:
            picture = _picture_of(saved, path)
        except (KeyError, TypeError, ValueError):
            picture = None
        if picture is None or picture.id != picture_id or not path.is_file():
            raise LookupError(f"There is no kept picture {picture_id} (it was deleted, or its record is damaged).")
        return picture

    def update(self, picture_id: str, **fields) -> KeptPicture:
        """Change what the owner said of a picture (verdict, truth, change_id, dataset); written atomically."""
        unknown = sorted(set(fields) - set(UPDATABLE))
        if unknown:
            raise TypeError(f"A kept picture's {', '.join(unknown)} cannot be changed; only {', '.join(UPDATABLE)}.")
        wrong = [name for name, value in fields.items() if value is not None and not UPDATABLE[name](value)]
        if wrong:
            raise ValueError(f"{', '.join(f'{n}={fields[n]!r}' for n in wrong)}: not a verdict ({', '.join(VERDICTS)}),"
                             " a class name, a change number or a dataset folder as expected.")
        with self._lock:
            picture = replace(self.get(picture_id), **fields)
            self._write(picture)
        return picture

    def delete(self, picture_id: str) -> bool:
        """Delete one kept picture; whether it was there."""
        paths = self._path(picture_id, PICTURE), self._path(picture_id, RECORD)
        with self._lock:
            there = any(p.is_file() for p in paths)
            for path in paths:
                path.unlink(missing_ok=True)
        return there

    def delete_all(self) -> int:
        """Delete every kept picture; how many there were."""
        with self._lock:
            files = self._files()
            for entries in files.values():
                for path, _ in entries:
                    path.unlink(missing_ok=True)
        return len(files)

    def total_bytes(self) -> int:
        """How much the kept pictures and their records take on disk."""
        return sum(size for entries in self._files().values() for _, size in entries)
