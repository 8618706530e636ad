"""What "export with proof" costs: export time and bundle size, and the standalone predict.py's start-up and
per-picture latency.

    python bench/export.py

Trains a small feature-extractor run (the bundled efficientnet_lite0) on the generated shapes demo, exports it
twice (first with the run's evaluation computed, then with it read back from the run folder), unzips the bundle
and runs its predict.py in fresh processes on 1 and on 21 pictures: the difference over 20 is the time per
picture, the rest is start-up (Python, onnxruntime, loading the model). Writes bench/results/export.json.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import RunFinished, TrainConfig, train  # noqa: E402
from core.data.demo import make_shapes_dataset  # noqa: E402
from core.export.bundle import export_run  # noqa: E402
from core.system import configure_torch, cpu_threads  # noqa: E402

PICTURES = 20
REPEATS = 3


def predict_seconds(folder: Path, pictures: list[Path]) -> float:
    """Wall time of `python predict.py PICTURES...` in a fresh process (no PYTHONPATH, cwd the bundle)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "predict.py", *map(str, pictures)], cwd=folder, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or len(done.stdout.splitlines()) != len(pictures):
        raise RuntimeError(f"predict.py failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds


def main() -> None:
    configure_torch()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = make_shapes_dataset(tmp / "shapes")
        finished = list(train(TrainConfig(data=str(data), out=str(tmp / "runs"), freeze="frozen", epochs=5)))[-1]
        assert isinstance(finished, RunFinished) and finished.checkpoint, finished
        first = export_run(finished.run_dir, tmp / "first.zip")
        again = export_run(finished.run_dir, tmp / "bundle.zip")
        with zipfile.ZipFile(again.path) as bundle:
            sizes = {i.filename: {"bytes": i.file_size, "zipped": i.compress_size} for i in bundle.infolist()}
            bundle.extractall(tmp / "bundle")
        pictures = sorted((data / "valid").rglob("*.jpg"))[:PICTURES + 1]
        one, many = [], []
        for _ in range(REPEATS):
            one.append(predict_seconds(tmp / "bundle", pictures[:1]))
            many.append(predict_seconds(tmp / "bundle", pictures))
    per_picture = (statistics.median(many) - statistics.median(one)) / PICTURES
    report = {
        "machine": {"cpu_threads": cpu_threads(), "platform": platform.platform(), "python": platform.python_version()},
        "run": {"backbone": "efficientnet_lite0", "freeze": "frozen", "epochs": 5,
                "validation_pictures": first.parity.formats["onnx"].images},
        "export_s_with_evaluation": round(first.seconds, 2), "export_s_evaluation_cached": round(again.seconds, 2),
        "bundle_bytes": again.bytes, "bundle_mb": round(again.bytes / 1e6, 2), "files": sizes,
        "parity": again.parity.summary(),
        "predict_py": {"startup_s": round(statistics.median(one) - per_picture, 3),
                       "per_picture_ms": round(per_picture * 1000, 1),
                       "one_picture_runs_s": [round(s, 3) for s in one],
                       f"{PICTURES + 1}_picture_runs_s": [round(s, 3) for s in many]},
    }
    print(json.dumps(report, indent=2))
    out = Path(__file__).parent / "results" / "export.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
