"""`python -m core …`: the headless twin of the GUI, with the same TrainConfig and defaults."""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import MISSING, Field, fields

from core.config import TrainConfig
from core.errors import BackboneUnavailable, DatasetError, DiskFull
from core.events import CheckProgress, EpochDone, Event, Message, RunFinished, StageStarted, dispatch
from core.models.backbones import BACKBONES
from core.system import configure_torch, device_type


def _flag(f: Field) -> str:
    """The CLI flag of a TrainConfig field: its own, else --the-field-name."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, with its default, help and choices, in the config's groups, so that the
    CLI and the GUI cannot drift apart."""
    by_name = {f.name: f for f in fields(TrainConfig)}
    for title, names in TrainConfig.groups().items():
        group = parser.add_argument_group(title)
        for name in names:
            f = by_name[name]
            meta = f.metadata
            kwargs = {"help": meta.get("help"), "choices": meta.get("choices")}
            if f.default is MISSING:
                group.add_argument(_flag(f), dest=f.name, required=True, **kwargs)
            else:
                parse = meta.get("parse") or type(f.default)
                group.add_argument(_flag(f), dest=f.name, type=parse, default=f.default, **kwargs)


def config_arguments(config: TrainConfig) -> list[str]:
    """The `train` flags that give `config`: data, out, and every field that differs from its default."""
    defaults = TrainConfig(data=config.data)
    args: list[str] = []
    for f in fields(TrainConfig):
        value = getattr(config, f.name)
        if f.name in ("data", "out") or (value is not None and value != getattr(defaults, f.name)):
            args += [_flag(f), str(value)]
    return args


def _help(name: str) -> str:
    return next(f.metadata["help"] for f in fields(TrainConfig) if f.name == name)


def _config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})


def _train(args: argparse.Namespace) -> int:
    from core.training.continued import continue_run
    from core.training.distributed import leave
    from core.training.trainer import train

    if args.resume:
        events = continue_run(args.resume, args.epochs, device=None if args.device == "auto" else args.device)
    elif not args.data:
        raise ValueError("name the dataset folder with --data (or a run to carry on with --continue RUN)")
    else:
        events = train(_config(args))
    quiet = int(os.environ.get("RANK", "0")) != 0  # under torchrun only rank 0 speaks
    try:
        for event in events:
            if not quiet:
                dispatch(PRINTERS, event)
    finally:
        leave()
    return 0


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


def _predict(args: argparse.Namespace) -> int:
    from core.inference.predict import load_predictor

    predictor = load_predictor(args.run)
    if args.folder:
        return _predict_folder(predictor, args)
    if not args.images:
        raise ValueError("name the pictures to predict, or a --folder of them")
    failed = 0
    for path in args.images:
        try:
            answer = predictor.answer([path], k=args.k)[0]
            print(json.dumps({"path": path, "top": [[label, round(p, 6)] for label, p in answer.top],
                              "not_sure": not answer.sure}), flush=True)
        except (OSError, ValueError) as err:
            failed += 1
            print(json.dumps({"path": path, "error": f"not a readable image ({type(err).__name__})"}), flush=True)
    return 1 if failed else 0


