"""The runs table: one `RunRecord` per run folder (what it trained, how it went, its user label), the curves of
its metrics.jsonl, and deleting a run that is not training. Reads only small files, never a checkpoint."""
from __future__ import annotations

import json
import os
import shutil
import time
import unicodedata
import uuid
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path

from core.events import EpochDone
from core.runstore.owner import ALIVE, GONE, owner_state
from core.runstore.store import CHECKPOINT_NAME, is_run_id
from core.system import read_json_object, write_json_atomic

LABEL_NAME = "label.json"
METRICS_NAME = "metrics.jsonl"
RUNNING_WINDOW_S = 600  # a run whose log has been silent this long is no longer training (steps are logged)
NAME_MAX, NOTE_MAX = 80, 2000
STAMP_FORMAT = "%Y%m%d-%H%M%S"  # how `new_run_dir` names a folder
SHOWN_FORMAT = "%Y-%m-%d %H:%M"
# What each line that starts or ends a run says about it; the last such line of metrics.jsonl is the run's state.
LIFECYCLE = {
    "RunStarted": lambda e: "running",
    "RunContinued": lambda e: "running",
    "RunFinished": lambda e: "stopped" if e.get("stopped") else "finished",
    "RunClosed": lambda e: "stopped",
    "RunFailed": lambda e: "failed",
}


@dataclass(frozen=True)
class RunRecord:
    """One row of the runs table: what a run trained, how it went and the user's name and note for it."""

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

    def to_dict(self) -> dict:
        """JSON-ready: the path as text."""
        return {**asdict(self), "path": str(self.path)}


CurvePoint = EpochDone  # one epoch of a run's curves is the very event metrics.jsonl logged for it


@dataclass(frozen=True)
class StageStart:
    """A StageStarted line: from which epoch and step other layers trained."""

    stage: int
    name: str
    epoch: int
    step: int


@dataclass
class RunCurves:
    """A run's learning curves: every epoch in the order logged (a continued run's epochs follow), and its stages."""

    points: list[CurvePoint] = field(default_factory=list)
    stages: list[StageStart] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {"points": [asdict(p) for p in self.points], "stages": [asdict(s) for s in self.stages]}


def _events(run_dir: Path, wanted: Collection[str]) -> Iterator[dict]:
    """The lines of metrics.jsonl naming one of `wanted` events, in order; a torn or foreign line is skipped, and
    the many StepDone lines are passed over without being parsed."""
    try:
        data = (run_dir / METRICS_NAME).read_bytes()
    except OSError:
        return
    for line in data.splitlines():
        if line.startswith(b'{"event": "StepDone"') and "StepDone" not in wanted:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") in wanted:
            yield event


def _started(run_dir: Path) -> str:
    """When the run began: the timestamp its folder name starts with, else the folder's modification time."""
    try:
        when = datetime.strptime(run_dir.name[:15], STAMP_FORMAT)
    except ValueError:
        when = datetime.fromtimestamp(run_dir.stat().st_mtime)
    return when.strftime(SHOWN_FORMAT)


def _log_is_live(run_dir: Path) -> bool:
    """Whether metrics.jsonl (or, before its first line, config.json) was written in the last RUNNING_WINDOW_S."""
    written = []
    for name in (METRICS_NAME, "config.json"):
        try:
            written.append((run_dir / name).stat().st_mtime)
        except OSError:
            continue
    return bool(written) and time.time() - max(written) < RUNNING_WINDOW_S


def _logged(summary: dict, last_lifecycle: dict | None) -> str:
    """What the run's files say: the log's last start or end line, else summary.json's status."""
    if last_lifecycle is not None:
        return LIFECYCLE[last_lifecycle["event"]](last_lifecycle)
    return str(summary.get("status") or "running")


def logged_status(run_dir: str | Path) -> str:
    """finished, stopped, failed or running as the run's files say it, whether or not its process is still there."""
    run_dir = Path(run_dir)
    lifecycle = list(_events(run_dir, set(LIFECYCLE)))
    return _logged(read_json_object(run_dir / "summary.json"), lifecycle[-1] if lifecycle else None)


def _status(run_dir: Path, summary: dict, last_lifecycle: dict | None) -> str:
    """finished, stopped, failed or running: what the files say; a run that says it is running is failed when the
    process in its owner.json is gone, running while it is alive however quiet its log; without an owner file (an
    older run, another host's) it failed when it has logged nothing for RUNNING_WINDOW_S."""
    status = _logged(summary, last_lifecycle)
    if status != "running":
        return status
    owner = owner_state(run_dir)
    if owner in (ALIVE, GONE):
        return "running" if owner == ALIVE else "failed"
    return "running" if _log_is_live(run_dir) else "failed"


def _label(run_dir: Path) -> tuple[str, str]:
    label = read_json_object(run_dir / LABEL_NAME)
    return str(label.get("name") or ""), str(label.get("note") or "")


