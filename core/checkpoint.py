"""Save checkpoints atomically and load them as untrusted input (weights only)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

FORMAT_VERSION = 1


def _atomic_write(path: Path, write) -> None:
    """Write through a temp file in the same folder, then rename: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: Path, model: torch.nn.Module, meta: dict) -> None:
    """State dict plus plain metadata (classes, preprocessing, backbone); nothing that needs pickle code."""
    payload = {"format_version": FORMAT_VERSION, "state_dict": model.state_dict(), **meta}
    _atomic_write(Path(path), lambda f: torch.save(payload, f))


def load_checkpoint(path: Path) -> dict:
    """Load a checkpoint with `weights_only=True`, so a crafted file cannot run code."""
    return torch.load(path, map_location="cpu", weights_only=True)


def write_json_atomic(path: Path, data: dict) -> None:
    """JSON written atomically, for summaries other processes may read while training runs."""
    _atomic_write(Path(path), lambda f: f.write(json.dumps(data, indent=2).encode()))
