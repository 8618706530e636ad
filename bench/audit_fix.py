"""Does fixing what the audit finds pay? Plant wrong labels, audit, move the top suspects to the class they look
like (a few clicks in the Data tab), train again, and compare.

    python bench/audit_fix.py [--flip 0.08] [--seed 0]

A generated shapes set (train/ and valid/ folders, 60 + 15 pictures per class) gets a share of its pictures moved
into another class folder on purpose, in both splits. A feature-extractor run trains on it; the audit ranks its
suspects; as many top suspects as there were flips are moved to the suggested class (`core.data.relabel`), and the
same run trains again. Writes bench/results/audit_fix.json: recall at that many suspects, how many moves were
right, and the validation accuracy before and after (measured on the labels as they are in the folders).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import RunFinished, TrainConfig, train  # noqa: E402
from core.data.demo import make_shapes_dataset  # noqa: E402
from core.data.relabel import move_picture  # noqa: E402
from core.evaluation.audit import Audit, audit_dataset  # noqa: E402
from core.system import configure_torch  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "audit_fix.json"


def plant_flips(root: Path, share: float, seed: int) -> dict[str, str]:
    """Move `share` of every split's pictures into another class folder; {new path: the true class}."""
    rng = random.Random(seed)
    flipped = {}
    for split in ("train", "valid"):
        pictures = sorted((root / split).glob("*/*.jpg"))
        classes = sorted({p.parent.name for p in pictures})
        for picture in rng.sample(pictures, round(share * len(pictures))):
            wrong = rng.choice([c for c in classes if c != picture.parent.name])
            target = root / split / wrong / f"flipped-{picture.name}"
            picture.rename(target)
            flipped[str(target)] = picture.parent.name
    return flipped


def best_accuracy(data: Path, out: Path) -> float:
    """Best validation accuracy of the default feature-extractor run (fixed epochs, no early stop)."""
    events = list(train(TrainConfig(data=str(data), out=str(out), freeze="frozen", epochs=15, patience=0)))
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    return finished.best_valid_acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flip", type=float, default=0.08, help="share of pictures given a wrong class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    configure_torch()
    with tempfile.TemporaryDirectory(prefix="audit-fix-") as tmp:
        root = make_shapes_dataset(Path(tmp) / "shapes", train_per_class=60, valid_per_class=15, size=128)
        flipped = plant_flips(root, args.flip, args.seed)
        before = best_accuracy(root, Path(tmp) / "runs")
        start = time.perf_counter()
        audit = next(item for item in audit_dataset(root, cache_dir=Path(tmp) / "cache") if isinstance(item, Audit))
        audit_s = time.perf_counter() - start
        top = audit.suspects[:len(flipped)]
        found = sum(s.path in flipped for s in top)
        right_moves = 0
        for suspect in top:
            right_moves += flipped.get(suspect.path) == suspect.suggested
            move_picture(root, suspect.path, suspect.suggested)
        after = best_accuracy(root, Path(tmp) / "runs")
    result = {"pictures": audit.pictures, "flipped": len(flipped), "audit_s": round(audit_s, 2),
              "recall_at_flips": round(found / len(flipped), 3), "moves": len(top), "moves_to_the_true_class":
              right_moves, "valid_accuracy_before": round(before, 4), "valid_accuracy_after": round(after, 4)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
