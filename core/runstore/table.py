"""The runs table: one `RunRecord` per run folder (what it trained, how it went, its owner and user label), the one
way runs are listed, and the runs-folder chores: a new run's folder, naming, deleting, and marking abandoned runs
failed. Reads only small files, never a checkpoint."""
from __future__ import annotations

import os
import shutil
import time
import unicodedata
import uuid
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from core.runstore.folder import BASELINES, KEPT, RunFolder, is_run_id
from core.runstore.log import LIFECYCLE, events, logged_status, run_status, wall_s
from core.runstore.owner import ELSEWHERE, owner_state, remove_temporaries
from core.system import read_json_object, write_json_atomic

NAME_MAX, NOTE_MAX = 80, 2000
STAMP_FORMAT = "%Y%m%d-%H%M%S"  # how `new_run_dir` names a folder
SHOWN_FORMAT = "%Y-%m-%d %H:%M"
ABANDONED = "the process training it ended without closing it (killed or crashed)"
NOT_RUNS = (BASELINES, KEPT)  # sub-folders of the runs folder that hold something else


@dataclass(frozen=True)
class RunRecord:
    """One row of the runs table: what a run trained, how it went, who trains it and the user's name and note."""

    run_id: str
    path: Path
    started: str
    dataset: str
    dataset_path: str
    backbone: str
    recipe: str
    image_size: int | None
    epochs_run: int
    epochs: int | None
    best_valid_acc: float | None
    wall_s: float | None
    status: str
    name: str
    note: str
    has_checkpoint: bool
    classes: list[str] = field(default_factory=list)
    owner: str | None = None  # the training process: alive, gone, elsewhere, or None when nothing trains it
    field_pictures: int = 0  # training pictures filed from use (core.training.field), as summary.json counts them

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.path)

    @property
    def can_predict(self) -> bool:
        """Whether it has a checkpoint and knows its classes."""
        return self.has_checkpoint and bool(self.classes)

    def label(self) -> str:
        """How a run picker names it: id, classes and validation accuracy."""
        acc = "not validated" if self.best_valid_acc is None else f"{self.best_valid_acc:.0%} valid"
        return f"{self.run_id} · {', '.join(self.classes)} · {acc}"

    def to_dict(self) -> dict:
        """JSON-ready: the path as text."""
        return {**asdict(self), "path": str(self.path)}


def _started(run_dir: Path) -> str:
    """When the run began: the timestamp its folder name starts with, else the folder's modification time."""
    try:
        when = datetime.strptime(run_dir.name[:15], STAMP_FORMAT)
    except ValueError:
        when = datetime.fromtimestamp(run_dir.stat().st_mtime)
    return when.strftime(SHOWN_FORMAT)


def read_record(run_dir: str | Path) -> RunRecord | None:
    """The table row of one run folder, or None when it is not a run (no config.json; an unreadable one still is)."""
    run = RunFolder(run_dir)
    if not run.config.is_file():
        return None
    config = run.read_config()
    summary = run.read_summary()
    logged = list(events(run, {*LIFECYCLE, "EpochDone"}))
    lifecycle = [e for e in logged if e["event"] in LIFECYCLE]
    started = next((e for e in reversed(logged) if e["event"] == "RunStarted"), {})
    label = read_json_object(run.label)
    data = str(config.get("data") or "")
    owner = owner_state(run.path)
    return RunRecord(
        run_id=run.run_id, path=run.path, started=_started(run.path), dataset=Path(data).name, dataset_path=data,
        backbone=str(summary.get("backbone") or config.get("backbone") or "?"),
        recipe=str(config.get("freeze") or summary.get("freeze") or "?"), image_size=config.get("image_size"),
        epochs_run=int(summary.get("epochs_run") or sum(e["event"] == "EpochDone" for e in logged)),
        epochs=config.get("epochs"), best_valid_acc=summary.get("best_valid_acc"), wall_s=wall_s(logged),
        status=run_status(run, summary, lifecycle[-1] if lifecycle else None, owner),
        name=str(label.get("name") or ""), note=str(label.get("note") or ""), has_checkpoint=run.has_checkpoint(),
        classes=list(summary.get("classes") or started.get("classes") or []), owner=owner,
        field_pictures=_count(summary.get("field_pictures")),
    )


