"""Which process trains a run: owner.json in the run folder while it trains, removed when the run ends in any way.

A run whose files say "running" but whose owner process is gone (killed, crashed, the machine restarted) is marked
failed by `core.runstore.table.mark_abandoned`, at the app's start and by `python -m core runs`, so it never stays
"running" forever.
A process is recognised by its pid and its start time (a recycled pid is another process); a run owned by another
host is left to that host.
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from core.runstore.folder import RunFolder
from core.system import read_json_object, write_json_atomic

TEMPORARY_AGE_S = 120.0  # a leftover temporary this old is no live writer's (a checkpoint is written in seconds)
ALIVE, GONE, ELSEWHERE = "alive", "gone", "elsewhere"  # what `owner_state` says of a run's owner


def process_start(pid: int) -> str | None:
    """When process `pid` started, in clock ticks since boot (/proc/<pid>/stat, field 22), or None where there is
    no /proc or no such process: with the pid it names one process, even after the pid is recycled."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # the command name, in parentheses, may hold spaces
    return fields[19] if len(fields) > 19 else None


def this_process() -> dict:
    """The owner record of the calling process."""
    pid = os.getpid()
    return {"pid": pid, "hostname": socket.gethostname(), "process_start": process_start(pid),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def read_owner(run_dir: str | Path) -> dict | None:
    """The run's owner record, or None when it has none (not training, or trained before runs kept one)."""
    return read_json_object(RunFolder(run_dir).owner) or None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


def owner_state(run_dir: str | Path) -> str | None:
    """ALIVE, GONE or ELSEWHERE (owned by another host: this one cannot tell), or None without an owner file."""
    owner = read_owner(run_dir)
    if owner is None:
        return None
    if owner.get("hostname") != socket.gethostname():
        return ELSEWHERE
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or not _pid_alive(pid):
        return GONE
    started = owner.get("process_start")
    now = process_start(pid)
    if started is not None and now is not None and str(started) != now:
        return GONE  # the pid was recycled: another process holds it now
    return ALIVE


def remove_temporaries(run_dir: str | Path) -> list[str]:
    """Delete the half-written temporaries (`.<name>.<random>.tmp`, from `core.system.atomic_write`) a killed writer
    left in the run folder; call only when no process writes into it. Readers never open them anyway."""
    removed, now = [], time.time()
    for tmp in Path(run_dir).glob(".*.tmp"):
        try:  # a temporary written to a moment ago may be another writer's at work (an evaluation): left alone
            if tmp.is_file() and not tmp.is_symlink() and now - tmp.stat().st_mtime > TEMPORARY_AGE_S:
                tmp.unlink()
                removed.append(tmp.name)
        except OSError:
            continue
    return sorted(removed)


def claim(run_dir: str | Path) -> None:
    """Mark the run as trained by this process (owner.json, atomically); temporaries a dead writer left are removed."""
    remove_temporaries(run_dir)
    write_json_atomic(RunFolder(run_dir).owner, this_process())


def release(run_dir: str | Path) -> None:
    """The run ends: remove owner.json if this process owns it (never another's)."""
    owner = read_owner(run_dir)
    if owner is not None and owner.get("pid") == os.getpid() and owner.get("hostname") == socket.gethostname():
        RunFolder(run_dir).owner.unlink(missing_ok=True)
