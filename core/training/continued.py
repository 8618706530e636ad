"""`continue_run(run_dir)`: a run carried on in its own folder from its last state, after a crash or past its end."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterator

import torch

from core.config import TrainConfig, freeze_mode
from core.data.scan import DatasetIndex, index_from_split_record
from core.errors import CheckpointError, DatasetError
from core.events import Event, Message
from core.models.backbones import get_backbone
from core.models.classifier import build_classifier
from core.runstore.checkpoint import CheckpointMeta, load_checkpoint
from core.runstore.owner import ALIVE, owner_state, read_owner
from core.runstore.folder import RunFolder
from core.runstore.table import RunRecord, read_record
from core.system import resolve_device
from core.training.resume import CONTINUE_FROM_PEAK, ResumePoint, read_last
from core.training.rng import RunRandom, seeded
from core.training.stages import deep_classifier, top_classifier
from core.training.state import RunState
from core.training.trainer import drive


def continue_run(run_dir: str | Path, epochs: int | None = None, stop: threading.Event | None = None,
                 device: str | None = None, fresh_best: bool = False) -> Iterator[Event]:
    """Carry a run on in its own folder from its last state (last.pt), yielding events as `train` does.

    `epochs=None` resumes what a failed (crashed, killed) run had left of its plan, on its own schedule; a number
    continues a finished or stopped run for that many more epochs of its last stage, with its optimizer's state
    and a new short schedule (`core.training.resume`). The curves join the old ones (epochs and steps go on), and
    best.pt is replaced only by a better epoch; with `fresh_best`, by the best of the new epochs (its training
    pictures changed: the old best never saw them).
    """
    path = Path(run_dir)
    record = _may_continue(path, epochs)
    point = read_last(path)
    config, index = _read_run(path)
    config.device = device or "auto"  # the run may come from another machine (a project)
    planned = config.epochs
    _extend_plan(config, point, epochs, path.name, finished=record is not None and record.status == "finished")
    missing = [str(p) for split in index.splits.values() for p, _ in split if not p.exists()][:3]
    if missing:
        raise DatasetError(f"the pictures {path.name} trained on are no longer where they were (e.g. {missing[0]}).")
    device_ = resolve_device(config.device)
    model, random = _restored(path, config, len(index.classes), point, device_)
    _keep_newer_best(path, point)
    point.extra = epochs
    run = RunState(config, index, model, device_, path, stop or threading.Event(), random, resume=point,
                   best_acc=point.best_acc, best_loss=point.best_loss, best_epoch=point.best_epoch,
                   epochs_run=point.epoch, step=point.step, stage=point.stage, fresh_best=fresh_best)
    run.skipped = RunFolder(path).read_skipped()
    RunFolder(path).write_config(config.to_dict())
    run.write_summary("running")
    yield from drive(run, [Message(_how(config, point, epochs, planned))])


def _may_continue(path: Path, epochs: int | None) -> RunRecord | None:
    """The run's record, or a ValueError that says why it cannot be carried on now."""
    if epochs is not None and epochs < 1:
        raise ValueError("continue for at least one more epoch")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError("a run is continued in one process; start it without torchrun")
    record = read_record(path)
    if owner_state(path) == ALIVE:
        owner = read_owner(path) or {}
        raise ValueError(f"{path.name} is training now in process {owner.get('pid')}; stop it or wait until it ends.")
    if record is not None and record.status == "running":
        raise ValueError(f"{path.name} is training now; wait until it ends (a run whose process was killed counts "
                         "as failed ten minutes after its last step, and can then be resumed).")
    return record


def _read_run(path: Path) -> tuple[TrainConfig, DatasetIndex]:
    """The run's config and its split's images, or a DatasetError."""
    try:
        config = TrainConfig.from_dict(RunFolder(path).read_config())
        index = index_from_split_record(RunFolder(path).read_split_record())
    except (OSError, ValueError, KeyError, TypeError, DatasetError) as err:
        raise DatasetError(f"{path.name} lacks a readable config.json or split.json ({type(err).__name__}), "
                           "so it cannot be continued.") from None
    return config, index