def _count(value: object) -> int:
    """A count read from a small JSON file: 0 when it is missing or not a whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def run_folders(runs_dir: str | Path) -> list[RunFolder]:
    """The folders of `runs_dir` that may be runs, newest name first: not a link (it may point anywhere), not
    hidden (a run being deleted), not the baselines or kept pictures folder; the one scan of a runs folder."""
    try:
        with os.scandir(runs_dir) as entries:
            names = [e.name for e in entries if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
                     and e.name not in NOT_RUNS]
    except OSError:
        return []
    return [RunFolder(Path(runs_dir) / name) for name in sorted(names, reverse=True)]


def _records(runs_dir: str | Path) -> Iterator[RunRecord]:
    """The runs of `runs_dir`, newest name first, each read only when asked for; a folder that cannot be read is
    left out rather than breaking the table."""
    for run in run_folders(runs_dir):
        try:
            record = read_record(run.path)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue
        if record is not None:
            yield record


def run_records(runs_dir: str | Path) -> list[RunRecord]:
    """Every run of `runs_dir` (a folder with a config.json), newest first."""
    return sorted(_records(runs_dir), key=lambda r: (r.started, r.run_id), reverse=True)


def list_runs(runs_dir: str | Path) -> list[RunRecord]:
    """The runs that can predict (a checkpoint and their classes), newest first."""
    return [r for r in _records(runs_dir) if r.can_predict]


def find_run(runs_dir: str | Path, run_id: str | None = None) -> RunRecord | None:
    """One run that can predict, by id (a folder name, never a path), or the newest when no id is given; reads
    only that far."""
    if not run_id:
        return next((r for r in _records(runs_dir) if r.can_predict), None)
    if not is_run_id(run_id):
        return None
    path = Path(runs_dir) / run_id
    try:
        record = read_record(path) if path.is_dir() and not path.is_symlink() else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):  # a damaged run is none to predict with
        return None
    return record if record is not None and record.can_predict else None


def locate_run(runs_dir: str | Path, run: str | Path) -> Path:
    """A run named on the command line: a run id of `runs_dir`, else a path to a run folder."""
    by_id = Path(runs_dir) / str(run)
    for candidate in ([by_id] if str(run) == Path(run).name else []) + [Path(run)]:
        if RunFolder(candidate).config.is_file():
            return candidate
    raise ValueError(f"{run} is neither a run id in {runs_dir} nor a run folder.")


def new_run_dir(runs_dir: str | Path, backbone: str) -> Path:
    """Create a fresh, uniquely named run folder (timestamp first, so names sort by time)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime(STAMP_FORMAT)}-{backbone}"
    for n in range(1000):
        path = runs_dir / (stem if n == 0 else f"{stem}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run folder in {runs_dir}")


# A run's label field -> (its sentence when it is not text, its sentence when it is too long)
LABEL_SENTENCES = {
    "name": ("The run's name must be text, not {kind}.",
             "The run's name is {length} characters long; keep it to {limit} at most."),
    "note": ("The run's note must be text, not {kind}.",
             "The run's note is {length} characters long; keep it to {limit} at most."),
}


def _clean(text: object, what: str, limit: int, keep: str = "") -> str:
    """`text` without control characters (except those in `keep`) and outer spaces; ValueError when too long.
    `what` is a key of LABEL_SENTENCES."""
    not_text, too_long = LABEL_SENTENCES[what]
    text = "" if text is None else text
    if not isinstance(text, str):
        raise TypeError(not_text.format(kind=type(text).__name__))
    text = "".join(c for c in text if c in keep or unicodedata.category(c) != "Cc").strip()
    if len(text) > limit:
        raise ValueError(too_long.format(length=len(text), limit=limit))
    return text


def set_label(run_dir: str | Path, name: str, note: str) -> None:
    """Give a run the user's short name and note (label.json, written atomically)."""
    run = RunFolder(run_dir)
    if not run.config.is_file():
        raise ValueError(f"{run.run_id} is not a run folder, so it cannot be named.")
    write_json_atomic(run.label, {"name": _clean(name, "name", NAME_MAX),
                                  "note": _clean(note, "note", NOTE_MAX, keep="\n\t")})


def delete_run(runs_dir: str | Path, run_id: str, busy: Collection[str] = ()) -> Path:
    """Delete the run folder `run_id` of `runs_dir` unless it is training; ValueError says why not. The folder is
    first renamed to a hidden name, so the table never shows half a run, and symlinks in it are removed, never
    followed."""
    runs_dir = Path(runs_dir)
    if not is_run_id(run_id) or "\\" in run_id:
        raise ValueError(f"{run_id!r} is not the name of a run folder.")
    path = runs_dir / run_id
    if path.is_symlink():
        raise ValueError(f"{run_id} is a link to a folder elsewhere, not a run folder of {runs_dir}: not deleted.")
    if not path.is_dir() or path.resolve().parent != runs_dir.resolve():
        raise ValueError(f"There is no run folder named {run_id} in {runs_dir}.")
    record = read_record(path)
    if record is None:
        raise ValueError(f"{run_id} is not a run folder (it has no config.json), so it is not deleted.")
    if run_id in busy or record.status == "running":
        raise ValueError(f"{run_id} is training now; stop it before deleting it.")
    doomed = runs_dir / f".deleting-{run_id}-{uuid.uuid4().hex[:8]}"
    os.rename(path, doomed)
    shutil.rmtree(doomed)
    return path


def mark_abandoned(runs_dir: str | Path) -> list[str]:
    """Mark failed each run of `runs_dir` and of its baselines/ whose files say "running" but whose process is gone
    (the runs table says "failed" for it): a RunFailed line in metrics.jsonl, summary.json's status, no owner file or
    temporaries left. Returns the run ids marked; a run another host owns, or one still training, is left alone."""
    marked = []
    for run in run_folders(runs_dir) + run_folders(Path(runs_dir) / BASELINES):
        try:
            record = read_record(run.path)
            if record is None or record.status != "failed" or logged_status(run) != "running" \
                    or record.owner == ELSEWHERE:
                continue
            run.log({"event": "RunFailed", "error": ABANDONED})
            run.update_summary(status="failed", error=ABANDONED)
            run.owner.unlink(missing_ok=True)
            remove_temporaries(run.path)
        except (OSError, ValueError):
            continue
        marked.append(run.run_id)
    return sorted(marked)
