"""Point a run folder unpacked elsewhere at its dataset's new folder, keeping what was current still current: the
calibration tied to its checkpoint and the cached evaluations keyed by the checkpoint and the images' paths."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np

from core.runstore.store import CALIBRATION_NAME, write_calibration
from core.system import atomic_write, write_json_atomic

RESULT_SUFFIXES = {"valid": "", "test": ".test"}  # evaluation.json / evaluation.test.json and their companions


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
    from core.evaluation.predictions import evaluation_key

    def rewrite_json(name: str, change) -> None:
        try:
            data = read_json(run / name)
        except (OSError, ValueError):
            return
        write_json_atomic(run / name, change(data))

    old_root = ""
    try:
        old_root = str(read_json(run / "split.json")["root"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    move = lambda p: _moved(p, old_root, new_root)
    rewrite_json("split.json", lambda d: d | {"root": str(new_root)})
    rewrite_json("config.json", lambda d: d | {"data": str(new_root), "out": str(runs_dir)})
    rewrite_json("skipped.json", lambda d: [s | {"path": move(s["path"])} for s in d])
    if entry.get("calibration_current"):
        saved = read_json(run / CALIBRATION_NAME)
        write_calibration(run, float(saved["temperature"]), float(saved["threshold"]))
    for split, suffix in RESULT_SUFFIXES.items():
        if (run / f"evaluation{suffix}.npz").is_file():
            with np.load(run / f"evaluation{suffix}.npz", allow_pickle=False) as arrays:
                data = {k: arrays[k] for k in arrays.files}
            if "paths" in data:
                data["paths"] = np.asarray([move(p) for p in data["paths"].tolist()], dtype=str)
            buffer = io.BytesIO()
            np.savez(buffer, **data)
            atomic_write(run / f"evaluation{suffix}.npz", buffer.getvalue())
        if (run / f"predictions{suffix}.csv").is_file():
            rows = list(csv.reader(io.StringIO((run / f"predictions{suffix}.csv").read_text(encoding="utf-8"))))
            out = io.StringIO()
            csv.writer(out).writerows(rows[:1] + [[move(r[0]), *r[1:]] for r in rows[1:] if r])
            atomic_write(run / f"predictions{suffix}.csv", out.getvalue().encode())
        current = split in entry.get("evaluations_current", [])
        rewrite_json(f"evaluation{suffix}.json", lambda d, split=split, current=current: d | {
            "skipped": [s | {"path": move(s["path"])} for s in d.get("skipped", [])],
            "key": evaluation_key(run, split) if current else d.get("key")})
