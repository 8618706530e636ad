"""Swap a whole folder in at once: shared by the exports that write folders (the Space) and the install of
onnxruntime-web's files. Standard library only, so the torch-free `python -m core.export.web_runtime` stays light."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def replace_folder(out_dir: Path, build: Callable[[Path], None]) -> Path:
    """Build a folder in a hidden sibling, then rename it to `out_dir`: half a folder never stands there, and an
    existing `out_dir` is replaced only once `build` has succeeded (if it fails, nothing changes)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    old = staging.with_name(staging.name[:-len(".tmp")] + ".old.tmp")
    try:
        build(staging)
        if out_dir.exists():
            os.rename(out_dir, old)
        os.rename(staging, out_dir)
    except BaseException:
        with contextlib.suppress(OSError):
            if old.exists() and not out_dir.exists():
                os.rename(old, out_dir)  # put the previous folder back
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return out_dir
