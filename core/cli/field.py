"""`python -m core field`: the pictures kept from use, in the order to review them, and the owner's verdicts on
them (right, unknown, a class: filed into a dataset's training folder), as JSON."""
from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path


def arguments(parser: argparse.ArgumentParser) -> None:
    """The field command's flags: which pictures, and what the owner says of some of them."""
    parser.add_argument("--runs", default="runs", help="folder of run folders; the kept pictures are in its kept/")
    parser.add_argument("--run", help="only the pictures this run (a run id) answered")
    parser.add_argument("--distances", action="store_true",
                        help="also order by distance from each run's training pictures (reads the pictures through "
                             "the run's backbone; its training pictures' features come from the cache)")
    parser.add_argument("--label", action="append", default=[], metavar="ID=CLASS",
                        help="the picture is of CLASS: copied into --data's training folder of CLASS (journalled, "
                             "undoable in the Audit tab), verdict labelled")
    parser.add_argument("--data", help="with --label: the dataset folder to file the pictures into")
    for flag, what in (("right", "the run's answer was right"), ("unknown", "the picture is of none of the classes"),
                       ("delete", "delete the kept picture")):
        parser.add_argument(f"--{flag}", action="append", default=[], metavar="ID", help=f"{what} (repeatable)")


def _labels(pairs: list[str]) -> list[tuple[str, str]]:
    """The ID=CLASS pairs of --label; ValueError for one that is not."""
    parsed = [tuple(part.strip() for part in pair.partition("=")[::2]) for pair in pairs]
    bad = [pair for pair, (picture_id, name) in zip(pairs, parsed) if not picture_id or not name]
    if bad:
        raise ValueError(f"--label takes ID=CLASS (a kept picture's id and the class it shows), not {bad[0]!r}.")
    return parsed


def _file(store, picture_id: str, name: str, data: str) -> str:
    """Copy one kept picture into the dataset's training folder of class `name` and mark it labelled."""
    from core.data.relabel import add_picture
    from core.training.field import FIELD_PREFIX

    picture = store.get(picture_id)
    if picture.change_id is not None:
        raise ValueError(f"{picture_id} was filed already (change {picture.change_id} of {picture.dataset}); undo "
                         "that change first to file it again.")
    change = add_picture(data, picture.path, name, f"{FIELD_PREFIX}{picture_id}.jpg")
    store.update(picture_id, verdict="labelled", truth=name, change_id=change.id, dataset=str(Path(data).resolve()))
    return f"{picture_id}: filed as {change.target} (change {change.id})"


def _unfiled(store, picture_id: str) -> str:
    """The id of a picture that is not filed; ValueError for a filed one (its dataset copy would be left behind)."""
    picture = store.get(picture_id)
    if picture.change_id is not None:
        raise ValueError(f"{picture_id} is filed in {picture.dataset} (change {picture.change_id}); undo that change "
                         "in the Review or Audit tab first.")
    return picture_id


# What each verdict flag does to one kept (not filed) picture: the line it says on standard error.
VERDICTS = {
    "right": lambda store, i: (store.update(_unfiled(store, i), verdict="right", truth=store.get(i).predicted),
                               f"{i}: right")[1],
    "unknown": lambda store, i: (store.update(_unfiled(store, i), verdict="unknown", truth=None),
                                 f"{i}: of none of the classes")[1],
    "delete": lambda store, i: f"{i}: deleted" if store.delete(_unfiled(store, i)) else f"{i}: no such picture",
}


def _distances(runs: Path, pictures: list) -> dict[str, float]:
    """Each picture's distance from its run's training pictures, for the runs that still have a checkpoint."""
    from core.evaluation.field import feature_distances
    from core.runstore.folder import RunFolder

    found: dict[str, float] = {}
    for run_id in sorted({p.run for p in pictures}):
        if RunFolder(runs / run_id).has_checkpoint():
            found |= feature_distances(runs / run_id, [p for p in pictures if p.run == run_id])
    return found


def _row(picture, distances: dict[str, float]) -> dict:
    """One picture of the listing."""
    row = {"id": picture.id, "path": str(picture.path), "run": picture.run, "label": picture.predicted,
           "confidence": round(picture.confidence, 6), "margin": round(picture.margin, 6),
           "not_sure": picture.not_sure, "source": picture.source, "time": picture.time, "verdict": picture.verdict,
           "truth": picture.truth, "top": [[label, round(p, 6)] for label, p in picture.top]}
    if picture.id in distances:
        row["distance"] = round(distances[picture.id], 6)
    return row


def field(args: argparse.Namespace) -> int:
    """Apply the verdicts asked for, then print the kept pictures (of --run) in review order as a JSON array."""
    from core.evaluation.field import review_order
    from core.runstore.folder import KEPT
    from core.runstore.kept import KeptStore

    runs = Path(args.runs)
    store = KeptStore(runs / KEPT)
    labels = _labels(args.label)
    if labels and not args.data:
        raise ValueError("--label needs --data DIR: the dataset folder whose training folder the pictures go into.")
    actions = [partial(_file, store, picture_id, name, args.data) for picture_id, name in labels]
    actions += [partial(VERDICTS[flag], store, i) for flag in VERDICTS for i in getattr(args, flag)]
    for action in actions:  # each said as it is done, so a mistake later leaves no doubt about what was
        try:
            print(action(), file=sys.stderr, flush=True)
        except LookupError as err:  # an id that is not a kept picture's: said as the other mistakes are
            raise ValueError(str(err).strip("'\"")) from None
    pictures = [p for p in store.list() if not args.run or p.run == args.run]
    distances = _distances(runs, pictures) if args.distances else {}
    print(json.dumps([_row(p, distances) for p in review_order(pictures, distances)], indent=1), flush=True)
    return 0
