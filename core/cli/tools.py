"""The commands around training: data (check, audit, demo-data, backbones) and runs (predict, evaluate, export,
project, runs, compare); each prints JSON on standard output."""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from core.events import CheckProgress


def predict(args: argparse.Namespace) -> int:
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


def evaluate(args: argparse.Namespace) -> int:
    from core.evaluation.metrics import Evaluation, evaluate_run

    for item in evaluate_run(args.run, args.split):
        if isinstance(item, Evaluation):
            saved = item.to_dict(key="")
            print(json.dumps({k: saved[k] for k in ("run_id", "split", "metrics", "confusion", "most_confused")}
                             | {"calibration": {k: saved["calibration"][k] for k in
                                                ("temperature", "ece_before", "ece_after", "threshold")}},
                             indent=1), flush=True)
    return 0


def check(args: argparse.Namespace) -> int:
    from core.data.health import HealthReport, check_dataset

    return _progress_then_json(check_dataset(args.data, args.valid_fraction, args.seed, args.cache), CheckProgress,
                               "checked {done}/{total} files", HealthReport)


def audit(args: argparse.Namespace) -> int:
    from core.evaluation.audit import Audit, audit_dataset
    from core.events import FeaturesProgress

    return _progress_then_json(audit_dataset(args.data, args.valid_fraction, args.seed, args.backbone, top=args.top),
                               FeaturesProgress, "read {done}/{total} pictures", Audit)


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


def backbones(args: argparse.Namespace) -> int:
    from core.models.backbones import BACKBONES

    print(json.dumps([spec.describe() for spec in BACKBONES.values()], indent=1))
    return 0


def demo(args: argparse.Namespace) -> int:
    from core.data.demo import make_shapes_dataset

    print(make_shapes_dataset(args.out))
    return 0


# The whole-page and Space formats, each a module's exporter (run, out) -> result; any other --format is a list of
# model file formats for the bundle.
EXPORTERS = {"web": ("core.export.web", "export_web"), "space": ("core.export.space", "export_space")}


def export(args: argparse.Namespace) -> int:
    from core.export.bundle import export_run

    chosen = args.format.strip().lower()
    if chosen in EXPORTERS:
        module, name = EXPORTERS[chosen]
        exporter = getattr(importlib.import_module(module), name)
    else:
        def exporter(run, out):
            return export_run(run, out, args.format)
    print(json.dumps(exporter(args.run, args.out).to_dict(), indent=1), flush=True)
    return 0


def project(args: argparse.Namespace) -> int:
    from core.runstore.project import save_project
    from core.runstore.project_open import open_project

    if args.action == "save":
        print(json.dumps(save_project(args.runs, args.run_ids, args.out).to_dict(), indent=1))
    else:
        print(json.dumps(open_project(args.zip, args.runs, args.data_root).to_dict(), indent=1))
    return 0


def runs(args: argparse.Namespace) -> int:
    from core.runstore.table import mark_abandoned, run_records

    for run_id in mark_abandoned(args.runs):  # killed runs' folders (and their baselines') say so from now on
        print(f"{run_id}: marked failed (its training process is gone)", file=sys.stderr, flush=True)
    print(json.dumps([record.to_dict() for record in run_records(args.runs)], indent=1))
    return 0


def compare(args: argparse.Namespace) -> int:
    from core.evaluation.compare import RunDiff, compare_runs
    from core.runstore.table import locate_run

    for item in compare_runs(locate_run(args.runs, args.a), locate_run(args.runs, args.b), args.split):
        if isinstance(item, RunDiff):
            print(json.dumps(item.brief(), indent=1), flush=True)
    return 0
