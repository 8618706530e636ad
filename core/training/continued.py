"""`continue_run(run_dir)`: a run carried on in its own folder from its last state, after a crash or past its end."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Iterator

import torch

from core.config import TrainConfig
from core.data.scan import index_from_split_record
from core.errors import CheckpointError, DatasetError
from core.events import Event, Message
from core.models.classifier import build_classifier
from core.system import resolve_device, write_json_atomic
from core.training.resume import CONTINUE_FROM_PEAK, read_last
from core.training.rng import RunRandom, seeded
from core.training.state import RunState
from core.training.trainer import drive


def continue_run(run_dir: str | Path, epochs: int | None = None, stop: threading.Event | None = None,
                 device: str | None = None) -> Iterator[Event]:
    """Carry a run on in its own folder from its last state (last.pt), yielding events as `train` does.

    `epochs=None` resumes what a failed (crashed, killed) run had left of its plan, on its own schedule; a number
    continues a finished or stopped run for that many more epochs of its last stage, with its optimizer's state
    and a new short schedule (`core.training.resume`). The curves join the old ones (epochs and steps go on), and
    best.pt is replaced only by a better epoch.
    """
    path = Path(run_dir)
    point = read_last(path)
    if epochs is not None and epochs < 1:
        raise ValueError("continue for at least one more epoch")
    try:
        config = TrainConfig.from_dict(json.loads((path / "config.json").read_text()))
        index = index_from_split_record(json.loads((path / "split.json").read_text()))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DatasetError(f"{path.name} lacks a readable config.json or split.json ({type(err).__name__}), "
                           "so it cannot be continued.") from None
    config.device = device or config.device
    planned = config.epochs
    if epochs is None and point.epoch >= planned:
        raise ValueError(f"{path.name} has trained all its {planned} epochs; say how many more to continue it for.")
    config.epochs = point.epoch + epochs if epochs is not None else planned
    missing = [str(p) for split in index.splits.values() for p, _ in split if not p.exists()][:3]
    if missing:
        raise DatasetError(f"the pictures {path.name} trained on are no longer where they were (e.g. {missing[0]}).")
    device_ = resolve_device(config.device)
    head_only = point.part == "head"
    with seeded(config.seed):  # the weights come from last.pt: initialising them must not draw from any stream
        model = build_classifier(config.backbone, len(index.classes), head_only, config.image_size,
                                 pretrained=head_only, head=config.head, hidden=config.hidden, dropout=config.dropout)
    try:
        (model.head if head_only else model).load_state_dict(point.weights)
    except RuntimeError as err:
        raise CheckpointError(f"the last state of {path.name} does not fit its model ({err})") from None
    model.to(device_, memory_format=torch.channels_last)
    random = RunRandom(config.seed, device_)
    random.restore(point.rng, point.generator)
    point.extra = epochs
    run = RunState(config, index, model, device_, path, stop or threading.Event(), random, resume=point,
                   best_acc=point.best_acc, best_loss=point.best_loss, best_epoch=point.best_epoch,
                   epochs_run=point.epoch, step=point.step, stage=point.stage)
    run.skipped = _read_skipped(path)
    write_json_atomic(path / "config.json", config.to_dict())
    run.write_summary("running")
    how = (f"Resuming from epoch {point.epoch + 1} of {planned}, on the schedule it was on." if epochs is None else
           f"Continuing for {epochs} more epoch(s), from epoch {point.epoch + 1}: " + _continued_schedule(config))
    yield from drive(run, [Message(how)])


def _continued_schedule(config: TrainConfig) -> str:
    if config.scheduler == "none":
        return "at the same constant learning rate."
    return (f"the learning rate starts where it ended (at least 1/{1 / CONTINUE_FROM_PEAK:.0f} of its peak) and "
            "decays to zero on a cosine.")


def _read_skipped(path: Path) -> dict[str, str]:
    try:
        return {item["path"]: item["reason"] for item in json.loads((path / "skipped.json").read_text())}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
