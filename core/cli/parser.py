"""The command line's parser: one table of subcommands (what each does, its arguments, whether it runs torch)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

from core.cli import dataset_map, field, tools, training
from core.cli.flags import add_config_arguments, field_help
from core.config import TrainConfig
from core.models.backbones import BACKBONES

Arguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    """One subcommand: the function that runs it, its one-line help, its arguments, and whether it runs torch (which
    then gets its threads, once per process, before)."""

    run: Callable[[argparse.Namespace], int]
    help: str
    arguments: Arguments
    torch: bool = True


def _train(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--continue", dest="resume", metavar="RUN", help=(
        "carry on a run folder from its last epoch, instead of starting one: with --epochs N, N more epochs "
        "(a finished or stopped run); without, the rest of its plan (a failed run); --device may change too, the "
        "rest of its settings stay its own"))
    next(a for a in parser._actions if a.dest == "data").required = False  # --continue reads the run's own


def _lr_find(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--steps", type=int, default=100, help="learning rates tried")


def _predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder (or its best.pt)")
    parser.add_argument("-k", type=int, default=3, help="how many classes to show")
    parser.add_argument("images", nargs="*", help="picture files")
    parser.add_argument("--folder", help="predict every picture under this folder instead, as one CSV")
    parser.add_argument("--csv", help="with --folder: write the CSV here (default: standard output)")


def _split(parser: argparse.ArgumentParser, whose: str) -> None:
    parser.add_argument("--split", default="valid", choices=["valid", "test"],
                        help=f"{whose} own validation images (from split.json), or the dataset's test/ folder")


def _runs_folder(parser: argparse.ArgumentParser, help: str = "folder of run folders (train's --out)") -> None:
    parser.add_argument("--runs", default="runs", help=help)


def _evaluate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder")
    _split(parser, "the run's")


def _dataset(parser: argparse.ArgumentParser) -> None:
    """The dataset folder and how its validation images are drawn, as `train` takes them."""
    parser.add_argument("--data", required=True, help=field_help("data"))
    parser.add_argument("--valid-fraction", type=float, default=TrainConfig.valid_fraction,
                        help=field_help("valid_fraction"))
    parser.add_argument("--seed", type=int, default=TrainConfig.seed, help=field_help("seed"))


def _check(parser: argparse.ArgumentParser) -> None:
    _dataset(parser)
    parser.add_argument("--cache", default=None, help="folder for the check's memory of files (default: user cache)")


def _audit(parser: argparse.ArgumentParser) -> None:
    _dataset(parser)
    parser.add_argument("--backbone", default=TrainConfig.backbone, choices=list(BACKBONES),
                        help="pretrained backbone whose features the audit reads")
    parser.add_argument("--top", type=int, default=50, help="at most this many suspects and duplicate groups")


def _demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="data/shapes")


def _export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder")
    parser.add_argument("--format", default="onnx,torchscript",
                        help="onnx, torchscript or both (comma-separated): model files and predict.py in one .zip; "
                             "web: a page that classifies in the visitor's browser (a .zip); space: a Hugging Face "
                             "Space folder")
    parser.add_argument("--out", help="the .zip (or, for space, the folder) to write (default: under <run "
                                      "folder>/export/)")


def _project(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    save = actions.add_parser("save", help="write the runs and every image their splits use into one .zip")
    _runs_folder(save)
    save.add_argument("--out", required=True, help="the .zip to write")
    save.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="runs to save (folder names in --runs)")
    opener = actions.add_parser("open", help="unpack a saved project: its runs and datasets, relocated")
    opener.add_argument("zip", help="the project .zip")
    _runs_folder(opener, "folder of run folders to add the runs to")
    opener.add_argument("--data-root", default="data", help="datasets go to <data root>/datasets/<name>")


def _compare(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", help="run A: a run id in --runs, or a run folder")
    parser.add_argument("b", help="run B: a run id in --runs, or a run folder")
    _runs_folder(parser)
    _split(parser, "the runs'")


COMMANDS: dict[str, Command] = {
    "train": Command(training.train, "train a run; prints one JSON line per epoch, then a summary line", _train),
    "predict": Command(tools.predict, "top-k classes for images; one JSON line per image", _predict),
    "evaluate": Command(tools.evaluate, "metrics of a run on its validation (or test) images, as JSON", _evaluate),
    "check": Command(tools.check, "health report of a dataset folder; prints one JSON object", _check, torch=False),
    "backbones": Command(tools.backbones, "the backbone registry as JSON (size, offline availability)",
                         lambda parser: None, torch=False),
    "plan": Command(training.plan, "the recipe a train command would use, why, and the model summary, as JSON",
                    add_config_arguments),
    "lr-find": Command(training.lr_find, "learning-rate finder: loss against learning rate and a suggestion, as JSON",
                       _lr_find),
    "demo-data": Command(tools.demo, "write the generated shapes dataset", _demo, torch=False),
    "export": Command(tools.export, "a run as one .zip (ONNX/TorchScript, predict.py, model card), a web page or a "
                                    "Space folder, checked against the app on every validation image; prints JSON",
                      _export),
    "project": Command(tools.project, "save runs and their images as one .zip, or open one; prints JSON", _project,
                       torch=False),
    "runs": Command(tools.runs, "every run folder (settings, result, status, name, note), newest first, as JSON",
                    _runs_folder, torch=False),
    "compare": Command(tools.compare, "run B against run A on the same images: what it fixed and broke, as JSON",
                       _compare),
    "field": Command(field.field, "pictures kept from use in the order to review them, and verdicts on them (right, "
                                  "unknown, a class: filed into a dataset), as JSON", field.arguments),
    "audit": Command(tools.audit, "likely mislabelled pictures, shortcuts, outliers, near-duplicates and how many "
                                  "more pictures each class needs; prints one JSON object", _audit),
    "map": Command(dataset_map.data_map, "every picture of a dataset placed by what a model sees in it, with its class "
                                         "and flags (likely mislabelled, outlier, near-duplicate, a run's mistakes), "
                                         "as JSON", dataset_map.arguments),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Transfer Studio, headless")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        command.arguments(sub.add_parser(name, help=command.help))
    return parser
