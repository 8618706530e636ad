"""Time the dataset health check on a generated folder of 10,000 photos-like JPEGs, cold and warm.

    .venv/bin/python bench/health_check.py [--images 10000] [--side 320]

Writes bench/results/health_check.json. "cold" starts with an empty cache (every file decoded and hashed),
"warm" repeats the check on the unchanged folder, "cli" is `python -m core check` end to end (warm).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.health import run_check  # noqa: E402


def make_folder(root: Path, images: int, side: int, classes: int = 10) -> None:
    """Flat layout, `classes` folders of noisy gradients: cheap to write, not trivially compressible."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 1, side, dtype=np.float32)
    for i in range(images):
        folder = root / f"class_{i % classes:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        colour = rng.integers(0, 256, 3).astype(np.float32)
        base = ramp[None, :, None] * colour[None, None, :] + ramp[:, None, None] * (255 - colour)[None, None, :] * 0.5
        noise = rng.normal(0, 18, (side * 3 // 4, side, 3)).astype(np.float32)
        pixels = np.clip(base[: side * 3 // 4] + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{i:05d}.jpg", quality=85)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--side", type=int, default=320, help="image width in pixels (height is 3/4 of it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, cache = Path(tmp) / "data", Path(tmp) / "cache"
        started = time.perf_counter()
        make_folder(data, args.images, args.side)
        generate_s = time.perf_counter() - started
        timings = {}
        for name in ("cold", "warm"):
            started = time.perf_counter()
            report = run_check(data, cache_dir=cache)
            timings[name] = round(time.perf_counter() - started, 2)
            print(f"{name}: {timings[name]} s, {report.from_cache} of {report.files} files from the cache, "
                  f"{len(report.warnings)} warning(s)", flush=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "core", "check", "--data", str(data), "--cache", str(cache)],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        timings["cli_warm"] = round(time.perf_counter() - started, 2)
    result = {"images": args.images, "size": f"{args.side}x{args.side * 3 // 4}", "generate_s": round(generate_s, 1),
              "check_s": timings, "cpus": os.cpu_count(), "threads": os.environ.get("OMP_NUM_THREADS")}
    print(json.dumps(result))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "health_check.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
