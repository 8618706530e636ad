"""The training commands: `train` (a new run, or one carried on with --continue), `plan` and `lr-find`."""
from __future__ import annotations

import argparse
import json
import os
import sys

from core.cli.flags import config_from, flag, given
from core.events import EpochDone, Event, Message, RunFinished, StageStarted, dispatch
from core.system import device_type

# What `continue_run` can change of a run; it keeps every other setting it was trained with.
CONTINUE_TAKES = ("epochs", "device")


def train(args: argparse.Namespace) -> int:
    from core.training.continued import continue_run
    from core.training.distributed import leave
    from core.training.trainer import train as train_run

    if args.resume:
        refuse_settings(args)
        events = continue_run(args.resume, args.epochs, device=None if args.device == "auto" else args.device)
    elif not args.data:
        raise ValueError("name the dataset folder with --data (or a run to carry on with --continue RUN)")
    else:
        events = train_run(config_from(args))
    quiet = int(os.environ.get("RANK", "0")) != 0  # under torchrun only rank 0 speaks
    try:
        for event in events:
            if not quiet:
                dispatch(PRINTERS, event)
    finally:
        leave()
    return 0


def refuse_settings(args: argparse.Namespace) -> None:
    """With --continue: a ValueError naming the given flags a continued run cannot apply."""
    from core.runstore.folder import CONFIG

    others = [flag(name) for name in given(args) if name not in CONTINUE_TAKES]
    if others:
        names = others[0] if len(others) == 1 else f"{', '.join(others[:-1])} and {others[-1]}"
        raise ValueError(f"{names} {'does' if len(others) == 1 else 'do'} not apply to --continue: a continued run "
                         f"keeps its own settings (see its {CONFIG}); only "
                         f"{' and '.join(flag(name) for name in CONTINUE_TAKES)} can change")


def _print_json(event: Event) -> None:
    print(json.dumps(event.to_dict()), flush=True)


def _print_warning(event: Message) -> None:
    if event.level != "info":
        print(event.text, file=sys.stderr, flush=True)


def _print_result(event: RunFinished) -> None:
    print(json.dumps({
        "run_dir": event.run_dir, "best_valid_acc": event.best_valid_acc, "best_epoch": event.best_epoch,
        "epochs_run": event.epochs_run, "wall_s": round(event.wall_s, 3), "stopped": event.stopped,
        "checkpoint": event.checkpoint,
    }), flush=True)


# Epochs and stage switches as JSON lines, warnings on stderr, the result as the last JSON line; the rest unsaid.
PRINTERS = {EpochDone: _print_json, StageStarted: _print_json, Message: _print_warning, RunFinished: _print_result}


def plan(args: argparse.Namespace) -> int:
    from core.data.scan import scan_dataset
    from core.training.recipes import plan as make_plan, train_counts
    from core.training.summary import summarize

    config = config_from(args)
    config.validate()
    index = scan_dataset(config.data, config.valid_fraction, config.seed)
    recipe = make_plan(config, train_counts(index), device_type(config.device), len(index.splits["valid"]))
    summary = summarize(recipe.config, len(index.classes))
    print(json.dumps({"config": recipe.config.to_dict(), "reason": recipe.reason,
                      "finetune_estimate_s": round(recipe.finetune_s, 1), "summary": summary.to_dict()}, indent=1))
    return 0


def lr_find(args: argparse.Namespace) -> int:
    from core.training.lr_finder import LRFinding, find_lr

    for item in find_lr(config_from(args), steps=args.steps):
        if isinstance(item, LRFinding):
            print(json.dumps(item.to_dict()), flush=True)
    return 0
