"""`train(config)`: a generator of typed events that trains, validates and checkpoints one run.

`train` sets a run up (dataset, recipe, model, run folder); `drive` announces it, runs its stages (core.training.stages)
over the one epoch loop (core.training.epochs) and records how it ended (core.training.ending).
"""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import Iterator

import torch

from core.config import TrainConfig, freeze_mode
from core.data.scan import scan_dataset
from core.events import Event, Message, RunStarted
from core.models.classifier import build_classifier
from core.runstore.folder import RunFolder
from core.runstore.owner import claim, release
from core.runstore.table import new_run_dir
from core.system import resolve_device
from core.training.batches import steps_per_epoch
from core.training.distributed import join
from core.training.ending import record_closed, record_failure
from core.training.epochs import fit
from core.training.recipes import plan, train_counts
from core.training.rng import RunRandom
from core.training.stages import Stage, plan_clocks, stages
from core.training.state import RunState


def train(config: TrainConfig, stop: threading.Event | None = None) -> Iterator[Event]:
    """Train one run, yielding events; set `stop` (or close the generator) to end it between steps.

    Process-wide torch settings (threads, cuDNN) are the caller's, once at start-up (`core.system.configure_torch`);
    the run's random numbers come from its own stream (`core.training.rng`), so a run in another thread never
    changes this one's curves.
    """
    config.validate()
    index = scan_dataset(config.data, config.valid_fraction, config.seed)
    cluster = join(config.device)  # under torchrun: this process's share of a data-parallel run
    device = cluster.device(resolve_device(config.device))
    recipe = cluster.same_everywhere(plan(config, train_counts(index), device.type, len(index.splits["valid"])))
    config = recipe.config
    if cluster.active and config.balance == "sampler":  # each process draws from its own share instead
        config = replace(config, balance="weights")
    random = RunRandom(config.seed, device)
    with random.active():
        model = build_classifier(config.backbone, len(index.classes), freeze_mode(config.freeze).starts_frozen,
                                 config.image_size, head=config.head, hidden=config.hidden, dropout=config.dropout)
    model.to(device, memory_format=torch.channels_last)
    runs_dir = cluster.scratch_dir(config.out)
    path = new_run_dir(runs_dir, config.backbone)
    RunFolder(path).write_config(config.to_dict())
    RunFolder(path).write_split(index.to_split_record())
    run = RunState(config, index, model, device, path, stop or threading.Event(), random, cluster)
    run.skipped = {str(p): reason for p, reason in index.unused.items()}
    run.write_skipped()
    try:
        yield from drive(run, _intro(run, recipe.reason))
    finally:
        cluster.cleanup(runs_dir)


def _intro(run: RunState, reason: str) -> list[Event]:
    """What the log says before the first epoch: the recipe and why, then how the run is spread and what it holds
    out or leaves out."""
    config, index, cluster = run.config, run.index, run.cluster
    intro = [Message(reason)]
    if cluster.active:
        intro.append(Message(f"Data-parallel over {cluster.world} processes "
                             f"({torch.distributed.get_backend()}): {config.batch} images per step each."))
    if index.layout != "split":
        intro.append(Message(
            f"No valid/ folder: {len(index.splits['valid'])} images ({config.valid_fraction:.0%} of each class, "
            f"seed {config.seed}) are held out for validation; the split is saved in split.json."
        ))
    if run.skipped:
        intro.append(Message(f"{len(run.skipped)} file(s) are not used: not images, or outside the class folders "
                             "(see skipped.json).", level="warning"))
    return intro


def drive(run: RunState, intro: list[Event]) -> Iterator[Event]:
    """Announce the run, train its stages, and record how it ended (finished, stopped, closed or failed)."""
    config, index, path = run.config, run.index, run.path
    plan_clocks(run)
    n_train, n_valid = len(index.splits["train"]), len(index.splits["valid"])
    try:
        claim(path)  # owner.json: while this process lives, the run is training (core.runstore.owner)
        yield run.emit(RunStarted(
            run_id=path.name, run_dir=str(path), classes=index.classes, train_size=n_train, valid_size=n_valid,
            epochs=config.epochs, steps_per_epoch=steps_per_epoch(n_train // run.cluster.world, config.batch),
            device=str(run.device), mode=config.freeze, config=config.to_dict(), first_epoch=run.epochs_run + 1,
            first_step=run.step,
        ))
        for event in intro:
            yield run.emit(event)
        for item in stages(run):
            if not isinstance(item, Stage):
                yield item
            elif not run.stop.is_set():
                yield from fit(run, item)
        yield run.emit(run.finished(stopped=run.stop.is_set()))
    except (GeneratorExit, KeyboardInterrupt):  # closed by its consumer, or Ctrl+C in a terminal
        record_closed(run)
        raise
    except Exception as err:
        full = record_failure(run, err)
        if full is None:
            raise
        raise full from err
    finally:
        release(path)


