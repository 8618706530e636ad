"""Recipe quality on real image sets: valid accuracy and wall time of every recipe with the default settings, side
by side in one run, next to a linear probe (logistic regression on the same frozen features) and one click.

Rows: the feature extractor (fp32, and its int8 engine), the top layers and two-stage (each made to run its
second stage even where the head alone already solves the set: two-stage that way is the previous one-click
default), every layer from the start for 5, 10 and 15 epochs, Best quality (the deeper layers always train), a CNN
from scratch, and one click today (every setting automatic). Each set runs the rows DEFAULT_RECIPES names for it.

    python bench/recipes.py [--sets hard digits textures micro] [--recipes ...] [--data DIR]
    # writes bench/results/recipes.json
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
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402
from real_data import SETS  # noqa: E402

from core import RunFinished, TrainConfig, train  # noqa: E402
from core.data.scan import scan_dataset  # noqa: E402
from core.models.backbones import get_backbone  # noqa: E402
from core.models.classifier import build_classifier  # noqa: E402
from core.training.features import FeatureSet, dataset_features  # noqa: E402
from core.training.recipes import plan, train_counts  # noqa: E402

RECIPES = {
    "frozen": {"freeze": "frozen"},
    "frozen_int8": {"freeze": "frozen", "engine": "onnxruntime-int8"},
    "top": {"freeze": "top", "when_solved": "continue"},
    "two_stage": {"freeze": "two_stage", "when_solved": "continue"},
    "full_5": {"freeze": "finetune", "epochs": 5},  # every layer from the start: the automatic 5 epochs
    "full_10": {"freeze": "finetune", "epochs": 10},
    "full_15": {"freeze": "finetune", "epochs": 15},
    "best_quality": {"freeze": "deep"},  # Best quality (slower): the deeper layers always train
    "scratch_cnn": {"backbone": "scratch_cnn"},
    "one_click": {},
}
# what `make bench-recipes` runs on each set: the easy ones keep their table's rows, the hard one every depth
DEFAULT_RECIPES = {"hard": ["frozen", "top", "two_stage", "full_5", "full_10", "full_15", "best_quality", "one_click"],
                   "digits": ["frozen", "top", "two_stage", "best_quality", "one_click"],
                   "textures": ["frozen", "top", "two_stage", "best_quality", "one_click"],
                   "micro": ["frozen", "top", "two_stage", "best_quality", "one_click"]}


def linear_probe(data: Path) -> dict:
    """Logistic regression (scikit-learn, L-BFGS) on frozen EfficientNet-Lite0 features: the floor to beat."""
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    index = scan_dataset(data)
    spec = get_backbone("efficientnet_lite0")
    backbone = build_classifier(spec.name, len(index.classes), True, 224).backbone
    train_items, valid_items = index.splits["train"], index.splits["valid"]
    result = [x for x in dataset_features(spec, backbone, TrainConfig(data=str(data)), train_items, valid_items,
                                          torch.device("cpu")) if isinstance(x, FeatureSet)][0]
    n = len(train_items)
    (tx, ty), (vx, vy) = result.subset(0, n), result.subset(n, n + len(valid_items))
    probe = LogisticRegression(max_iter=2000, C=1.0).fit(tx.numpy(), ty.numpy())
    return {"valid_acc": float(probe.score(vx.numpy(), vy.numpy())), "wall_s": round(time.perf_counter() - start, 1)}


def cold_cache(tmp: Path) -> None:
    """A fresh, empty cache folder: every figure includes the ONNX export and the backbone pass."""
    os.environ["TRANSFER_STUDIO_CACHE"] = tempfile.mkdtemp(dir=tmp, prefix="cache-")


def run_recipe(data: Path, out: Path, overrides: dict) -> dict:
    cold_cache(out.parent)
    config = TrainConfig(data=str(data), out=str(out), **overrides)
    start = time.perf_counter()
    finished = [e for e in train(config) if isinstance(e, RunFinished)][-1]
    resolved = json.loads((Path(finished.run_dir) / "config.json").read_text())
    summary = json.loads((Path(finished.run_dir) / "summary.json").read_text())
    return {
        "valid_acc": finished.best_valid_acc, "best_epoch": finished.best_epoch, "epochs_run": finished.epochs_run,
        "wall_s": round(time.perf_counter() - start, 1),
        "second_stage_skipped": summary.get("skipped_stage"),
        "stages": sorted({e["stage"] for e in map(json.loads, (Path(finished.run_dir) / "metrics.jsonl").open())
                          if e.get("event") == "StageStarted"} | {1}),
        "settings": {k: resolved[k] for k in ("backbone", "freeze", "epochs", "stage1_epochs", "lr", "head", "views",
                                              "engine", "when_solved")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES),
                        help="the same recipes on every set (default: DEFAULT_RECIPES, per set)")
    parser.add_argument("--data", type=Path, help="also measure this ImageFolder")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "recipes.json")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    results = {"machine": {"cpu_threads": torch.get_num_threads(), "platform": platform.platform(),
                           "torch": torch.__version__}, "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        sets = {name: SETS[name](Path(tmp) / name) for name in args.sets}
        if args.data:
            sets[args.data.name] = args.data
        for name, data in sets.items():
            index = scan_dataset(data)
            auto = plan(TrainConfig(data=str(data)), train_counts(index), "cpu", len(index.splits["valid"]))
            row = {"images": {k: len(v) for k, v in index.splits.items()}, "classes": len(index.classes),
                   "one_click_picks": auto.config.freeze, "one_click_reason": auto.reason,
                   "linear_probe": (cold_cache(Path(tmp)), linear_probe(data))[1]}
            print(f"{name}: linear probe {row['linear_probe']}", flush=True)
            for recipe in args.recipes or DEFAULT_RECIPES.get(name, list(RECIPES)):
                row[recipe] = run_recipe(data, Path(tmp) / "runs", RECIPES[recipe])
                print(f"{name}: {recipe} {row[recipe]}", flush=True)
            results["sets"][name] = row
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"\n{'set':10} {'recipe':12} {'valid acc':>9} {'wall s':>7}")
    for name, row in results["sets"].items():
        for recipe in ("linear_probe", *[r for r in RECIPES if r in row]):
            print(f"{name:10} {recipe:12} {row[recipe]['valid_acc']:9.1%} {row[recipe]['wall_s']:7.1f}")
        if "one_click" in row and "two_stage" in row:
            row["one_click_vs_two_stage"] = {
                "accuracy_points": round(100 * (row["one_click"]["valid_acc"] - row["two_stage"]["valid_acc"]), 2),
                "wall_time_share": round(row["one_click"]["wall_s"] / row["two_stage"]["wall_s"], 3)}
            print(f"{name:10} one click vs two-stage: {row['one_click_vs_two_stage']}")
    args.out.write_text(json.dumps(results, indent=1))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