def _wall_s(events: list[dict]) -> float | None:
    """Seconds the run trained: each session's (a continued run logs one RunStarted per session) RunFinished wall_s,
    else its last EpochDone elapsed_s (it crashed or is still going), added up; None before any epoch."""
    sessions: list[float | None] = []
    for event in events:
        if event["event"] not in ("RunStarted", "EpochDone", "RunFinished"):
            continue
        if event["event"] == "RunStarted" or not sessions:
            sessions.append(None)
        if event["event"] != "RunStarted":
            sessions[-1] = event.get("wall_s" if event["event"] == "RunFinished" else "elapsed_s", sessions[-1])
    seconds = [float(s) for s in sessions if isinstance(s, (int, float))]
    return sum(seconds) if seconds else None


def read_record(run_dir: str | Path) -> RunRecord | None:
    """The table row of one run folder, or None when it is not a run (no config.json)."""
    run_dir = Path(run_dir)
    config = read_json_object(run_dir / "config.json")
    if not config:
        return None
    summary = read_json_object(run_dir / "summary.json")
    events = list(_events(run_dir, {*LIFECYCLE, "EpochDone"}))
    lifecycle = [e for e in events if e["event"] in LIFECYCLE]
    epochs_logged = sum(e["event"] == "EpochDone" for e in events)
    started = next((e for e in reversed(events) if e["event"] == "RunStarted"), {})
    name, note = _label(run_dir)
    data = str(config.get("data") or "")
    return RunRecord(
        run_id=run_dir.name, path=run_dir, started=_started(run_dir), dataset=Path(data).name, dataset_path=data,
        backbone=str(summary.get("backbone") or config.get("backbone") or "?"),
        recipe=str(config.get("freeze") or summary.get("freeze") or "?"), image_size=config.get("image_size"),
        epochs_run=int(summary.get("epochs_run") or epochs_logged), epochs=config.get("epochs"),
        best_valid_acc=summary.get("best_valid_acc"), wall_s=_wall_s(events),
        status=_status(run_dir, summary, lifecycle[-1] if lifecycle else None),
        name=name, note=note, has_checkpoint=(run_dir / CHECKPOINT_NAME).is_file(),
        classes=list(summary.get("classes") or started.get("classes") or []),
    )


def run_records(runs_dir: str | Path) -> list[RunRecord]:
    """Every run folder of `runs_dir` (one with a config.json; not a link, not hidden), newest first; a folder that
    cannot be read is left out rather than breaking the table."""
    try:
        with os.scandir(runs_dir) as entries:
            folders = [Path(e.path) for e in entries  # a link to a folder elsewhere is not one of its runs
                       if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]
    except OSError:
        return []
    records = []
    for folder in folders:
        try:
            record = read_record(folder)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue
        if record is not None:
            records.append(record)
    return sorted(records, key=lambda r: (r.started, r.run_id), reverse=True)


def _clean(text: object, what: str, limit: int, keep: str = "") -> str:
    """`text` without control characters (except those in `keep`) and outer spaces; ValueError when too long."""
    text = "" if text is None else text
    if not isinstance(text, str):
        raise TypeError(f"The run's {what} must be text, not {type(text).__name__}.")
    text = "".join(c for c in text if c in keep or unicodedata.category(c) != "Cc").strip()
    if len(text) > limit:
        raise ValueError(f"The run's {what} is {len(text)} characters long; keep it to {limit} at most.")
    return text


def set_label(run_dir: str | Path, name: str, note: str) -> None:
    """Give a run the user's short name and note (label.json, written atomically)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise ValueError(f"{run_dir.name} is not a run folder, so it cannot be named.")
    write_json_atomic(run_dir / LABEL_NAME, {"name": _clean(name, "name", NAME_MAX),
                                             "note": _clean(note, "note", NOTE_MAX, keep="\n\t")})


def read_curves(run_dir: str | Path) -> RunCurves:
    """The run's EpochDone points and StageStarted marks from metrics.jsonl, in order; empty when there is none."""
    curves = RunCurves()
    for event in _events(Path(run_dir), {"EpochDone", "StageStarted"}):
        try:
            if event["event"] == "EpochDone":
                curves.points.append(CurvePoint(**{f.name: event[f.name] for f in fields(CurvePoint)}))
            else:
                curves.stages.append(StageStart(event["stage"], event["name"], event["epoch"], event["step"]))
        except KeyError:
            continue
    return curves


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


def locate_run(runs_dir: str | Path, run: str | Path) -> Path:
    """A run named on the command line: a run id of `runs_dir`, else a path to a run folder."""
    by_id = Path(runs_dir) / str(run)
    for candidate in ([by_id] if str(run) == Path(run).name else []) + [Path(run)]:
        if (candidate / "config.json").is_file():
            return candidate
    raise ValueError(f"{run} is neither a run id in {runs_dir} nor a run folder.")
