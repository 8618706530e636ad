"""Backbone features on disk: one row per (encoder key, file, view), valid while the file's size and mtime hold.

A second run on the same data with another head, learning rate or epoch count reads its features from here
instead of running the backbone; a changed or added file is encoded alone.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from core.system import default_cache_dir

SCHEMA = "features_v1"  # bump when the decoder or the stored layout changes


class FeatureStore:
    """A SQLite table of float32 feature vectors in the app's cache folder."""

    def __init__(self, directory: Path | None = None):
        directory = Path(directory or default_cache_dir())
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "features.sqlite"
        with self._connect() as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA} (key TEXT, path TEXT, view TEXT, size INTEGER, "
                       "mtime_ns INTEGER, vector BLOB, PRIMARY KEY (key, path, view)) WITHOUT ROWID")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def lookup(self, key: str, wanted: list[tuple[str, str, tuple[int, int] | None]]) -> dict[int, np.ndarray]:
        """Vectors for the (path, view, stamp) entries whose stored stamp still matches, by entry index."""
        found: dict[int, np.ndarray] = {}
        with self._connect() as db:
            for i, (path, view, stamp) in enumerate(wanted):
                if stamp is None:
                    continue
                row = db.execute(f"SELECT size, mtime_ns, vector FROM {SCHEMA} WHERE key=? AND path=? AND view=?",
                                 (key, path, view)).fetchone()
                if row is not None and (row[0], row[1]) == stamp:
                    found[i] = np.frombuffer(row[2], dtype=np.float32)
        return found

    def store(self, key: str, rows: list[tuple[str, str, tuple[int, int], np.ndarray]]) -> None:
        """Remember (path, view, stamp, vector) rows, replacing older vectors of the same file and view."""
        with self._connect() as db:
            db.executemany(f"INSERT OR REPLACE INTO {SCHEMA} VALUES (?, ?, ?, ?, ?, ?)",
                           [(key, path, view, stamp[0], stamp[1], np.asarray(vec, np.float32).tobytes())
                            for path, view, stamp, vec in rows])
