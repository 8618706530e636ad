"""One checkpoint schema for the writer (training) and the readers (prediction, stage 2): weights and plain
metadata, written atomically, loaded as untrusted input (weights only) and checked for its format version."""
from __future__ import annotations

from pathlib import Path

import torch

from core.errors import CheckpointError
from core.system import atomic_write

FORMAT_VERSION = 1


def save_checkpoint(path: Path, model: torch.nn.Module, meta: dict) -> None:
    """State dict plus plain metadata (classes, preprocessing, backbone); nothing that needs pickle code."""
    payload = {"format_version": FORMAT_VERSION, "state_dict": model.state_dict(), **meta}
    atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: Path) -> dict:
    """Load with `weights_only=True`, so a crafted file cannot run code; refuse a format this version cannot read."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle refusing code, a truncated file, not a torch file at all
        raise CheckpointError(f"{Path(path).name} is not a model file this app can read "
                              f"({type(err).__name__}).") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{Path(path).name} is not a Transfer Studio model file (no weights in it).")
    version = ckpt.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise CheckpointError(
            f"{Path(path).name} was written in model format {version}; this version of the app reads format "
            f"{FORMAT_VERSION}" + (": update the app to use it." if newer else ": train the run again."))
    return ckpt