def _extend_plan(config: TrainConfig, point: ResumePoint, epochs: int | None, name: str, finished: bool) -> None:
    """Set the epochs the carried-on run ends at: its own plan (resumed), or `epochs` more of its last stage and then
    a second stage it has not reached (continued)."""
    planned = config.epochs
    if epochs is None:
        if finished or point.epoch >= planned:
            raise ValueError(f"{name} has finished its plan ({point.epoch} of {planned} epochs, early stopping "
                             "included); say how many more epochs to continue it for.")
    elif freeze_mode(config.freeze).has_second_stage and point.stage == 1:  # N more head epochs, then stage 2
        config.when_solved = "continue"  # asked for more: a second stage skipped before runs this time
        second = planned - config.stage1_epochs
        config.stage1_epochs = point.epoch + epochs
        config.epochs = config.stage1_epochs + second
    else:
        config.epochs = point.epoch + epochs


# How a continued run goes on: on a cosine from where its learning rate ended, or at its constant one; then, for a
# run still in its head-only stage, its second stage (by freezing mode). Whole sentences, joined by a space.
CONTINUING = {
    True: "Continuing for {epochs} more epoch(s), from epoch {first}: at the same constant learning rate.",
    False: "Continuing for {epochs} more epoch(s), from epoch {first}: the learning rate starts where it ended (at "
           "least 1/{share:.0f} of its peak) and decays to zero on a cosine.",
}
THEN = {"top": "Then the second stage as planned (top layers, {epochs} epochs).",
        "two_stage": "Then the second stage as planned (every layer, {epochs} epochs).",
        "deep": "Then the later stages as planned (top layers, then deeper layers where the pictures need them; "
                "{epochs} epochs in all)."}


def _how(config: TrainConfig, point: ResumePoint, epochs: int | None, planned: int) -> str:
    """The log's first sentences: how the run goes on, and on which schedule."""
    if epochs is None:
        return f"Resuming from epoch {point.epoch + 1} of {planned}, on the schedule it was on."
    how = CONTINUING[config.scheduler == "none"].format(epochs=epochs, first=point.epoch + 1,
                                                        share=1 / CONTINUE_FROM_PEAK)
    if config.stage1_epochs is not None and point.stage == 1:
        how += " " + THEN[config.freeze].format(epochs=config.epochs - config.stage1_epochs)
    return how


def _restored(path: Path, config: TrainConfig, classes: int, point: ResumePoint, device: torch.device):
    """The model with last.pt's weights and the run's random streams as they were, or a CheckpointError."""
    frozen = point.part != "model"  # the bottom (or all) of the backbone as pretrained, the rest from last.pt
    with seeded(config.seed):  # the weights come from last.pt: initialising them must not draw from any stream
        model = build_classifier(config.backbone, classes, frozen, config.image_size, pretrained=frozen,
                                 head=config.head, hidden=config.hidden, dropout=config.dropout)
    random = RunRandom(config.seed, device)
    parts = {"head": lambda: model.head, "model": lambda: model,
             "top": lambda: top_classifier(model, get_backbone(config.backbone)),
             "deep": lambda: deep_classifier(model, get_backbone(config.backbone))}
    try:
        parts[point.part]().load_state_dict(point.weights)
        random.restore(point.rng, point.generator)
    except (RuntimeError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"the last state of {path.name} does not fit its model ({type(err).__name__}).") from None
    return model.to(device, memory_format=torch.channels_last), random


def _keep_newer_best(path: Path, point: ResumePoint) -> None:
    """A crash between writing best.pt and last.pt leaves best.pt an epoch ahead: its result is the one to beat."""
    try:
        best = CheckpointMeta.from_payload(load_checkpoint(RunFolder(path).best))
    except (OSError, CheckpointError):
        return
    if best.valid_acc is not None and (point.best_epoch is None or best.epoch > point.best_epoch):
        point.best_acc, point.best_epoch = best.valid_acc, best.epoch
        point.best_loss = best.valid_loss if best.valid_loss is not None else point.best_loss
