"""A run's owner file: a killed training reads "failed" at once, is marked failed at the next start, and resumes."""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core import EpochDone, RunFinished, RunStarted
from core.cli import main as cli_main
from core.runstore.checkpoint import CheckpointMeta, load_checkpoint
from core.runstore.folder import OWNER as OWNER_NAME
from core.runstore.log import logged_status
from core.runstore.owner import (
    ALIVE,
    ELSEWHERE,
    GONE,
    claim,
    owner_state,
    read_owner,
    release,
    this_process,
)
from core.runstore.table import ABANDONED, delete_run, mark_abandoned, read_record
from core.system import write_json_atomic
from core.training.continued import continue_run
from core.training.resume import read_last

ROOT = Path(__file__).resolve().parents[3]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _running_copy(frozen_run, tmp_path) -> Path:
    """A private copy of a finished run whose log says it is running again (a continuation began)."""
    run = frozen_run.copy_into(tmp_path / "runs")
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"event": "RunContinued"}) + "\n")
    summary = json.loads((run / "summary.json").read_text())
    write_json_atomic(run / "summary.json", {**summary, "status": "running"})
    return run


def _own(run: Path, **changes) -> None:
    write_json_atomic(run / OWNER_NAME, {**this_process(), **changes})


def test_the_owner_process_decides_whether_a_run_still_trains(frozen_run, tmp_path):
    run = _running_copy(frozen_run, tmp_path)
    assert owner_state(run) is None and read_record(run).status == "running"  # no owner file: the quiet-log rule

    _own(run)
    for name in ("metrics.jsonl", "config.json"):
        _age(run / name, 3600)
    assert (owner_state(run), read_record(run).status) == (ALIVE, "running"), "alive: quiet for an hour or not"
    assert mark_abandoned(run.parent) == []
    with pytest.raises(ValueError, match="training now"):
        delete_run(run.parent, run.name)

    _age(run / "metrics.jsonl", 0)  # a fresh log does not save a run whose process is gone
    for changes in ({"pid": _dead_pid()}, {"process_start": "1"}, {"pid": "nonsense"}):  # dead, recycled, broken
        _own(run, **changes)
        assert (owner_state(run), read_record(run).status) == (GONE, "failed"), changes

    _own(run, hostname=socket.gethostname() + "-elsewhere", pid=_dead_pid())
    assert (owner_state(run), read_record(run).status) == (ELSEWHERE, "running")
    _age(run / "metrics.jsonl", 3600)
    assert read_record(run).status == "failed"  # this host cannot tell: the quiet-log rule
    assert mark_abandoned(run.parent) == [] and logged_status(run) == "running", "another host's run is left alone"
    release(run)
    assert read_owner(run)["hostname"].endswith("-elsewhere"), "only the owner removes its owner file"


def test_claim_clears_a_dead_writers_temporaries_and_release_removes_only_its_own_file(tmp_path):
    leftover, other = tmp_path / ".best.pt.x1y2z3.tmp", tmp_path / "notes.tmp"
    fresh = tmp_path / ".evaluation.json.q7.tmp"  # another writer's, at work this very moment
    leftover.write_bytes(b"half a checkpoint")
    os.utime(leftover, (time.time() - 600, time.time() - 600))  # a dead writer's, minutes ago
    other.write_text("not ours")
    fresh.write_text("{")
    claim(tmp_path)
    assert not leftover.exists() and other.exists() and fresh.exists()
    assert read_owner(tmp_path)["pid"] == os.getpid() and owner_state(tmp_path) == ALIVE
    release(tmp_path)
    assert not (tmp_path / OWNER_NAME).exists()


def test_python_m_core_runs_marks_a_run_whose_process_is_gone(frozen_run, tmp_path, capsys):
    run = _running_copy(frozen_run, tmp_path)
    _own(run, pid=_dead_pid())
    (run / ".last.pt.abc123.tmp").write_bytes(b"torn")
    os.utime(run / ".last.pt.abc123.tmp", (time.time() - 600, time.time() - 600))
    assert cli_main(["runs", "--runs", str(run.parent)]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)[0]["status"] == "failed" and f"{run.name}: marked failed" in out.err
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1]) == {"event": "RunFailed",
                                                                                "error": ABANDONED}
    assert json.loads((run / "summary.json").read_text())["status"] == "failed" == logged_status(run)
    assert not (run / OWNER_NAME).exists() and not list(run.glob(".*.tmp"))
    assert mark_abandoned(run.parent) == [], "marked once"


def test_a_from_scratch_baseline_whose_process_is_gone_is_marked_too(frozen_run, tmp_path):
    run = _running_copy(frozen_run, tmp_path)
    baseline = run.parent / "baselines" / run.name
    baseline.parent.mkdir()
    run.rename(baseline)
    _own(baseline, pid=_dead_pid())
    assert mark_abandoned(tmp_path / "runs") == [run.name]
    assert logged_status(baseline) == "failed" and not (baseline / OWNER_NAME).exists()


@pytest.mark.timeout(180)
def test_a_killed_training_reads_failed_at_once_is_marked_at_the_next_start_and_resumes(tiny_dataset, tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "train", "--data", str(tiny_dataset), "--out", str(runs), "--freeze", "frozen",
         "--epochs", "400", "--image-size", "64", "--views", "1", "--patience", "0", "--device", "cpu"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        first = next(json.loads(line) for line in proc.stdout if '"EpochDone"' in line)
        (run,) = list(runs.iterdir())
        assert (owner_state(run), read_record(run).status) == (ALIVE, "running")
        with pytest.raises(ValueError, match=f"training now in process {proc.pid}"):
            next(continue_run(run))
        time.sleep(random.Random(proc.pid).uniform(0.0, 0.3))  # seeded: a failure can be replayed from the pid
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert first["epoch"] == 1 and proc.returncode == -signal.SIGKILL
    assert logged_status(run) == "running" and json.loads((run / "summary.json").read_text())["status"] == "running"
    assert owner_state(run) == GONE and read_record(run).status == "failed", "failed at once, not in ten minutes"
    best = CheckpointMeta.from_payload(load_checkpoint(run / "best.pt"))
    last = read_last(run)
    assert 1 <= best.epoch <= last.epoch + 1  # a kill between best.pt and last.pt leaves best.pt an epoch ahead

    assert mark_abandoned(runs) == [run.name]
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["error"] == ABANDONED
    assert logged_status(run) == "failed" and not (run / OWNER_NAME).exists()

    stop, seen = threading.Event(), []
    for event in continue_run(run, stop=stop):
        seen.append(event)
        if isinstance(event, RunStarted):
            assert event.first_epoch == last.epoch + 1
            assert read_owner(run)["pid"] == os.getpid() and read_record(run).status == "running"
        if isinstance(event, EpochDone):
            stop.set()
    assert isinstance(seen[-1], RunFinished) and seen[-1].stopped and seen[-1].epochs_run == last.epoch + 1
    assert not (run / OWNER_NAME).exists() and read_record(run).status == "stopped"
