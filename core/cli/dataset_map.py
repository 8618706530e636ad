"""`python -m core map`: every picture of a dataset placed in 2-D by what a model sees in it, with its class and
flags (likely mislabelled, outlier, near-duplicate, a run's mistakes and "not sure" answers, test, kept), as JSON."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.flags import field_help
from core.config import TrainConfig
from core.events import Message, Progress, dispatch
from core.models.backbones import BACKBONES


def arguments(parser: argparse.ArgumentParser) -> None:
    """The map command's flags: the dataset (or a run), which features, how to lay them out."""
    from core.evaluation.map_facts import FEATURES
    from core.evaluation.map_layout import DEFAULT_METHOD, METHODS

    parser.add_argument("--data", help=field_help("data") + " (not needed with --run: its own dataset is drawn)")
    parser.add_argument("--valid-fraction", type=float, default=TrainConfig.valid_fraction,
                        help=field_help("valid_fraction"))
    parser.add_argument("--seed", type=int, default=TrainConfig.seed, help=field_help("seed") + "; seeds the map too")
    parser.add_argument("--run", help="a run id in --runs, or a run folder: its own pictures, splits and backbone, and "
                                      "its answers on the validation, test and kept pictures")
    parser.add_argument("--runs", default="runs", help="folder of run folders; kept pictures are read from its kept/")
    parser.add_argument("--features", default="backbone", choices=list(FEATURES),
                        help="backbone: the pretrained backbone's features (cached, shared with the audit); run: the "
                             "run's own, the layer before its head (needs --run)")
    parser.add_argument("--method", default=DEFAULT_METHOD, choices=list(METHODS),
                        help="how features become 2-D: " + ", ".join(f"{k} ({m.title})" for k, m in METHODS.items()))
    parser.add_argument("--backbone", default=TrainConfig.backbone, choices=list(BACKBONES),
                        help="pretrained backbone whose features place the pictures (a run uses its own)")


def _progress(item: Progress, shown: dict) -> None:
    if shown["tty"]:
        print(f"\rread {item.done}/{item.total} pictures", end="", file=sys.stderr, flush=True)
        shown["open"] = True


def _message(item: Message, shown: dict) -> None:
    if item.level != "info":
        print(("\n" if shown.pop("open", False) else "") + item.text, file=sys.stderr, flush=True)


def _result(item, shown: dict) -> None:
    if shown.pop("open", False):
        print(file=sys.stderr)
    print(json.dumps(item.to_dict(), indent=1), flush=True)
    shown["made"] = True


def data_map(args: argparse.Namespace) -> int:
    """Progress and warnings on standard error, then the DataMap as one JSON object; 1 when no map could be made."""
    from core.evaluation.data_map import DataMap, build_map
    from core.runstore.folder import KEPT
    from core.runstore.table import locate_run

    if not args.data and not args.run:
        raise ValueError("name the dataset folder with --data (or a run with --run, to draw its own pictures)")
    run = locate_run(args.runs, args.run) if args.run else None
    shown = {"tty": sys.stderr.isatty()}
    printers = {Progress: _progress, Message: _message, DataMap: _result}
    for item in build_map(args.data, run, args.features, args.method, args.valid_fraction, args.seed, args.backbone,
                          kept_dir=None if run else Path(args.runs) / KEPT):  # a run's: beside it
        dispatch(printers, item, shown)
    return 0 if shown.get("made") else 1
