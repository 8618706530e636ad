"""Learning from use, end to end: does the review order put the pictures worth a look first, and does filing some of
them and training again help in the field?

    .venv/bin/python bench/field_loop.py [--per-class 30] [--review 20] [--seeds 3]

A frozen run learns eight of scikit-learn's handwritten digits (0-7, dark ink on white, `--per-class` scans each). In
use it then meets a stream of pictures, kept through KeptStore with its answers: held-out scans of its digits, the
same digits on another paper (white ink on black, which it often gets wrong) and digits it never saw (8 and 9). The
script counts the wrong or foreign pictures among the first `--review` of review_order (with feature_distances),
beside the arrival order and the order without distances; then reviews those pictures (foreign: "unknown"; the others
filed into the dataset with their true class by add_picture), trains the run again (train_again) and measures the
field accuracy on a separate set of held-out field pictures before and after. Each of `--seeds` loops draws its own
digits; the loops run in one fixed temporary folder (a training picture's augmentations are drawn from its path, so a
random folder name would change them). Writes bench/results/field_loop.json: each loop's figures and their means.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import RunFinished, TrainConfig, train  # noqa: E402
from core.data.relabel import add_picture  # noqa: E402
from core.evaluation.field import feature_distances, field_report, review_order  # noqa: E402
from core.events import RunStarted  # noqa: E402
from core.inference.predict import load_predictor  # noqa: E402
from core.runstore.folder import KEPT, RunFolder  # noqa: E402
from core.runstore.kept import KeptStore  # noqa: E402
from core.system import configure_torch  # noqa: E402
from core.training.field import FIELD_PREFIX, train_again  # noqa: E402

KNOWN, FOREIGN = tuple(range(8)), (8, 9)
STREAM = {"plain": 60, "other_paper": 40, "foreign": 20}  # pictures met in use, by kind
FIELD_TEST = {"plain": 80, "other_paper": 80}  # held-out field pictures the accuracy is measured on


def digit_picture(pixels: np.ndarray, other_paper: bool) -> Image.Image:
    """One 8x8 scan at 32x32: dark ink on white, or white ink on black (another paper)."""
    ink = (pixels * (255 / 16)).astype(np.uint8)
    return Image.fromarray(ink if other_paper else 255 - ink).resize((32, 32), Image.BICUBIC).convert("RGB")


def write(picture: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    return path


def make_sets(root: Path, per_class: int, seed: int = 0) -> tuple[Path, list[dict], list[dict]]:
    """The dataset folder (flat: one folder per known digit), the stream met in use and the field test set; each
    picture of the last two as {path, truth (a class name, None when foreign), kind}."""
    from sklearn.datasets import load_digits

    digits, rng = load_digits(), np.random.default_rng(seed)
    pools = {d: list(rng.permutation(np.flatnonzero(digits.target == d))) for d in range(10)}
    data = root / "digits"
    for d in KNOWN:
        for i in [pools[d].pop() for _ in range(per_class)]:
            write(digit_picture(digits.images[i], False), data / str(d) / f"{i:04d}.png")

    def draw(kind: str, count: int, where: Path) -> list[dict]:
        classes = FOREIGN if kind == "foreign" else KNOWN
        pictures = []
        for n in range(count):
            d = classes[n % len(classes)]
            i = pools[d].pop()
            path = write(digit_picture(digits.images[i], kind == "other_paper"), where / f"{kind}-{d}-{i:04d}.png")
            pictures.append({"path": path, "truth": None if kind == "foreign" else str(d), "kind": kind})
        return pictures

    stream = [p for kind, count in STREAM.items() for p in draw(kind, count, root / "stream")]
    test = [p for kind, count in FIELD_TEST.items() for p in draw(kind, count, root / "field-test")]
    return data, [stream[i] for i in rng.permutation(len(stream))], test


def accuracy(run_dir: Path, pictures: list[dict]) -> dict:
    """The run's accuracy on field pictures of its classes: all of them and by kind."""
    predictor = load_predictor(run_dir)
    said = [a.top[0][0] for a in predictor.answer([p["path"] for p in pictures], k=1)]
    right = [s == p["truth"] for s, p in zip(said, pictures)]
    kinds = sorted({p["kind"] for p in pictures})
    by_kind = {k: float(np.mean([r for r, p in zip(right, pictures) if p["kind"] == k])) for k in kinds}
    return {"all": round(float(np.mean(right)), 4), **{k: round(v, 4) for k, v in by_kind.items()}}


def worth_a_look(order: list, truth: dict[str, dict], first: int) -> int:
    """How many of the first pictures of `order` are wrong (the run's answer is not the truth) or foreign."""
    return sum(truth[p.id]["truth"] != p.predicted for p in order[:first])


