"""How honest the Train tab's ETA is: runs with a second stage on the demo set, ETA against the real time left.

    python bench/eta.py [--repeat N] [--modes two_stage top]

At the moment stage 1 (the head on cached features) ends, the ETA is the recipe's estimate of the whole second
stage still to come (every layer on images, or the top layers on cached activations); this compares it with the
seconds the run then really took, and does the same a quarter and half-way into stage 2, where the ETA follows
the measured pace. The head solves the demo set, so the runs are told to train their second stage anyway.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import RunFinished, StepDone, TrainConfig, train  # noqa: E402
from core.data.demo import make_shapes_dataset  # noqa: E402
from core.system import configure_torch  # noqa: E402


def one_run(data: Path, out: Path, freeze: str) -> dict:
    marks: list[tuple[float, StepDone]] = []
    for event in train(TrainConfig(data=str(data), out=str(out), freeze=freeze, when_solved="continue")):
        if isinstance(event, StepDone):
            marks.append((time.perf_counter(), event))
        elif isinstance(event, RunFinished):
            end = time.perf_counter()
    stage2 = [i for i, (_, e) in enumerate(marks) if e.stage == 2]
    if not stage2:
        return {"error": "the run had no second stage"}
    points = {"stage 1 ends": stage2[0] - 1, "stage 2 at 25 %": stage2[len(stage2) // 4],
              "stage 2 at 50 %": stage2[len(stage2) // 2]}
    report: dict = {"mode": freeze}
    for name, i in points.items():
        at, event = marks[i]
        real = end - at
        report[name] = {"eta_s": round(event.eta_s, 1), "real_s": round(real, 1),
                        "eta_over_real": round(event.eta_s / real, 2)}
    report["wall_s"] = round(end - marks[0][0], 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--modes", nargs="+", default=["two_stage", "top"], choices=["two_stage", "top"])
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "eta.json"))
    args = parser.parse_args()
    configure_torch()
    with tempfile.TemporaryDirectory() as tmp:
        data = make_shapes_dataset(Path(tmp) / "shapes")
        runs = [one_run(data, Path(tmp) / "runs", mode) for _ in range(args.repeat) for mode in args.modes]
    print(json.dumps(runs, indent=2))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
