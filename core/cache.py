"""Where the app keeps what it can recompute (file facts, exported backbones, image features)."""
from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """$TRANSFER_STUDIO_CACHE, else the user's cache folder; never inside a served folder."""
    if os.environ.get("TRANSFER_STUDIO_CACHE"):
        return Path(os.environ["TRANSFER_STUDIO_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "transfer-studio"


def cpu_threads() -> int:
    """CPU cores this process may use (a container's limit, not the host's core count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