def _predict_folder(predictor, args: argparse.Namespace) -> int:
    """Every picture of --folder into --csv (or standard output); the counts on standard error."""
    from core.inference.folder import FolderTable, predict_folder
    from core.system import atomic_write

    for item in predict_folder(predictor, args.folder, k=args.k):
        if isinstance(item, FolderTable):
            if args.csv:
                atomic_write(args.csv, item.csv.encode())
            else:
                sys.stdout.write(item.csv)
            print(f"{item.predicted} picture(s) predicted, {item.unreadable} unreadable", file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from core.evaluation.metrics import Evaluation, evaluate_run

    for item in evaluate_run(args.run, args.split):
        if isinstance(item, Evaluation):
            saved = item.to_dict(key="")
            print(json.dumps({k: saved[k] for k in ("run_id", "split", "metrics", "confusion", "most_confused")}
                             | {"calibration": {k: saved["calibration"][k] for k in
                                                ("temperature", "ece_before", "ece_after", "threshold")}},
                             indent=1), flush=True)
    return 0


def _check(args: argparse.Namespace) -> int:
    from core.data.health import HealthReport, check_dataset

    return _progress_then_json(check_dataset(args.data, args.valid_fraction, args.seed, args.cache), CheckProgress,
                               "checked {done}/{total} files", HealthReport)


def _progress_then_json(items, progress: type, counting: str, result: type) -> int:
    """Progress counted on one line of stderr (in a terminal only), then the result as JSON on stdout."""
    show_progress = sys.stderr.isatty()
    for item in items:
        if isinstance(item, progress) and show_progress:
            print("\r" + counting.format(done=item.done, total=item.total), end="", file=sys.stderr, flush=True)
        elif isinstance(item, result):
            if show_progress:
                print(file=sys.stderr)
            print(json.dumps(item.to_dict(), indent=1), flush=True)
    return 0


def _backbones(args: argparse.Namespace) -> int:
    print(json.dumps([spec.describe() for spec in BACKBONES.values()], indent=1))
    return 0


def _plan(args: argparse.Namespace) -> int:
    from core.data.scan import scan_dataset
    from core.training.summary import summarize
    from core.training.recipes import plan, train_counts

    config = _config(args)
    config.validate()
    index = scan_dataset(config.data, config.valid_fraction, config.seed)
    recipe = plan(config, train_counts(index), device_type(config.device), len(index.splits["valid"]))
    summary = summarize(recipe.config, len(index.classes))
    print(json.dumps({"config": recipe.config.to_dict(), "reason": recipe.reason,
                      "finetune_estimate_s": round(recipe.finetune_s, 1), "summary": summary.to_dict()}, indent=1))
    return 0


def _lr_find(args: argparse.Namespace) -> int:
    from core.training.lr_finder import LRFinding, find_lr

    for item in find_lr(_config(args), steps=args.steps):
        if isinstance(item, LRFinding):
            print(json.dumps(item.to_dict()), flush=True)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from core.data.demo import make_shapes_dataset

    print(make_shapes_dataset(args.out))
    return 0


def _export(args: argparse.Namespace) -> int:
    from core.export.bundle import export_run

    print(json.dumps(export_run(args.run, args.out, args.format).to_dict(), indent=1), flush=True)
    return 0


def _project(args: argparse.Namespace) -> int:
    from core.runstore.project import open_project, save_project

    if args.action == "save":
        print(json.dumps(save_project(args.runs, args.run_ids, args.out).to_dict(), indent=1))
    else:
        print(json.dumps(open_project(args.zip, args.runs, args.data_root).to_dict(), indent=1))
    return 0


def _runs(args: argparse.Namespace) -> int:
    from core.runstore.table import mark_abandoned
    from core.runstore.table import run_records

    for run_id in mark_abandoned(args.runs):  # killed runs' folders say so from now on
        print(f"{run_id}: marked failed (its training process is gone)", file=sys.stderr, flush=True)
    print(json.dumps([record.to_dict() for record in run_records(args.runs)], indent=1))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from core.evaluation.compare import RunDiff, compare_runs
    from core.runstore.table import locate_run

    for item in compare_runs(locate_run(args.runs, args.a), locate_run(args.runs, args.b), args.split):
        if isinstance(item, RunDiff):
            print(json.dumps(item.brief(), indent=1), flush=True)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from core.evaluation.audit import Audit, audit_dataset
    from core.events import FeaturesProgress

    return _progress_then_json(audit_dataset(args.data, args.valid_fraction, args.seed, args.backbone, top=args.top),
                               FeaturesProgress, "read {done}/{total} pictures", Audit)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Transfer Studio, headless")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a run; prints one JSON line per epoch, then a summary line")
    _add_config_arguments(train)
    train.add_argument("--continue", dest="resume", metavar="RUN", help=(
        "carry on a run folder from its last epoch, instead of starting one: with --epochs N, N more epochs "
        "(a finished or stopped run); without, the rest of its plan (a failed run)"))
    next(a for a in train._actions if a.dest == "data").required = False  # --continue reads the run's own
    train.set_defaults(func=_train)
    predict = sub.add_parser("predict", help="top-k classes for images; one JSON line per image")
    predict.add_argument("--run", required=True, help="run folder (or its best.pt)")
    predict.add_argument("-k", type=int, default=3, help="how many classes to show")
    predict.add_argument("images", nargs="*", help="picture files")
    predict.add_argument("--folder", help="predict every picture under this folder instead, as one CSV")
    predict.add_argument("--csv", help="with --folder: write the CSV here (default: standard output)")
    predict.set_defaults(func=_predict)
    evaluate = sub.add_parser("evaluate", help="metrics of a run on its validation (or test) images, as JSON")
    evaluate.add_argument("--run", required=True, help="run folder")
    evaluate.add_argument("--split", default="valid", choices=["valid", "test"],
                          help="the run's own validation images (from split.json), or the dataset's test/ folder")
    evaluate.set_defaults(func=_evaluate)
    check = sub.add_parser("check", help="health report of a dataset folder; prints one JSON object")
    check.add_argument("--data", required=True, help=_help("data"))
    check.add_argument("--valid-fraction", type=float, default=TrainConfig.valid_fraction, help=_help("valid_fraction"))
    check.add_argument("--seed", type=int, default=TrainConfig.seed, help=_help("seed"))
    check.add_argument("--cache", default=None, help="folder for the check's memory of files (default: user cache)")
    check.set_defaults(func=_check)
    sub.add_parser("backbones", help="the backbone registry as JSON (size, offline availability)").set_defaults(
        func=_backbones)
    recipe = sub.add_parser("plan", help="the recipe a train command would use, why, and the model summary, as JSON")
    _add_config_arguments(recipe)
    recipe.set_defaults(func=_plan)
    lr_find = sub.add_parser("lr-find", help="learning-rate finder: loss against learning rate and a suggestion, as JSON")
    _add_config_arguments(lr_find)
    lr_find.add_argument("--steps", type=int, default=100, help="learning rates tried")
    lr_find.set_defaults(func=_lr_find)
    demo = sub.add_parser("demo-data", help="write the generated shapes dataset")
    demo.add_argument("--out", default="data/shapes")
    demo.set_defaults(func=_demo)
    export = sub.add_parser("export", help="a run as one .zip (ONNX/TorchScript, predict.py, model card), checked "
                                           "against the app on every validation image; prints JSON")
    export.add_argument("--run", required=True, help="run folder")
    export.add_argument("--format", default="onnx,torchscript", help="onnx, torchscript or both (comma-separated)")
    export.add_argument("--out", help="the .zip to write (default: <run folder>/export/<run id>.zip)")
    export.set_defaults(func=_export)
    project = sub.add_parser("project", help="save runs and their images as one .zip, or open one; prints JSON")
    project_sub = project.add_subparsers(dest="action", required=True)
    save = project_sub.add_parser("save", help="write the runs and every image their splits use into one .zip")
    save.add_argument("--runs", default="runs", help="folder of run folders (train's --out)")
    save.add_argument("--out", required=True, help="the .zip to write")
    save.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="runs to save (folder names in --runs)")
    opener = project_sub.add_parser("open", help="unpack a saved project: its runs and datasets, relocated")
    opener.add_argument("zip", help="the project .zip")
    opener.add_argument("--runs", default="runs", help="folder of run folders to add the runs to")
    opener.add_argument("--data-root", default="data", help="datasets go to <data root>/datasets/<name>")
    project.set_defaults(func=_project)
    runs = sub.add_parser("runs", help="every run folder (settings, result, status, name, note), newest first, as JSON")
    runs.add_argument("--runs", default="runs", help="folder of run folders (train's --out)")
    runs.set_defaults(func=_runs)
    compare = sub.add_parser("compare", help="run B against run A on the same images: what it fixed and broke, as JSON")
    compare.add_argument("a", help="run A: a run id in --runs, or a run folder")
    compare.add_argument("b", help="run B: a run id in --runs, or a run folder")
    compare.add_argument("--runs", default="runs", help="folder of run folders (train's --out)")
    compare.add_argument("--split", default="valid", choices=["valid", "test"],
                         help="the runs' own validation images (from split.json), or the dataset's test/ folder")
    compare.set_defaults(func=_compare)
    audit = sub.add_parser("audit", help="likely mislabelled pictures, shortcuts, outliers, near-duplicates and how "
                                         "many more pictures each class needs; prints one JSON object")
    audit.add_argument("--data", required=True, help=_help("data"))
    audit.add_argument("--valid-fraction", type=float, default=TrainConfig.valid_fraction, help=_help("valid_fraction"))
    audit.add_argument("--seed", type=int, default=TrainConfig.seed, help=_help("seed"))
    audit.add_argument("--backbone", default=TrainConfig.backbone, choices=list(BACKBONES),
                       help="pretrained backbone whose features the audit reads")
    audit.add_argument("--top", type=int, default=50, help="at most this many suspects and duplicate groups")
    audit.set_defaults(func=_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # once per process: threads for its share of the cores
        if args.func in (_train, _predict, _plan, _lr_find, _evaluate, _compare, _export, _audit):
            configure_torch()
        return args.func(args)
    except (DatasetError, BackboneUnavailable, ValueError, FileNotFoundError, DiskFull) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped by the user; the best checkpoint so far is kept", file=sys.stderr)
        return 130
