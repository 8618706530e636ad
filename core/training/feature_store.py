"""Backbone outputs on disk: one row per (encoder key, file, view), valid while the file's size and mtime hold.

A second run on the same data with another head, learning rate or epoch count reads its features from here
instead of running the backbone; a changed or added file is encoded alone. Two stores share this code: pooled
features (float32, a few KB per image) and the activations where a backbone's top begins (float16, tens of KB per
image), which are bounded: past their byte budget the rows used longest ago are dropped and the file shrinks.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.system import default_cache_dir


@dataclass(frozen=True)
class StoreKind:
    """One store's file, table and number type; `bounded` tables keep rows in write order to drop the oldest."""

    file: str
    table: str  # bump its version when the decoder or the stored layout changes
    dtype: type
    bounded: bool


FEATURES = StoreKind("features.sqlite", "features_v1", np.float32, bounded=False)
ACTIVATIONS = StoreKind("activations-v2.sqlite", "activations_v2", np.float16, bounded=True)
RETIRED = ("activations.sqlite",)  # stores of earlier layouts, deleted when the current one opens (a cache)
ACTIVATION_BUDGET_MB = 2048  # default disk budget of the activation cache (TRANSFER_STUDIO_ACTIVATION_MB)


def activation_budget_bytes(directory: Path | None = None) -> int:
    """Bytes the activation cache may hold: its budget, or half of the disk space it has (free space plus what it
    takes now) where that is less."""
    budget = float(os.environ.get("TRANSFER_STUDIO_ACTIVATION_MB", ACTIVATION_BUDGET_MB)) * 2**20
    directory = Path(directory or default_cache_dir())
    directory.mkdir(parents=True, exist_ok=True)
    taken = sum(p.stat().st_size for p in directory.glob(ACTIVATIONS.file + "*"))
    return int(min(budget, (shutil.disk_usage(directory).free + taken) / 2))


class FeatureStore:
    """A SQLite table of vectors in the app's cache folder (pooled features unless `kind` says otherwise)."""

    def __init__(self, directory: Path | None = None, kind: StoreKind = FEATURES):
        directory = Path(directory or default_cache_dir())
        directory.mkdir(parents=True, exist_ok=True)
        self.kind, self.path = kind, directory / kind.file
        columns = "key TEXT, path TEXT, view TEXT, size INTEGER, mtime_ns INTEGER, vector BLOB"
        if kind.bounded:
            for old in RETIRED:
                for path in directory.glob(old + "*"):
                    path.unlink(missing_ok=True)
            if not self.path.exists() or self.path.stat().st_size == 0:  # before WAL and the first table, or the
                with sqlite3.connect(self.path, timeout=30) as db:       # file never shrinks
                    db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        with self._connect() as db:
            if kind.bounded:  # `used`: when a row was last written or read; the smallest go first
                db.execute(f"CREATE TABLE IF NOT EXISTS {kind.table} ({columns}, used INTEGER, "
                           "UNIQUE (key, path, view))")
            else:
                db.execute(f"CREATE TABLE IF NOT EXISTS {kind.table} ({columns}, PRIMARY KEY (key, path, view)) "
                           "WITHOUT ROWID")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def lookup(self, key: str, wanted: list[tuple[str, str, tuple[int, int] | None]]) -> dict[int, np.ndarray]:
        """Vectors for the (path, view, stamp) entries whose stored stamp still matches, by entry index."""
        found: dict[int, np.ndarray] = {}
        table = self.kind.table
        with self._connect() as db:
            for i, (path, view, stamp) in enumerate(wanted):
                if stamp is None:
                    continue
                row = db.execute(f"SELECT size, mtime_ns, vector FROM {table} WHERE key=? AND path=? AND view=?",
                                 (key, path, view)).fetchone()
                if row is not None and (row[0], row[1]) == stamp:
                    found[i] = np.frombuffer(row[2], dtype=self.kind.dtype)
            if self.kind.bounded and found:  # read now: the last to go
                db.executemany(f"UPDATE {table} SET used=? WHERE key=? AND path=? AND view=?",
                               [(time.time_ns(), key, wanted[i][0], wanted[i][1]) for i in found])
        return found

    def store(self, key: str, rows: list[tuple[str, str, tuple[int, int], np.ndarray]]) -> None:
        """Remember (path, view, stamp, vector) rows, replacing older vectors of the same file and view."""
        now = [time.time_ns()] if self.kind.bounded else []
        marks = ", ?" if self.kind.bounded else ""
        with self._connect() as db:
            db.executemany(f"INSERT OR REPLACE INTO {self.kind.table} VALUES (?, ?, ?, ?, ?, ?{marks})",
                           [(key, path, view, stamp[0], stamp[1], np.asarray(vec, self.kind.dtype).tobytes(), *now)
                            for path, view, stamp, vec in rows])

    def used_bytes(self) -> int:
        """Bytes the rows take on disk (pages in use)."""
        with self._connect() as db:
            pages = db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
            return pages * db.execute("PRAGMA page_size").fetchone()[0]

    def trim(self, budget: int) -> int:
        """Drop the rows used longest ago until the rows fit in `budget` bytes, and give the space back to the
        disk; how many were dropped."""
        table, dropped = self.kind.table, 0
        with self._connect() as db:
            while (used := self.used_bytes()) > budget:
                # in vector bytes: what the rows take on disk, less the pages' own overhead; at least one row
                total = db.execute(f"SELECT sum(length(vector)) FROM {table}").fetchone()[0] or 0
                excess, doomed, freed = (used - budget) * total / used, [], 0
                for rowid, size in db.execute(f"SELECT rowid, length(vector) FROM {table} ORDER BY used, rowid"):
                    doomed.append((rowid,))
                    freed += size
                    if freed >= excess:
                        break
                if not doomed:
                    break
                dropped += db.executemany(f"DELETE FROM {table} WHERE rowid=?", doomed).rowcount
                db.commit()
            db.executescript("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);")
        return dropped