def loop(root: Path, seed: int, args: argparse.Namespace) -> dict:
    """One run of the whole loop in `root` (a fixed path: augmentations are drawn per file path), from data `seed`."""
    clock: dict[str, float] = {}
    data, stream, test = make_sets(root, args.per_class, seed)
    start = time.perf_counter()
    events = list(train(TrainConfig(data=str(data), out=str(root / "runs"), freeze="frozen", seed=seed)))
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.checkpoint, finished
    run_dir, clock["train_s"] = Path(finished.run_dir), time.perf_counter() - start

    store, truth = KeptStore(root / "runs" / KEPT), {}
    for picture, answer in zip(stream, load_predictor(run_dir).answer([p["path"] for p in stream])):
        truth[store.keep(picture["path"], run_dir.name, answer.top, not answer.sure, "folder").id] = picture
    kept = store.list()
    start = time.perf_counter()
    distances = feature_distances(run_dir, kept)
    clock["distances_s"] = time.perf_counter() - start
    order = review_order(kept, distances)
    mistakes = sum(truth[p.id]["truth"] != p.predicted for p in kept)
    first = {"review_order": worth_a_look(order, truth, args.review),
             "review_order_without_distances": worth_a_look(review_order(kept), truth, args.review),
             "arrival_order": worth_a_look(kept, truth, args.review),
             "farthest_first": worth_a_look(sorted(kept, key=lambda p: -distances.get(p.id, 0.0)), truth,
                                            args.review),
             "expected_at_random": round(args.review * mistakes / len(kept), 1)}

    before = accuracy(run_dir, test)
    filed = []
    for picture in order[:args.review]:
        name = truth[picture.id]["truth"]
        if name is None:
            store.update(picture.id, verdict="unknown")
            continue
        change = add_picture(data, picture.path, name, f"{FIELD_PREFIX}{picture.id}.jpg")
        store.update(picture.id, verdict="labelled", truth=name, change_id=change.id, dataset=str(data))
        filed.append((data / change.target, name))
    best_before = RunFolder(run_dir).checkpoint_stamp()
    start = time.perf_counter()
    again = list(train_again(run_dir, filed, args.epochs))
    clock["train_again_s"] = time.perf_counter() - start
    assert isinstance(again[-1], RunFinished), again[-1]
    report = field_report(store.list(), run_dir).to_dict()
    sizes = [e.train_size for e in events + again if isinstance(e, RunStarted)]
    return {
        "seed": seed, "train_size": sizes[0], "best_valid_acc": finished.best_valid_acc,
        "stream": {**STREAM, "pictures": len(kept), "wrong_or_foreign": mistakes,
                   "not_sure": sum(p.not_sure for p in kept)},
        "wrong_or_foreign_first": first,
        "kinds_first": {kind: sum(truth[p.id]["kind"] == kind for p in order[:args.review]) for kind in STREAM},
        "median_distance_by_kind": {kind: round(float(np.median([distances[p.id] for p in kept
                                                                 if truth[p.id]["kind"] == kind])), 4)
                                    for kind in STREAM},
        "filed": len(filed), "unknown": args.review - len(filed),
        "train_again": {"epochs": again[-1].epochs_run - finished.epochs_run, "train_size_after": sizes[-1],
                        "best_valid_acc_after": again[-1].best_valid_acc,
                        "best_checkpoint_replaced": RunFolder(run_dir).checkpoint_stamp() != best_before},
        "field_accuracy_before": before, "field_accuracy_after": accuracy(run_dir, test),
        "field_report": {k: report[k] for k in ("reviewed", "right", "wrong", "unknown", "accuracy",
                                                "validation_accuracy", "recent_not_sure_rate",
                                                "validation_not_sure_rate", "recent_distance", "validation_distance",
                                                "unlike", "unlike_because")},
        "seconds": {k: round(v, 1) for k, v in clock.items()},
    }


def mean_of(loops: list[dict], *keys: str) -> dict:
    """The mean over the loops of each figure of one nested dict."""
    rows = list(loops)
    for key in keys:
        rows = [row[key] for row in rows]
    return {k: round(float(np.mean([row[k] for row in rows])), 4) for k in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=30)
    parser.add_argument("--review", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3, help="loops, each on its own draw of the digits")
    parser.add_argument("--epochs", type=int, default=None, help="train_again's epochs (default: its own)")
    args = parser.parse_args()
    configure_torch()
    root = Path(tempfile.gettempdir()) / "transfer-studio-field-loop"
    os.environ["TRANSFER_STUDIO_CACHE"] = str(root / "cache")  # features of these pictures: nowhere else
    loops = []
    for seed in range(args.seeds):
        shutil.rmtree(root / "loop", ignore_errors=True)
        try:
            loops.append(loop(root / "loop", seed, args))
        finally:
            shutil.rmtree(root / "loop", ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    result = {
        "review": args.review, "per_class": args.per_class, "classes": len(KNOWN), "field_test": FIELD_TEST,
        "mean": {f"wrong_or_foreign_in_first_{args.review}": mean_of(loops, "wrong_or_foreign_first"),
                 "field_accuracy_before": mean_of(loops, "field_accuracy_before"),
                 "field_accuracy_after": mean_of(loops, "field_accuracy_after")},
        "loops": loops,
    }
    out = ROOT / "bench" / "results" / ("field_loop.json" if args.epochs is None else f"field_loop-{args.epochs}.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
