"""A run's log (metrics.jsonl) read back: its lifecycle lines give its status (with its owner process), its
EpochDone and StageStarted lines its curves, its sessions its wall time. Reads only the log and small files."""
from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from core.events import EpochDone
from core.runstore.folder import LOG_ONLY, RunFolder, as_folder
from core.runstore.owner import ALIVE, GONE, owner_state

RUNNING_WINDOW_S = 600  # a run whose log has been silent this long is no longer training (steps are logged)
# What each line that starts or ends a run says about it; the last such line of metrics.jsonl is the run's state.
LIFECYCLE = {
    "RunStarted": lambda e: "running",
    "RunContinued": lambda e: "running",
    "RunFinished": lambda e: "stopped" if e.get("stopped") else "finished",
    "RunClosed": lambda e: "stopped",
    "RunFailed": lambda e: "failed",
}
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


def events(run: RunFolder, wanted: Collection[str]) -> Iterator[dict]:
    """The lines of metrics.jsonl naming one of `wanted` events, in order; a torn or foreign line is skipped, and
    the many StepDone lines are passed over without being parsed."""
    try:
        data = run.metrics.read_bytes()
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


def _log_is_live(run: RunFolder) -> bool:
    """Whether metrics.jsonl (or, before its first line, config.json) was written in the last RUNNING_WINDOW_S."""
    written = []
    for name in LOG_ONLY:
        try:
            written.append(run.file(name).stat().st_mtime)
        except OSError:
            continue
    return bool(written) and time.time() - max(written) < RUNNING_WINDOW_S


def _logged(summary: dict, last_lifecycle: dict | None) -> str:
    """What the run's files say: the log's last start or end line, else summary.json's status."""
    if last_lifecycle is not None:
        return LIFECYCLE[last_lifecycle["event"]](last_lifecycle)
    return str(summary.get("status") or "running")


def logged_status(run: str | Path | RunFolder) -> str:
    """finished, stopped, failed or running as the run's files say it, whether or not its process is still there."""
    run = as_folder(run)
    lifecycle = list(events(run, set(LIFECYCLE)))
    return _logged(run.read_summary(), lifecycle[-1] if lifecycle else None)


def run_status(run: RunFolder, summary: dict, last_lifecycle: dict | None, owner: str | None) -> str:
    """finished, stopped, failed or running: what the files say; a run that says it is running is failed when the
    process in its owner.json is gone, running while it is alive however quiet its log; without an owner file (an
    older run, another host's) it failed when it has logged nothing for RUNNING_WINDOW_S."""
    status = _logged(summary, last_lifecycle)
    if status != "running":
        return status
    if owner in (ALIVE, GONE):
        return "running" if owner == ALIVE else "failed"
    return "running" if _log_is_live(run) else "failed"


def current_status(run: str | Path | RunFolder) -> str:
    """The run's status now: its log, its summary and its owner process."""
    run = as_folder(run)
    lifecycle = list(events(run, set(LIFECYCLE)))
    return run_status(run, run.read_summary(), lifecycle[-1] if lifecycle else None, owner_state(run.path))


def wall_s(logged: list[dict]) -> float | None:
    """Seconds the run trained: each session's (a continued run logs one RunStarted per session) RunFinished wall_s,
    else its last EpochDone elapsed_s (it crashed or is still going), added up; None before any epoch."""
    sessions: list[float | None] = []
    for event in logged:
        if event["event"] not in ("RunStarted", "EpochDone", "RunFinished"):
            continue
        if event["event"] == "RunStarted" or not sessions:
            sessions.append(None)
        if event["event"] != "RunStarted":
            sessions[-1] = event.get("wall_s" if event["event"] == "RunFinished" else "elapsed_s", sessions[-1])
    seconds = [float(s) for s in sessions if isinstance(s, (int, float))]
    return sum(seconds) if seconds else None


def read_curves(run: str | Path | RunFolder) -> RunCurves:
    """The run's EpochDone points and StageStarted marks from metrics.jsonl, in order; empty when there is none."""
    run = as_folder(run)
    curves = RunCurves()
    for event in events(run, {"EpochDone", "StageStarted"}):
        try:
            if event["event"] == "EpochDone":
                curves.points.append(CurvePoint(**{f.name: event[f.name] for f in fields(CurvePoint)
                                                   if f.name in event or f.default is MISSING}))  # older logs
            else:
                curves.stages.append(StageStart(event["stage"], event["name"], event["epoch"], event["step"]))
        except KeyError:
            continue
    return curves
