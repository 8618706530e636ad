"""How a run that did not finish says so in its folder: closed by its consumer, failed, or stopped by a full disk."""
from __future__ import annotations

import contextlib
import errno
import sqlite3

from core.errors import DiskFull
from core.runstore.folder import RunFolder
from core.training.state import RunState


def record_closed(run: RunState) -> None:
    """Closed by its consumer, or Ctrl+C in a terminal: logged, and stopped where it has a checkpoint."""
    RunFolder(run.path).log({"event": "RunClosed", "epochs_run": run.epochs_run})
    if run.best_epoch is not None:
        run.close("stopped")


def record_failure(run: RunState, err: Exception) -> DiskFull | None:
    """Log the error and mark the run failed; for a full disk, the DiskFull to raise instead (it says what is kept)."""
    if not _disk_full(err):
        RunFolder(run.path).log({"event": "RunFailed", "error": f"{type(err).__name__}: {err}"})
        if run.best_epoch is not None:
            run.close("failed")
        return None
    full = DiskFull(run.epochs_run, run.best_epoch)
    _record_on_full_disk(run, str(full))
    return full


def _disk_full(err: BaseException) -> bool:
    if isinstance(err, sqlite3.OperationalError):  # a cache (features, activations) that found no room
        return getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)


def _record_on_full_disk(run: RunState, sentence: str) -> None:
    """Log the failure and mark the summary failed, as far as a full disk lets: each write is atomic, so one that
    finds no room leaves the file as it was."""
    with contextlib.suppress(OSError):
        RunFolder(run.path).log({"event": "RunFailed", "error": sentence})
    if run.best_epoch is not None:
        with contextlib.suppress(OSError):
            run.close("failed")
            RunFolder(run.path).update_summary(error=sentence)
