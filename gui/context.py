"""What one app instance knows: its folders, its loaded predictors, its sessions' stop buttons."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from core.runs.store import RunInfo, find_run, list_runs
from core.system import default_cache_dir


class OutsideServedFolders(ValueError):
    """A path outside the folders this app was told to serve."""


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


@dataclass
class AppContext:
    """Per-app state; nothing here is module-global, so two apps (or two tests) never share a model."""

    data_root: Path
    runs_dir: Path
    initial_dataset: Path
    cache_dir: Path = field(default_factory=default_cache_dir)
    stops: dict[str, threading.Event] = field(default_factory=dict)
    checks: dict[str, threading.Event] = field(default_factory=dict)

    def __post_init__(self):
        self.data_root = Path(self.data_root).resolve()
        self.runs_dir = Path(self.runs_dir).resolve()
        self.initial_dataset = Path(self.initial_dataset).resolve()

    @cached_property
    def predictors(self):
        """Loaded runs, created on first prediction so that starting the app does not import torch."""
        from core.inference.predict import PredictorCache

        return PredictorCache()

    @property
    def served_roots(self) -> list[Path]:
        """Folders whose files the app may read and show: the data folder and the dataset it was started on."""
        return [self.data_root] + ([] if _inside(self.initial_dataset, self.data_root) else [self.initial_dataset])

    def resolve_dataset(self, text: str) -> Path:
        """Turn what the user typed into a folder inside the served roots, or say why not."""
        text = (text or "").strip()
        if not text:
            raise OutsideServedFolders("Choose a dataset folder first.")
        raw = Path(text).expanduser()
        candidates = [raw] if raw.is_absolute() else [Path.cwd() / raw, self.data_root / raw]
        for candidate in candidates:
            path = candidate.resolve()
            if any(_inside(path, root) for root in self.served_roots) and path.exists():
                return path
        roots = " or ".join(str(r) for r in self.served_roots)
        if any(any(_inside(c.resolve(), r) for r in self.served_roots) for c in candidates):
            raise OutsideServedFolders(f"{text} does not exist inside {roots}.")
        raise OutsideServedFolders(
            f"{text} is outside the folders this app serves ({roots}). "
            "Copy the dataset into the data folder, or start the app with --data pointing at it."
        )

    def runs(self) -> list[RunInfo]:
        return list_runs(self.runs_dir)

    def run_by_id(self, run_id: str | None) -> RunInfo:
        """A run of this app's runs folder by id (the latest when empty); ids are names, never paths."""
        run = find_run(self.runs_dir, run_id)
        if run is not None:
            return run
        if run_id and find_run(self.runs_dir) is not None:
            raise LookupError(f"There is no run called {run_id!r}.")
        raise LookupError("No trained run yet: train one in the Train tab first.")
