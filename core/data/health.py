"""Dataset health check: every file decoded once (remembered by path, size and mtime), then warnings."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from core.data.health_rules import RULES, Sample
from core.data.images import UnreadableImage, load_image
from core.data.scan import DatasetIndex, class_counts, file_stamp, scan_dataset
from core.events import CheckProgress
from core.system import default_cache_dir

THUMB_SIDE = 4  # a 4x4 colour thumbnail: the perceptual hash ignores colour, this does not
HASH_SIDE = 64  # decode size for hashing: JPEGs are drafted to ~1/8 scale, enough for a 32x32 perceptual hash
CACHE_SCHEMA = "files_v1"  # bump when the decoder or the hash changes, so old answers are not reused
PROGRESS_EVERY_S = 0.2


@dataclass(frozen=True)
class FileFacts:
    """What the check learns from one file: readable or why not, and its exact and perceptual hashes."""

    ok: bool
    kind: str | None = None
    reason: str | None = None
    digest: str | None = None
    phash: int | None = None
    thumb: bytes | None = None


@dataclass
class HealthReport:
    """The health check's answer; `to_dict` is what `python -m core check` prints."""

    root: str
    layout: str
    classes: list[str]
    splits: dict[str, dict[str, int]]
    skipped: list[dict]
    warnings: list[dict]
    files: int
    seconds: float
    from_cache: int
    valid_fraction: float | None = None
    seed: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def file_facts(path: Path) -> FileFacts:
    """Decode one file with the shared decoder and hash it; an unreadable file gets its reason."""
    import imagehash
    from PIL import Image

    try:
        image = load_image(path, draft_side=HASH_SIDE)
        digest = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except UnreadableImage as err:
        return FileFacts(ok=False, kind=err.kind, reason=err.reason)
    except OSError as err:
        return FileFacts(ok=False, kind="corrupt", reason=f"cannot be read ({err.strerror or err})")
    thumb = image.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX).tobytes()
    return FileFacts(ok=True, digest=digest, phash=int(str(imagehash.phash(image)), 16), thumb=thumb)


class FactCache:
    """SQLite table of FileFacts keyed by absolute path, valid while the file's size and mtime are unchanged."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(folder / "health.sqlite", timeout=30, check_same_thread=False)
        self.db.execute(
            f"CREATE TABLE IF NOT EXISTS {CACHE_SCHEMA} (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
            "ok INTEGER, kind TEXT, reason TEXT, digest TEXT, phash TEXT, thumb BLOB)"
        )

    def lookup(self, root: Path, keys: dict[str, tuple[int, int]]) -> dict[str, FileFacts]:
        """Facts for the paths under `root` whose (size, mtime_ns) match what was stored."""
        found = {}
        prefix = str(root).rstrip(os.sep) + os.sep  # a range scan of the key: only this folder's rows are read
        rows = self.db.execute(
            f"SELECT path, size, mtime_ns, ok, kind, reason, digest, phash, thumb FROM {CACHE_SCHEMA} "
            "WHERE path >= ? AND path < ?", (prefix, prefix[:-1] + chr(ord(os.sep) + 1)),
        )
        for path, size, mtime, ok, kind, reason, digest, phash, thumb in rows:
            if keys.get(path) == (size, mtime):
                found[path] = FileFacts(bool(ok), kind, reason, digest, None if phash is None else int(phash, 16), thumb)
        return found

    def store(self, facts: dict[str, tuple[tuple[int, int], FileFacts]]) -> None:
        with self.db:
            self.db.executemany(
                f"INSERT OR REPLACE INTO {CACHE_SCHEMA} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(p, k[0], k[1], int(f.ok), f.kind, f.reason, f.digest, None if f.phash is None else f"{f.phash:016x}",
                  f.thumb)
                 for p, (k, f) in facts.items()],
            )

    def close(self) -> None:
        self.db.close()


def check_dataset(
    root: str | Path, valid_fraction: float = 0.2, seed: int = 0, cache_dir: str | Path | None = None, stop=None,
    index: DatasetIndex | None = None,
) -> Iterator[CheckProgress | HealthReport]:
    """Yield progress while every image is looked at, then one HealthReport; DatasetError for a wrong folder.

    Pass `index` when the caller has already scanned the folder (with the same share and seed).
    """
    started = time.perf_counter()
    index = index or scan_dataset(root, valid_fraction, seed)
    labelled, keys = _labelled(index)
    cache = FactCache(Path(cache_dir) if cache_dir else default_cache_dir())
    try:
        known = cache.lookup(index.root, keys)
        from_cache, fresh, last = len(known), {}, 0.0
        todo = [str(path) for _, path, _ in labelled if str(path) not in known]
        for n, key in enumerate(todo, 1):
            if stop is not None and stop.is_set():
                return
            facts = known[key] = file_facts(Path(key))
            if key in keys:
                fresh[key] = (keys[key], facts)
            now = time.perf_counter()
            if now - last >= PROGRESS_EVERY_S or n == len(todo):
                last, rate = now, n / max(now - started, 1e-9)
                yield CheckProgress(done=from_cache + n, total=len(labelled), images_per_s=rate, eta_s=(len(todo) - n) / rate)
        cache.store(fresh)
    finally:
        cache.close()
    yield _report(index, labelled, known, from_cache, time.perf_counter() - started)


def _labelled(index: DatasetIndex) -> tuple[list[tuple[str, Path, int]], dict[str, tuple[int, int]]]:
    """Every (split, path, label) of the index, and each readable file's stamp by path."""
    labelled = [(split, path, label) for split, items in index.splits.items() for path, label in items]
    return labelled, {str(path): stamp for _, path, _ in labelled if (stamp := file_stamp(path)) is not None}


