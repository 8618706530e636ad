"""Who may see what: the runs the owner shares in the demo view (a `shared.json` beside each run's files), and the
owner's password, kept only as a salted scrypt hash in a file only the owner can read."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from core.runstore.folder import RunFolder
from core.runstore.table import RunRecord, list_runs
from core.system import atomic_write, write_json_atomic

PASSWORD_NAME = "auth.json"
SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # about 50 ms and 16 MB per check: cheap for a login, dear for a guesser
MIN_PASSWORD = 8


def set_shared(run_dir: str | Path, shared: bool) -> None:
    """Mark a run as shown (or not) in the demo view; the mark lives in the run folder and travels with it."""
    write_json_atomic(RunFolder(run_dir).shared, {"shared": bool(shared)})


def shared_mark(run_dir: str | Path) -> bool | None:
    """The owner's mark for a run: True, False, or None when the owner never said (or the file is unreadable)."""
    try:
        mark = json.loads(RunFolder(run_dir).shared.read_text(encoding="utf-8")).get("shared")
    except (OSError, ValueError, AttributeError):
        return None
    return mark if isinstance(mark, bool) else None


def shared_runs(runs_dir: str | Path) -> list[RunRecord]:
    """The runs the demo view shows, newest first: those marked shared, else the newest finished run the owner did
    not mark as private (an empty list when there is none)."""
    runs = list_runs(runs_dir)
    marks = {run.run_id: shared_mark(run.path) for run in runs}
    marked = [run for run in runs if marks[run.run_id] is True]
    if marked:
        return marked
    default = next((run for run in runs if run.status == "finished" and marks[run.run_id] is not False), None)
    return [default] if default else []


def password_path(cache_dir: str | Path) -> Path:
    """Where the owner's password hash is kept: the app's cache folder, never a served or runs folder."""
    return Path(cache_dir) / PASSWORD_NAME


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


def save_password(path: str | Path, user: str, password: str) -> None:
    """Keep the owner's user name and a salted scrypt hash of the password (never the password), readable by the
    owner alone; ValueError with a sentence for an empty name or a short password."""
    user = (user or "").strip()
    if not user or ":" in user:
        raise ValueError("Give a user name (without a colon).")
    if len(password or "") < MIN_PASSWORD:
        raise ValueError(f"Choose a password of at least {MIN_PASSWORD} characters.")
    salt = secrets.token_bytes(16)
    record = {"user": user, "salt": salt.hex(), **SCRYPT, "hash": _hash(password, salt, **SCRYPT).hex()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(f) -> None:
        os.fchmod(f.fileno(), 0o600)  # before a byte is written: the temporary file is the owner's alone too
        f.write(json.dumps(record).encode())

    atomic_write(path, write)


def clear_password(path: str | Path) -> bool:
    """Forget the owner's password; False when none was set."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        return False
    return True


def has_password(path: str | Path) -> bool:
    """Whether a usable password hash is stored."""
    return _record(path) is not None


def _record(path: str | Path) -> dict | None:
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        bytes.fromhex(record["salt"]), bytes.fromhex(record["hash"])
        return record if all(isinstance(record[k], int) for k in SCRYPT) and isinstance(record["user"], str) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def password_record(path: str | Path) -> dict | None:
    """The stored user name and password hash (never the password), or None when none is set: read once at start,
    so that changing it in Settings takes effect from the next start and clearing it locks nobody out meanwhile."""
    return _record(path)


def check_password(path: str | Path | dict | None, user: str, password: str) -> bool:
    """Whether the user name and password match the stored ones (a record, or the file holding one; compared in
    constant time)."""
    record = path if isinstance(path, dict) or path is None else _record(path)
    if record is None or not isinstance(user, str) or not isinstance(password, str):
        return False
    given = _hash(password, bytes.fromhex(record["salt"]), *(record[k] for k in SCRYPT))
    return hmac.compare_digest(user.encode(), record["user"].encode()) & hmac.compare_digest(
        given, bytes.fromhex(record["hash"]))
