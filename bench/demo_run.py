"""Time the one-click demo run: fresh demo data, default TrainConfig, CPU; prints and saves JSON.

    python bench/demo_run.py [--data DIR] [--repeat N]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core import FeaturesProgress, RunFinished, TrainConfig, train  # noqa: E402
from core.data.demo import make_shapes_dataset  # noqa: E402


def one_run(data: Path, out: Path) -> dict:
    start = time.perf_counter()
    features_rate, finished = None, None
    for event in train(TrainConfig(data=str(data), out=str(out))):
        if isinstance(event, FeaturesProgress):
            features_rate = event.images_per_s
        elif isinstance(event, RunFinished):
            finished = event
    return {
        "wall_s": round(time.perf_counter() - start, 2),
        "best_valid_acc": finished.best_valid_acc,
        "best_epoch": finished.best_epoch,
        "backbone_images_per_s": round(features_rate or 0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="an ImageFolder train/ valid/ folder (default: freshly generated demo)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "demo_run.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        data = Path(args.data) if args.data else make_shapes_dataset(Path(tmp) / "shapes")
        generate_s = 0.0 if args.data else round(time.perf_counter() - started, 2)
        runs = [one_run(data, Path(tmp) / "runs") for _ in range(args.repeat)]
    report = {
        "machine": {"cpu_threads": torch.get_num_threads(), "python": platform.python_version(), "torch": torch.__version__},
        "config": TrainConfig(data=str(data)).to_dict(),
        "demo_generation_s": generate_s,
        "runs": runs,
    }
    print(json.dumps(report, indent=2))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