def remembered_report(index: DatasetIndex, cache_dir: str | Path | None = None) -> HealthReport | None:
    """The health report from the check's memory alone, no file decoded: None unless every file of the index was
    checked before and is unchanged (an evaluation carries its warnings over without a second check)."""
    labelled, keys = _labelled(index)
    cache = FactCache(Path(cache_dir) if cache_dir else default_cache_dir())
    try:
        known = cache.lookup(index.root, keys)
    finally:
        cache.close()
    if any(str(path) not in known for _, path, _ in labelled):
        return None
    return _report(index, labelled, known, len(known), 0.0)


def run_check(root: str | Path, valid_fraction: float = 0.2, seed: int = 0, cache_dir=None) -> HealthReport:
    """check_dataset without the progress: just the report."""
    report = None
    for item in check_dataset(root, valid_fraction, seed, cache_dir):
        if isinstance(item, HealthReport):
            report = item
    return report


def _report(index: DatasetIndex, labelled, known: dict[str, FileFacts], from_cache: int, seconds: float) -> HealthReport:
    def rel(path: Path) -> str:
        return path.relative_to(index.root).as_posix()

    skipped = [{"path": rel(p), "reason": reason} for p, reason in index.unused.items()]
    samples, kinds = [], {}
    for split, path, label in labelled:
        facts = known.get(str(path)) or FileFacts(False, "corrupt", "disappeared during the check")
        if facts.ok:
            samples.append(Sample(split, rel(path), label, facts.digest, facts.phash, facts.thumb))
        else:
            skipped.append({"path": rel(path), "reason": facts.reason})
            kinds.setdefault(facts.kind, []).append(rel(path))
    splits = {split: class_counts((s.label for s in samples if s.split == split), index.classes)
              for split in index.splits}
    warnings = [w for rule in RULES for w in rule(index, splits, samples, kinds)]
    return HealthReport(
        root=str(index.root), layout=index.layout, classes=index.classes, splits=splits, skipped=skipped,
        warnings=warnings, files=len(labelled) + len(index.unused), seconds=round(seconds, 3),
        from_cache=from_cache, valid_fraction=index.valid_fraction, seed=index.seed,
    )
