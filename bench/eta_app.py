"""How honest the Train tab's ETA is in the running app: the ETA the bar shows when the first epoch ends, against
the time the run then really took, with the same run trained headless (core.train in this process) alongside.

    python bench/eta_app.py [--repeat N] [--modes frozen top two_stage] [--before DIR]

The app runs as its own process (launch.py on 127.0.0.1, a free port), driven through `/train` with
gradio_client, as a script or a browser would; `--before DIR` also starts the app of another checkout (the code
before a change) and trains the same run there, interleaved with this one. Each run's own log (metrics.jsonl)
gives both figures: the ETA known when the first epoch ended (its EpochDone's, or, in logs that have none, its last
step's, which is then what the bar shows; the step's is kept too as `step_eta_over_real`), and the real time left,
the run's wall time minus that epoch's end. `others_cpu_share` is how much of the machine's cores other processes
took meanwhile: the noise. Small pictures and few epochs: it is meant for 2 shared cores.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

SETTINGS = {  # per mode: the automatic recipe's epochs unless said; each run is told to go on whatever it reaches
    "frozen": {"freeze": "frozen"},
    "top": {"freeze": "top"},
    "two_stage": {"freeze": "two_stage", "epochs": 22, "stage1_epochs": 20},
    "finetune": {"freeze": "finetune", "epochs": 3},
}
# 224 px: the size the registry's speeds are measured at (other sizes are scaled, which is another estimate)
COMMON = {"patience": 0, "when_solved": "continue"}
SHOWN_ETA = re.compile(r"ETA (\d+):(\d\d) for the whole run")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _busy_s() -> float:
    """CPU seconds every process of the machine has spent busy (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _own_s(pids: list[int]) -> float:
    """CPU seconds of this process and of the apps (user and system)."""
    mine = os.times()
    total = mine.user + mine.system
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measured(work, pids: list[int]) -> dict:
    """Run `work()` and add how much of the machine's cores other processes used meanwhile (their noise)."""
    busy, own, t0 = _busy_s(), _own_s(pids), time.perf_counter()
    row = work()
    wall = time.perf_counter() - t0
    others = (_busy_s() - busy) - (_own_s(pids) - own)
    return {**row, "others_cpu_share": round(max(0.0, others) / (wall * os.cpu_count()), 2)}


def _point(eta: float, step_eta: float, at: float, wall: float) -> dict:
    real = wall - at
    return {"eta_s": round(eta, 2), "real_s": round(real, 2), "eta_over_real": round(eta / real, 3),
            "step_eta_over_real": round(step_eta / real, 3)}


def read_log(run_dir: Path) -> dict:
    """From the run's metrics.jsonl: the ETA known when its first epoch ended (and, with two stages, when the first
    stage ended) against the real time the run then took."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    wall = next(r["wall_s"] for r in records if r.get("event") == "RunFinished")
    step_eta, stage, ends = None, 1, []  # ends: (ETA known at the epoch's end, its last step's, elapsed_s, stage)
    for record in records:
        kind = record.get("event")
        if kind == "StepDone":
            step_eta, stage = record["eta_s"], record.get("stage", 1)
        elif kind == "EpochDone":
            known = record.get("eta_s")
            ends.append((step_eta if known is None else known, step_eta, record["elapsed_s"], stage))
    report = {"epoch 1 ends": _point(*ends[0][:3], wall)}
    first_stage = [end for end in ends if end[3] == 1]
    if len(first_stage) < len(ends):
        report["stage 1 ends"] = _point(*first_stage[-1][:3], wall)
    return {**report, "wall_s": round(wall, 1)}


def _newest_run(runs: Path) -> Path:
    return max((p for p in runs.rglob("metrics.jsonl")), key=lambda p: p.stat().st_mtime).parent


def in_app(url: str, data: Path, runs: Path, settings: dict) -> dict:
    """One run through the app's /train; the bar's text when the log first shows epoch 1 is kept next to the log's."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    job = client.submit(dataset=str(data), **settings, api_name="/train")
    shown = None
    for update in job:
        bar, log = update[0] or "", update[3] or ""
        if shown is None and "Epoch 1:" in log:
            found = SHOWN_ETA.search(bar)
            shown = int(found[1]) * 60 + int(found[2]) if found else None
    status = job.result()[-1]
    if not status.startswith("Finished"):
        raise RuntimeError(f"the app's run did not finish: {status}")
    return {**read_log(_newest_run(runs)), "bar_eta_s": shown}


def headless(data: Path, runs: Path, settings: dict) -> dict:
    """The same run through core.train in this process, as the CLI would (no UI)."""
    from core import RunFinished, TrainConfig, train

    finished = None
    for event in train(TrainConfig(data=str(data), out=str(runs), **settings)):
        finished = event if isinstance(event, RunFinished) else finished
    return read_log(Path(finished.run_dir))


def start_app(tree: Path, data: Path, runs: Path, work: Path, env: dict) -> tuple[subprocess.Popen, str]:
    """The app of checkout `tree` (launch.py) on a free port of 127.0.0.1, its output in a file; returns once it
    says it serves."""
    port, said = _free_port(), work / f"{runs.name}.log"
    with open(said, "w") as out:
        app = subprocess.Popen(
            [sys.executable, str(tree / "launch.py"), "--no-browser", "--port", str(port), "--data", str(data),
             "--data-root", str(data.parent), "--runs", str(runs)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tree)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and app.poll() is None:
        if "is running at" in said.read_text():
            return app, f"http://127.0.0.1:{port}/"
        time.sleep(0.2)
    app.kill()
    raise RuntimeError(f"the app did not start: {said.read_text()[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--modes", nargs="+", default=["frozen", "top"], choices=list(SETTINGS))
    parser.add_argument("--before", help="a checkout of the code before a change: its app is measured too")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "eta_app.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "TRANSFER_STUDIO_CACHE": str(work / "cache"), "GRADIO_ANALYTICS_ENABLED": "False"}
        os.environ.update(env)
        from core.data.demo import make_shapes_dataset
        from core.system import configure_torch

        configure_torch()
        data = make_shapes_dataset(work / "data" / "shapes", train_per_class=32, valid_per_class=12, size=128)
        trees = {"app": HERE, **({"app (before)": Path(args.before).resolve()} if args.before else {})}
        apps = {name: start_app(tree, data, work / name, work, env) for name, tree in trees.items()}
        pids = [app.pid for app, _ in apps.values()]
        rows = []
        try:
            for repeat in range(args.repeat):
                for mode in args.modes:  # interleaved: the same run in each app, then headless
                    settings = {**COMMON, **SETTINGS[mode]}
                    row = {"mode": mode, "repeat": repeat + 1}
                    for name, (_, url) in apps.items():
                        row[name] = measured(lambda: in_app(url, data, work / name, settings), pids)
                    row["headless"] = measured(lambda: headless(data, work / "headless", settings), pids)
                    print(json.dumps(row), flush=True)
                    rows.append(row)
        finally:
            for app, _ in apps.values():
                app.terminate()
                app.wait(timeout=30)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"settings": COMMON, "modes": {m: SETTINGS[m] for m in args.modes},
                               "before": args.before, "rows": rows, "summary": summary(rows)}, indent=1))
    print(json.dumps(summary(rows), indent=1))


def summary(rows: list[dict]) -> dict:
    """Per mode and way of running: the median ETA/real when the first epoch ends, and the range."""
    result: dict = {}
    for mode in dict.fromkeys(row["mode"] for row in rows):
        for name in [key for key in rows[0] if key not in ("mode", "repeat")]:
            for figure in ("eta_over_real", "step_eta_over_real"):
                values = sorted(row[name]["epoch 1 ends"][figure] for row in rows if row["mode"] == mode)
                result.setdefault(mode, {}).setdefault(name, {})[figure] = {
                    "median": values[len(values) // 2], "min": values[0], "max": values[-1]}
    return result


if __name__ == "__main__":
    main()
