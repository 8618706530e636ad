"""`python -m core …`: the headless twin of the GUI, with the same TrainConfig and defaults."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import MISSING, fields

from .backbones import BACKBONES
from .config import FREEZE_MODES, TrainConfig
from .errors import BackboneUnavailable, DatasetError
from .events import EpochDone, Message, RunFinished

HELP = {
    "data": "dataset folder: train/ and valid/ with one subfolder per class, or just one subfolder per class",
    "backbone": "pretrained backbone",
    "freeze": "frozen = feature extractor, finetune = train every layer",
    "epochs": "passes over the training images",
    "lr": "learning rate of the new head",
    "batch": "images per step",
    "image_size": "input size in pixels (multiple of 32)",
    "seed": "random seed (same seed, same run on CPU; also picks the validation images of a folder without valid/)",
    "valid_fraction": "share of each class held out for validation when the folder has no valid/ (0.05-0.5)",
    "out": "folder that receives one run folder per run",
    "device": "auto, cpu or cuda",
    "num_workers": "data-loading worker processes",
}
CHOICES = {"backbone": list(BACKBONES), "freeze": list(FREEZE_MODES)}
FLAGS = {"batch": "--batch", "image_size": "--image-size", "num_workers": "--num-workers", "out": "--out"}


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, with the dataclass default, so CLI and GUI cannot drift apart."""
    for f in fields(TrainConfig):
        flag = FLAGS.get(f.name, "--" + f.name.replace("_", "-"))
        kwargs = {"help": HELP.get(f.name), "choices": CHOICES.get(f.name)}
        if f.default is MISSING:
            parser.add_argument(flag, dest=f.name, required=True, **kwargs)
        else:
            parser.add_argument(flag, dest=f.name, type=type(f.default), default=f.default, **kwargs)


def _train(args: argparse.Namespace) -> int:
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    from .trainer import train

    for event in train(config):
        if isinstance(event, EpochDone):
            print(json.dumps(event.to_dict()), flush=True)
        elif isinstance(event, Message) and event.level != "info":
            print(event.text, file=sys.stderr, flush=True)
        elif isinstance(event, RunFinished):
            print(json.dumps({
                "run_dir": event.run_dir, "best_valid_acc": event.best_valid_acc, "best_epoch": event.best_epoch,
                "epochs_run": event.epochs_run, "wall_s": round(event.wall_s, 3), "stopped": event.stopped,
                "checkpoint": event.checkpoint,
            }), flush=True)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .predict import load_predictor

    predictor = load_predictor(args.run)
    failed = 0
    for path in args.images:
        try:
            top = predictor.predict([path], k=args.k)[0]
            print(json.dumps({"path": path, "top": [[label, round(p, 6)] for label, p in top]}), flush=True)
        except (OSError, ValueError) as err:
            failed += 1
            print(json.dumps({"path": path, "error": f"not a readable image ({type(err).__name__})"}), flush=True)
    return 1 if failed else 0


def _check(args: argparse.Namespace) -> int:
    from .events import CheckProgress
    from .health import HealthReport, check_dataset

    show_progress = sys.stderr.isatty()
    for item in check_dataset(args.data, args.valid_fraction, args.seed, args.cache):
        if isinstance(item, CheckProgress) and show_progress:
            print(f"\rchecked {item.done}/{item.total} files", end="", file=sys.stderr, flush=True)
        elif isinstance(item, HealthReport):
            if show_progress:
                print(file=sys.stderr)
            print(json.dumps(item.to_dict(), indent=1), flush=True)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo_data import make_shapes_dataset

    print(make_shapes_dataset(args.out))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Transfer Studio, headless")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a run; prints one JSON line per epoch, then a summary line")
    _add_config_arguments(train)
    train.set_defaults(func=_train)
    predict = sub.add_parser("predict", help="top-k classes for images; one JSON line per image")
    predict.add_argument("--run", required=True, help="run folder (or its best.pt)")
    predict.add_argument("-k", type=int, default=3, help="how many classes to show")
    predict.add_argument("images", nargs="+")
    predict.set_defaults(func=_predict)
    check = sub.add_parser("check", help="health report of a dataset folder; prints one JSON object")
    check.add_argument("--data", required=True, help=HELP["data"])
    check.add_argument("--valid-fraction", type=float, default=TrainConfig.valid_fraction, help=HELP["valid_fraction"])
    check.add_argument("--seed", type=int, default=TrainConfig.seed, help=HELP["seed"])
    check.add_argument("--cache", default=None, help="folder for the check's memory of files (default: user cache)")
    check.set_defaults(func=_check)
    demo = sub.add_parser("demo-data", help="write the generated shapes dataset")
    demo.add_argument("--out", default="data/shapes")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DatasetError, BackboneUnavailable, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped by the user; the best checkpoint so far is kept", file=sys.stderr)
        return 130
