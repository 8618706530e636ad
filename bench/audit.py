"""Time the data audit on a generated shapes folder, cold (empty feature cache) and warm (the same folder again).

    .venv/bin/python bench/audit.py [--images 10000] [--side 96]

Writes bench/results/audit.json with each phase's seconds. "cold" starts with an empty cache folder, so it includes
the backbone's ONNX export and one pass over every picture; "warm" reads every feature from the cache. With
--extrapolate-to N (default 10000, when --images is smaller) it also gives the figures scaled to N pictures: the
image passes (features, shortcut check) and the probes linearly, the similarity scan quadratically.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.demo import SHAPES, make_shapes_dataset
from core.evaluation.audit import Audit, audit_dataset
from core.system import configure_torch, cpu_threads

LINEAR = ("shortcuts_s", "features_s", "labels_s", "curves_s")


def timed_audit(data: Path, cache: Path) -> dict:
    """One audit of `data` with features cached in `cache`: its phase timings and what it found, in brief."""
    start = time.perf_counter()
    audit = next(x for x in audit_dataset(data, cache_dir=cache) if isinstance(x, Audit))
    wall = time.perf_counter() - start
    return {"wall_s": round(wall, 1), "phases_s": {k: round(v, 1) for k, v in audit.timings.items()},
            "from_cache": audit.from_cache, "pictures": audit.pictures, "label_issues": audit.label_issues,
            "near_duplicate_groups": len(audit.near_duplicates), "outliers": len(audit.outliers),
            "advice": audit.advice}


def scaled(run: dict, factor: float) -> dict:
    """A run's phases scaled to `factor` times the pictures (similarity scan: factor squared)."""
    phases = {k: v * (factor if k in LINEAR else factor ** 2) for k, v in run["phases_s"].items()
              if k != "total_s"}
    return {k: round(v, 1) for k, v in phases.items()} | {"total_s": round(sum(phases.values()), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--side", type=int, default=96)
    parser.add_argument("--extrapolate-to", type=int, default=10000)
    args = parser.parse_args()
    configure_torch()
    per_class = args.images // len(SHAPES)
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        start = time.perf_counter()
        data = make_shapes_dataset(Path(tmp) / "shapes", per_class * 4 // 5, per_class - per_class * 4 // 5,
                                   args.side)
        made = time.perf_counter() - start
        cache = Path(tmp) / "cache"
        os.environ["TRANSFER_STUDIO_CACHE"] = str(cache)  # the shortcut check's and every other cache too
        cold = timed_audit(data, cache)
        warm = timed_audit(data, cache)
    result = {"images": per_class * len(SHAPES), "side_px": args.side, "generate_s": round(made, 1),
              "backbone": "efficientnet_lite0", "cpu_threads": cpu_threads(), "machine": platform.machine(),
              "cold": cold, "warm": warm}
    if result["images"] < args.extrapolate_to:
        factor = args.extrapolate_to / result["images"]
        result["extrapolated"] = {"images": args.extrapolate_to, "cold": scaled(cold, factor),
                                  "warm": scaled(warm, factor)}
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
