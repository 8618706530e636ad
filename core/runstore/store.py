"""Runs live on disk, one folder each: runs/<id>/{config.json, metrics.jsonl, summary.json, best.pt}."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

CHECKPOINT_NAME = "best.pt"
EXPORT_FOLDER = "export"  # a run's exported bundles (core.inference.export), made again on demand
CALIBRATION_NAME = "calibration.json"  # temperature and "not sure" threshold of the checkpoint beside it


@dataclass(frozen=True)
class RunInfo:
    """What the run picker needs to know about a run without loading its model."""

    run_id: str
    path: Path
    backbone: str
    classes: list[str]
    best_valid_acc: float | None
    status: str

    def label(self) -> str:
        acc = "not validated" if self.best_valid_acc is None else f"{self.best_valid_acc:.0%} valid"
        return f"{self.run_id} · {', '.join(self.classes)} · {acc}"


def new_run_dir(runs_dir: str | Path, backbone: str) -> Path:
    """Create a fresh, uniquely named run folder (timestamp first, so names sort by time)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{backbone}"
    for n in range(1000):
        path = runs_dir / (stem if n == 0 else f"{stem}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run folder in {runs_dir}")


def _checkpoint_stamp(run_dir: Path) -> list[int] | None:
    try:
        st = (Path(run_dir) / CHECKPOINT_NAME).stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def write_calibration(run_dir: str | Path, temperature: float, threshold: float) -> None:
    """Remember the checkpoint's temperature and threshold, tied to that very checkpoint file."""
    from core.system import write_json_atomic

    write_json_atomic(Path(run_dir) / CALIBRATION_NAME, {"checkpoint": _checkpoint_stamp(Path(run_dir)),
                                                         "temperature": temperature, "threshold": threshold})


def read_calibration(run_dir: str | Path) -> tuple[float, float] | None:
    """(temperature, threshold) of the run's current checkpoint, or None when none was fitted for it."""
    try:
        saved = json.loads((Path(run_dir) / CALIBRATION_NAME).read_text())
        if saved["checkpoint"] != _checkpoint_stamp(Path(run_dir)):
            return None
        return float(saved["temperature"]), float(saved["threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def append_jsonl(path: Path, record: dict) -> None:
    """Append one JSON line and flush, so a crash loses at most the line being written."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def read_run(path: Path) -> RunInfo | None:
    """A run's summary, or None when the folder holds no usable checkpoint yet."""
    try:
        summary = json.loads((path / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    if not (path / CHECKPOINT_NAME).is_file():
        return None
    return RunInfo(
        run_id=path.name,
        path=path,
        backbone=summary.get("backbone", "?"),
        classes=list(summary.get("classes", [])),
        best_valid_acc=summary.get("best_valid_acc"),
        status=summary.get("status", "?"),
    )


def _newest_first(runs_dir: Path) -> Iterator[RunInfo]:
    """Runs that can predict, newest first, each read only when asked for."""
    try:
        with os.scandir(runs_dir) as entries:  # a link is not a run of this folder (it may point anywhere)
            names = sorted((e.name for e in entries if e.is_dir(follow_symlinks=False)), reverse=True)
    except OSError:
        return
    yield from (r for r in map(read_run, (runs_dir / n for n in names)) if r is not None)


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """Runs that can predict, newest first."""
    return list(_newest_first(Path(runs_dir)))


def is_run_id(text: object) -> bool:
    """Whether `text` can name a run: a plain folder name of the runs folder (never a path, never hidden)."""
    return isinstance(text, str) and bool(text) and text == Path(text).name and not text.startswith(".")


def find_run(runs_dir: str | Path, run_id: str | None = None) -> RunInfo | None:
    """One run by id (a folder name, never a path), or the newest when no id is given; reads only that far."""
    runs_dir = Path(runs_dir)
    if run_id:
        if not is_run_id(run_id):
            return None
        path = runs_dir / run_id
        return read_run(path) if path.is_dir() and not path.is_symlink() else None
    return next(_newest_first(runs_dir), None)
