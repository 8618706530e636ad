"""SIGKILL while checkpoints are written, many times: the previous best.pt and last.pt must always load.

    python bench/kill_checkpoints.py [--kills 50] [--training-kills 2] [--data DIR] [--out bench/results/kills.json]

Fast kills: a forked writer saves best.pt then last.pt of a real model (EfficientNet-Lite0, every weight, AdamW's
state) in a loop through the very path training uses (`save_checkpoint`, `write_last`, `core.system.atomic_write`),
and is killed after a random delay. Training kills: `python -m core train` (frozen, 400 epochs, 64 px) killed at a
random moment after its first epoch; then `mark_abandoned` must mark it failed. After each kill: best.pt and last.pt
load with `load_checkpoint` / `read_last`; a leftover `.*.tmp` file means the kill landed inside a write (it is never
opened, and is removed before the next writer starts, as `core.runstore.owner.claim` does).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.errors import CheckpointError  # noqa: E402
from core.runstore.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint  # noqa: E402
from core.runstore.table import mark_abandoned  # noqa: E402
from core.runstore.folder import BEST as CHECKPOINT_NAME  # noqa: E402
from core.runstore.folder import LAST as LAST_NAME  # noqa: E402
from core.training.resume import ResumePoint, read_last, write_last  # noqa: E402

BACKBONE = "efficientnet_lite0"


def _writer_state() -> tuple[torch.nn.Module, CheckpointMeta, ResumePoint]:
    """A real model, its checkpoint metadata, and a last state with AdamW's moments, as a fine-tuning run has."""
    from core.models.backbones import get_backbone
    from core.models.classifier import build_classifier

    model = build_classifier(BACKBONE, 4, False, 64)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    spec = get_backbone(BACKBONE)
    meta = CheckpointMeta(classes=list("abcd"), backbone=BACKBONE, head="linear", hidden=512, dropout=0.2,
                          image_size=64, mean=list(spec.mean), std=list(spec.std), freeze="finetune", stage=1,
                          frozen=False, epoch=0, valid_acc=0.5, valid_loss=1.0)
    point = ResumePoint(stage=1, stage_epochs=0, position=0.0, total=100, per_step=1.0, continued=False, epoch=0,
                        step=0, weights=model.state_dict(), part="model", optimizer=optimizer.state_dict(),
                        rng=torch.get_rng_state(), generator=torch.Generator().get_state(), best_acc=0.5,
                        best_loss=1.0, best_epoch=0, since_best=0)
    return model, meta, point


def _write_forever(folder: Path, model, meta: CheckpointMeta, point: ResumePoint, first: int) -> None:
    """What a training process does at the end of each epoch, as fast as it can: best.pt, then last.pt."""
    epoch = first
    while True:
        epoch += 1
        save_checkpoint(folder / CHECKPOINT_NAME, model, replace(meta, epoch=epoch))
        write_last(folder, replace(point, epoch=epoch, best_epoch=epoch))


def check_folder(folder: Path) -> dict:
    """Load best.pt and last.pt (whichever exist); name any that does not load, and the temporaries left."""
    result = {"unloadable": [], "temporaries": {p.name: p.stat().st_size for p in sorted(folder.glob(".*.tmp"))},
              "epochs": {}}
    for name, load in ((CHECKPOINT_NAME, lambda: CheckpointMeta.from_payload(load_checkpoint(folder / CHECKPOINT_NAME))),
                       (LAST_NAME, lambda: read_last(folder))):
        if not (folder / name).exists():
            continue
        try:
            result["epochs"][name] = load().epoch
        except (CheckpointError, OSError) as err:
            result["unloadable"].append(f"{name}: {err}")
    result["checkpoints"] = sorted(p.name for p in folder.iterdir() if p.name.endswith(".pt"))
    return result


def fast_kills(kills: int, seed: int, folder: Path) -> dict:
    """`kills` forked writers killed at random moments; each kill's checks, and the totals."""
    torch.set_num_threads(1)  # no thread pool in the parent: a forked child would inherit it broken
    model, meta, point = _writer_state()
    t0 = time.perf_counter()
    save_checkpoint(folder / CHECKPOINT_NAME, model, meta)
    write_last(folder, point)
    cycle = time.perf_counter() - t0  # one epoch's writes: best.pt, then last.pt
    rng = random.Random(seed)
    epoch, rows = 0, []
    for _ in range(kills):
        delay = rng.uniform(0.0, 2.5 * cycle)
        pid = os.fork()
        if pid == 0:  # the child writes until it is killed
            try:
                _write_forever(folder, model, meta, point, epoch)
            finally:
                os._exit(1)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        row = {"delay_s": round(delay, 4), **check_folder(folder)}
        rows.append(row)
        epoch = max(row["epochs"].values(), default=epoch)
        for leftover in folder.glob(".*.tmp"):  # the next kill's must be its own
            leftover.unlink()
    return _totals(rows, cycle_s=round(cycle, 4))


def training_kills(kills: int, seed: int, data: Path, runs: Path) -> dict:
    """`kills` real training processes killed at a random moment after their first epoch; each folder checked and
    marked failed."""
    rng = random.Random(seed)
    rows = []
    for n in range(kills):
        out = runs / f"kill{n}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "core", "train", "--data", str(data), "--out", str(out), "--freeze", "frozen",
             "--epochs", "400", "--image-size", "64", "--views", "1", "--patience", "0", "--device", "cpu"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"})
        first = None
        for line in proc.stdout:
            if '"EpochDone"' in line:
                first = json.loads(line)
                break
        delay = rng.uniform(0.0, 1.0)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        if first is None:
            raise RuntimeError(f"the training process ended before its first epoch (exit {proc.returncode})")
        folder = next(out.iterdir())
        row = {"delay_s": round(delay, 4), **check_folder(folder)}
        row["marked_failed"] = mark_abandoned(out) == [folder.name]
        rows.append(row)
    return _totals(rows)


def _totals(rows: list[dict], **extra) -> dict:
    return {"kills": len(rows), "inside_write": sum(bool(r["temporaries"]) for r in rows),
            "unloadable": sum(len(r["unloadable"]) for r in rows), **extra, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50, help="forked checkpoint writers to kill")
    parser.add_argument("--training-kills", type=int, default=2, help="training processes to kill")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", help="dataset for the training kills (default: data/shapes, made if missing)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "kills.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = {"fast": fast_kills(args.kills, args.seed, Path(tmp))}
        if args.training_kills:
            from core.data.demo import ensure_demo_dataset

            data = Path(args.data) if args.data else ensure_demo_dataset(ROOT / "data")
            result["training"] = training_kills(args.training_kills, args.seed, data, Path(tmp) / "runs")
        result["wall_s"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    for part in ("fast", "training"):
        if part in result:
            r = result[part]
            print(f"{part}: {r['kills']} kills, {r['inside_write']} inside a write, {r['unloadable']} unloadable")
    sys.exit(1 if any(r["unloadable"] for k, r in result.items() if k != "wall_s") else 0)


if __name__ == "__main__":
    main()
