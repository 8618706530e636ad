"""What finding a run costs (done at every prediction): `find_run` on a run whose log holds N steps, its scan of the
log, and the bare line-by-line read that scan is; interleaved, prints and saves JSON.

    python bench/run_lookup.py [--steps 20000] [--repeat 50]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.runstore.folder import RunFolder  # noqa: E402
from core.runstore.log import events  # noqa: E402
from core.runstore.table import find_run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "run_lookup.json"
WANTED = {"RunStarted", "RunContinued", "RunFinished", "RunClosed", "RunFailed", "EpochDone"}


def line_by_line(run: RunFolder) -> list[dict]:
    """The bare reader: every line split, StepDone lines skipped by their prefix, the rest parsed."""
    found = []
    for line in run.metrics.read_bytes().splitlines():
        if line.startswith(b'{"event": "StepDone"'):
            continue
        event = json.loads(line)
        if event.get("event") in WANTED:
            found.append(event)
    return found


def make_run(folder: Path, steps: int, steps_per_epoch: int = 200) -> RunFolder:
    run = RunFolder(folder / "20260101-000000-efficientnet_lite0")
    run.path.mkdir(parents=True)
    run.write_config({"data": "data/shapes"})
    run.write_summary({"classes": ["a", "b"], "status": "finished"})
    run.best.write_bytes(b"weights")
    run.log({"event": "RunStarted", "classes": ["a", "b"]})
    for step in range(1, steps + 1):
        run.log({"event": "StepDone", "epoch": 1 + step // steps_per_epoch, "step": step, "total_steps": steps,
                 "loss": 1.0, "acc": 0.5, "lr": 0.1, "images_per_s": 10.0, "eta_s": 1.0})
        if step % steps_per_epoch == 0:
            run.log({"event": "EpochDone", "epoch": step // steps_per_epoch, "step": step, "train_loss": 1.0,
                     "train_acc": 0.5, "valid_loss": 1.0, "valid_acc": 0.5, "is_best": False, "elapsed_s": 1.0})
    run.log({"event": "RunFinished", "stopped": False, "wall_s": 3.0})
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = make_run(Path(tmp), args.steps)
        times = {"find_run": [], "log_scan": [], "line_by_line": []}
        for _ in range(args.repeat):  # interleaved: the machine's drift hits both alike
            for name, call in (("find_run", lambda: find_run(run.path.parent, run.run_id)),
                               ("log_scan", lambda: list(events(run, WANTED))),
                               ("line_by_line", lambda: line_by_line(run))):
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
        median = {name: sorted(t)[len(t) // 2] * 1000 for name, t in times.items()}
        result = {"steps": args.steps, "log_mb": round(run.metrics.stat().st_size / 1e6, 2),
                  "find_run_ms": round(median["find_run"], 2), "log_scan_ms": round(median["log_scan"], 2),
                  "line_by_line_scan_ms": round(median["line_by_line"], 2)}
    print(json.dumps(result))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
