"""Point a run folder unpacked elsewhere at its dataset's new folder, keeping what was current still current: the
calibration tied to its checkpoint and the cached evaluations keyed by the checkpoint and the images' paths."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np

from core.runstore.folder import CONFIG, EVALUATION_SPLITS, SKIPPED, SPLIT, RunFolder
from core.system import atomic_write, write_json_atomic


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _moved(path: str, old_root: str, new_root: Path) -> str:
    """An image path under the old dataset root, under the new one; any other path unchanged."""
    for sep in ("/", "\\"):
        prefix = old_root.rstrip("/\\") + sep
        if old_root and path.startswith(prefix):
            return str(new_root.joinpath(*re.split(r"[/\\]" if sep == "\\" else "/", path[len(prefix):])))
    return path


def relocate(run: Path, new_root: Path, runs_dir: Path, entry: dict) -> None:
    """Point an unpacked run at its new dataset folder; restamp the calibration and cached evaluations that were
    current when it was saved, so they stay valid for the unpacked checkpoint and paths."""
    folder = RunFolder(run)

    def rewrite_json(name: str, change) -> None:
        try:
            data = read_json(run / name)
        except (OSError, ValueError):
            return
        write_json_atomic(run / name, change(data))

    old_root = ""
    try:
        old_root = str(read_json(folder.split)["root"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    move = lambda p: _moved(p, old_root, new_root)
    rewrite_json(SPLIT, lambda d: d | {"root": str(new_root)})
    rewrite_json(CONFIG, lambda d: d | {"data": str(new_root), "out": str(runs_dir)})
    rewrite_json(SKIPPED, lambda d: [s | {"path": move(s["path"])} for s in d])
    if entry.get("calibration_current"):
        saved = read_json(folder.calibration)
        folder.write_calibration(float(saved["temperature"]), float(saved["threshold"]))
    for split in EVALUATION_SPLITS:
        files = folder.evaluation(split)
        if files.arrays.is_file():
            with np.load(files.arrays, allow_pickle=False) as arrays:
                data = {k: arrays[k] for k in arrays.files}
            if "paths" in data:
                data["paths"] = np.asarray([move(p) for p in data["paths"].tolist()], dtype=str)
            buffer = io.BytesIO()
            np.savez(buffer, **data)
            atomic_write(files.arrays, buffer.getvalue())
        if files.table.is_file():
            rows = list(csv.reader(io.StringIO(files.table.read_text(encoding="utf-8"))))
            out = io.StringIO()
            csv.writer(out).writerows(rows[:1] + [[move(r[0]), *r[1:]] for r in rows[1:] if r])
            atomic_write(files.table, out.getvalue().encode())
        current = split in entry.get("evaluations_current", [])
        rewrite_json(files.results.name, lambda d, split=split, current=current: d | {
            "skipped": [s | {"path": move(s["path"])} for s in d.get("skipped", [])],
            "key": folder.evaluation_key(split) if current else d.get("key")})
