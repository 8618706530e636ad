"""Seconds from setting the stop event to the run's last event, in each phase of a run.

    python bench/stop_latency.py [--data DIR]      (default: data/shapes, made if missing)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import EpochDone, FeaturesProgress, StepDone, TrainConfig, train  # noqa: E402
from core.data.demo import ensure_demo_dataset  # noqa: E402

CASES = [("frozen", FeaturesProgress), ("frozen", StepDone), ("finetune", StepDone), ("finetune", EpochDone)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    args = parser.parse_args()
    data = args.data or str(ensure_demo_dataset(Path(__file__).resolve().parents[1] / "data"))
    with tempfile.TemporaryDirectory() as out:
        for mode, trigger in CASES:
            stop, asked, last = threading.Event(), None, None
            for last in train(TrainConfig(data=data, out=out, freeze=mode, epochs=3), stop):
                if asked is None and isinstance(last, trigger):
                    stop.set()
                    asked = time.perf_counter()
            print(f"{mode:8s} stopped during {trigger.__name__:16s} {time.perf_counter() - asked:5.2f} s, "
                  f"checkpoint kept: {last.checkpoint is not None}")


if __name__ == "__main__":
    main()
