"""What one app instance knows: its folders, its loaded predictors, its sessions' stop buttons."""
from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

from core.runstore.folder import RunFolder, is_run_id
from core.runstore.table import RunRecord, find_run, list_runs
from core.system import default_cache_dir
from gui import words
from gui.limits import MAX_DATA_MB, MAX_FILE_MB, MAX_FILES
from gui.keeping import Keeper
from gui.queue import TrainingQueue
from gui.share_servers import ShareServers

DOWNLOAD_KEEP_S = 600.0  # a download's file outlives the handler that wrote it by this long (Gradio copies it)
JobKind = Literal["train", "check", "audit", "map"]  # a session runs at most one job of each kind at a time


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
    max_data_mb: int = MAX_DATA_MB  # the builder's datasets folder may not grow past this
    max_file_mb: int = MAX_FILE_MB  # one picture added to a dataset (dropped, or unpacked from a zip)
    max_files: int = MAX_FILES  # files in one drop
    keep_predictions: bool = False  # launch.py --keep-predictions: keep what the model is shown, for this start
    trainings: TrainingQueue = field(default_factory=TrainingQueue, init=False, repr=False, compare=False)
    shares: ShareServers = field(default_factory=ShareServers, init=False, repr=False, compare=False)
    _jobs: dict[tuple[JobKind, str], threading.Event] = field(default_factory=dict, init=False, repr=False)
    _jobs_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _training: set[str] = field(default_factory=set, init=False, repr=False)  # run ids training now (same lock)

    def __post_init__(self):
        self.data_root = Path(self.data_root).resolve()
        self.runs_dir = Path(self.runs_dir).resolve()
        self.initial_dataset = Path(self.initial_dataset).resolve()

    def begin(self, kind: JobKind, session: str) -> threading.Event:
        """A new stop event for this session's job; an unfinished job of the same kind it replaces is told to stop.

        Gradio calls handlers from several worker threads, so every read and write of the table holds the lock.
        """
        stop = threading.Event()
        with self._jobs_lock:
            previous = self._jobs.get((kind, session))
            self._jobs[(kind, session)] = stop
        if previous is not None:
            previous.set()
        return stop

    def finish(self, kind: JobKind, session: str, stop: threading.Event) -> None:
        """Forget a job that ended, unless a newer job of the session has already replaced it."""
        with self._jobs_lock:
            if self._jobs.get((kind, session)) is stop:
                del self._jobs[(kind, session)]

    def request_stop(self, kind: JobKind, session: str) -> bool:
        """Tell this session's running job of this kind to stop; False when there is none."""
        with self._jobs_lock:
            stop = self._jobs.get((kind, session))
        if stop is None:
            return False
        stop.set()
        return True

    @contextmanager
    def job(self, kind: JobKind, session: str) -> Iterator[threading.Event]:
        """`begin` on entry, `finish` on exit (also when a streaming handler's generator is closed early)."""
        stop = self.begin(kind, session)
        try:
            yield stop
        finally:
            self.finish(kind, session, stop)

    def run_folder(self, run_id: str | None) -> Path:
        """A run folder of this app's runs folder by id, trained to the end or not (it has a config.json); ids are
        names, never paths."""
        run_id = run_id or ""
        path = self.runs_dir / run_id
        if not is_run_id(run_id) or not RunFolder(path).is_run():
            raise LookupError(words.NO_SUCH_RUN.format(run_id=run_id) if run_id else words.PICK_A_RUN)
        return path

    def training_ids(self) -> frozenset[str]:
        """The ids of the runs training now in this app (any session), which must not be deleted or continued."""
        with self._jobs_lock:
            return frozenset(self._training)

    @contextmanager
    def training_runs(self) -> Iterator[Callable[[str], bool]]:
        """Yield `claim(run_id)`: the run counts as training until the block ends; False when another job of the
        app already trains it (then it is not this block's to release)."""
        mine: set[str] = set()

        def claim(run_id: str) -> bool:
            with self._jobs_lock:
                if run_id in self._training:
                    return run_id in mine
                self._training.add(run_id)
                mine.add(run_id)
                return True

        try:
            yield claim
        finally:
            with self._jobs_lock:
                self._training.difference_update(mine)

    @cached_property
    def _downloads(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="transfer-studio-downloads-"))  # Gradio may hand out the system temp

    def download_path(self, name: str, keep_s: float = DOWNLOAD_KEEP_S) -> Path:
        """Where to write a file for the page to download (an export, a project, a CSV): one folder per app under
        the system's temporary folder, whose files older than `keep_s` (long handed over) are removed first."""
        now = time.time()
        for old in self._downloads.iterdir():
            with contextlib.suppress(OSError):
                if now - old.stat().st_mtime > keep_s:
                    old.unlink()
        return self._downloads / name

    @cached_property
    def keeper(self) -> Keeper:
        """The owner's switch and store for the pictures the model is shown (gui.keeping)."""
        return Keeper(self.runs_dir, self.cache_dir, self.keep_predictions)

    @cached_property
    def predictors(self):
        """Loaded runs, created on first prediction so that starting the app does not import torch."""
        from core.inference.predict import PredictorCache

        return PredictorCache()

    @property
    def served_roots(self) -> list[Path]:
        """Folders whose files the app may read and show: the data folder and the dataset it was started on."""
        return [self.data_root] + ([] if _inside(self.initial_dataset, self.data_root) else [self.initial_dataset])

    def is_served(self, path: str | Path) -> bool:
        """Whether the app may show this file: it lies inside one of the served folders."""
        resolved = Path(path).resolve()
        return any(_inside(resolved, root) for root in self.served_roots)

    def resolve_dataset(self, text: str) -> Path:
        """Turn what the user typed into a folder inside the served roots, or say why not."""
        text = (text or "").strip()
        if not text:
            raise OutsideServedFolders(words.CHOOSE_DATASET)
        raw = Path(text).expanduser()
        candidates = [raw] if raw.is_absolute() else [Path.cwd() / raw, self.data_root / raw]
        for candidate in candidates:
            path = candidate.resolve()
            if any(_inside(path, root) for root in self.served_roots) and path.exists():
                return path
        roots = " or ".join(str(r) for r in self.served_roots)
        if any(any(_inside(c.resolve(), r) for r in self.served_roots) for c in candidates):
            raise OutsideServedFolders(words.MISSING_INSIDE.format(text=text, roots=roots))
        raise OutsideServedFolders(words.OUTSIDE_SERVED.format(text=text, roots=roots))

    def runs(self) -> list[RunRecord]:
        return list_runs(self.runs_dir)

    def run_by_id(self, run_id: str | None) -> RunRecord:
        """A run of this app's runs folder by id (the latest when empty); ids are names, never paths, and a run
        folder that is a symbolic link (its files lie elsewhere) is none of its runs (core.runstore.table)."""
        run = find_run(self.runs_dir, run_id)
        if run is not None:
            return run
        if run_id and find_run(self.runs_dir) is not None:
            raise LookupError(words.NO_SUCH_RUN.format(run_id=run_id))
        raise LookupError(words.NO_RUN_YET)
