"""`train(config)`: a generator of typed events that trains, validates and checkpoints one run.

Every freezing mode is a list of stages (core.training.stages) over one epoch loop (`_fit`); `evaluate` is the one
validation pass every stage uses.
"""
from __future__ import annotations

import contextlib
import errno
import math
import sqlite3
import threading
import time
import warnings
from dataclasses import replace
from typing import Iterator

import numpy as np
import torch
from torch import nn

from core.config import TrainConfig, freeze_mode
from core.data.scan import scan_dataset
from core.errors import DiskFull
from core.events import EpochDone, Event, Message, RunStarted
from core.models.classifier import build_classifier
from core.runstore.owner import claim, release
from core.runstore.folder import RunFolder
from core.runstore.table import new_run_dir
from core.system import autocast, autocast_dtype, resolve_device
from core.training.batches import class_weights, steps_per_epoch
from core.training.distributed import join
from core.training.optim import PacedSchedule, make_optimizer, make_scheduler
from core.training.recipes import plan, train_counts
from core.training.resume import continuation_factor, continuation_lr
from core.training.rng import RunRandom
from core.training.stages import Stage, plan_clocks, stages
from core.training.state import Batches, RunState, Validation
from core.training.step import micro_batch, optimizer_step


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
    n_valid = len(index.splits["valid"])
    intro = [Message(recipe.reason)]
    if cluster.active:
        intro.append(Message(f"Data-parallel over {cluster.world} processes "
                             f"({torch.distributed.get_backend()}): {config.batch} images per step each."))
    if index.layout != "split":
        intro.append(Message(
            f"No valid/ folder: {n_valid} images ({config.valid_fraction:.0%} of each class, "
            f"seed {config.seed}) are held out for validation; the split is saved in split.json."
        ))
    if run.skipped:
        intro.append(Message(f"{len(run.skipped)} file(s) are not used: not images, or outside the class folders "
                             "(see skipped.json).", level="warning"))
    try:
        yield from drive(run, intro)
    finally:
        cluster.cleanup(runs_dir)


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
                yield from _fit(run, item)
        yield run.emit(run.finished(stopped=run.stop.is_set()))
    except (GeneratorExit, KeyboardInterrupt):  # closed by its consumer, or Ctrl+C in a terminal
        RunFolder(path).log({"event": "RunClosed", "epochs_run": run.epochs_run})
        if run.best_epoch is not None:
            run.close("stopped")
        raise
    except Exception as err:
        if not _disk_full(err):
            RunFolder(path).log({"event": "RunFailed", "error": f"{type(err).__name__}: {err}"})
            if run.best_epoch is not None:
                run.close("failed")
            raise
        full = DiskFull(run.epochs_run, run.best_epoch)
        _record_failure(run, str(full))
        raise full from err
    finally:
        release(path)


def _disk_full(err: BaseException) -> bool:
    if isinstance(err, sqlite3.OperationalError):  # a cache (features, activations) that found no room
        return getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)


def _record_failure(run: RunState, sentence: str) -> None:
    """Log the failure and mark the summary failed, as far as a full disk lets: each write is atomic, so one that
    finds no room leaves the file as it was."""
    with contextlib.suppress(OSError):
        RunFolder(run.path).log({"event": "RunFailed", "error": sentence})
    if run.best_epoch is not None:
        with contextlib.suppress(OSError):
            run.close("failed")
            RunFolder(run.path).update_summary(error=sentence)


def _fit(run: RunState, stage: Stage) -> Iterator[Event]:
    """The epoch loop shared by every stage: `stage.module` maps a batch to logits."""
    cfg = run.config
    optimizer = make_optimizer(cfg.optimizer, stage.groups, cfg.weight_decay)
    module = run.cluster.wrap(stage.module, run.device)  # DDP averages gradients across processes
    per_epoch = steps_per_epoch(stage.images(), cfg.batch)
    stage_steps = max(1, stage.epochs * per_epoch)
    schedule = _schedule(run, stage, optimizer, per_epoch)
    labels = torch.tensor([label for _, label in run.index.splits["train"]])
    weight = class_weights(labels, len(run.index.classes)).to(run.device) if cfg.balance == "weights" else None
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing, reduction="sum")
    dtype = autocast_dtype(run.device)  # bf16 (or fp16 with a loss scaler) on CUDA, fp32 on CPU
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    run.begin_stage(stage.number, stage_steps)
    try:
        yield from _epochs(run, stage, module, optimizer, schedule, loss_fn, weight, scaler)
    finally:  # finished, stopped early or stopped by the user: the stage has no steps left
        run.clocks[stage.number].steps = run.clocks[stage.number].done


def _schedule(run: RunState, stage: Stage, optimizer, per_epoch: int) -> PacedSchedule:
    """The stage's learning-rate schedule: the configured one over its steps; where a finished run continues, its
    optimizer's state and a new short decay from its last learning rate (`resume`); where a failed run resumes,
    the schedule it was on (configured or continued), where it was, and its optimizer's state."""
    cfg, point = run.config, run.resume
    point = point if point is not None and point.stage == stage.number else None
    if point is not None and point.extra is not None:  # continued: moments kept, a new short schedule
        peaks = [group["lr"] for group in optimizer.param_groups]
        optimizer.load_state_dict(point.optimizer)
        for group, peak in zip(optimizer.param_groups, peaks):
            group["lr"] = continuation_lr(cfg.scheduler, group["lr"], peak)
            group.pop("initial_lr", None)
        steps = max(1, stage.epochs * per_epoch)
        factor = continuation_factor(cfg.scheduler, steps)
        return PacedSchedule(torch.optim.lr_scheduler.LambdaLR(optimizer, factor), steps, continued=True)
    if point is None:
        total = max(1, stage.epochs * per_epoch)
        return PacedSchedule(make_scheduler(cfg.scheduler, optimizer, total), total)
    if point.continued:  # its state holds the continuation's starting LRs as the schedule's base
        optimizer.load_state_dict(point.optimizer)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, continuation_factor(cfg.scheduler, point.total))
    else:
        scheduler = make_scheduler(cfg.scheduler, optimizer, point.total)
    schedule = PacedSchedule(scheduler, point.total, per_step=point.per_step, continued=point.continued)
    with warnings.catch_warnings():  # the steps it took, taken again before this optimizer's first
        warnings.simplefilter("ignore", UserWarning)
        schedule.advance_to(point.position)
    optimizer.load_state_dict(point.optimizer)
    return schedule


def _epochs(run: RunState, stage: Stage, module, optimizer, schedule: PacedSchedule, loss_fn, weight,
            scaler) -> Iterator[Event]:
    """The stage's epochs: train, validate, keep the best, stop early when validation stops improving."""
    cfg = run.config
    resumed = run.resume is not None and run.resume.stage == stage.number and run.resume.extra is None
    first_epoch, since_best = run.epochs_run + 1, run.resume.since_best if resumed else 0  # a continuation: afresh
    for epoch in range(first_epoch, first_epoch + stage.epochs):
        module.train()
        out_of_memory = True
        while out_of_memory:  # a CUDA out-of-memory error halves the batch and starts the epoch over
            seen = correct = 0
            loss_sum, out_of_memory = 0.0, False
            with run.random.active():  # drawing a batch augments its images: the run's own random stream
                batches = iter(stage.train_batches())
            while True:
                with run.random.active():
                    x, y, bad = next(batches, (None, None, None))
                if bad is None:
                    break
                yield from run.note_skipped(bad)
                if run.stop.is_set():
                    break
                if x is None:
                    continue
                x, y = x.to(run.device, non_blocking=True), y.to(run.device, non_blocking=True)
                if x.dim() == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                try:
                    with run.timed_step(), run.random.active():  # dropout and drop-connect draw too
                        micro = micro_batch(run.device, module) if stage.part == "model" else None
                        logits, loss = optimizer_step(module, optimizer, scaler, loss_fn, weight, x, y, micro)
                except torch.cuda.OutOfMemoryError:
                    x = y = logits = loss = None
                    out_of_memory = True
                    break
                lr = optimizer.param_groups[0]["lr"]
                schedule.step()
                hits = (logits.argmax(1) == y).sum().item()
                seen, correct, loss_sum = seen + len(y), correct + hits, loss_sum + loss.item() * len(y)
                yield run.emit(run.step_done(epoch, len(y), loss.item(), hits / len(y), lr, stage.part == "head"))
            if out_of_memory:
                optimizer.zero_grad(set_to_none=True)
                yield run.emit(_halve_batch(run, stage, first_epoch + stage.epochs - epoch))
                clock = run.clocks[stage.number]
                schedule.spread_over(clock.steps - clock.done)
        if run.stop.is_set() and run.best_epoch is not None:
            return
        if seen == 0:
            if run.stop.is_set():
                return
            raise RuntimeError("no training image could be read; see the skipped files in the log")
        validation = evaluate(stage.module, stage.valid_batches, run.device)
        valid_loss, valid_acc = validation.loss, validation.accuracy
        yield from run.note_skipped(validation.skipped)
        run.epochs_run = epoch
        is_best = valid_acc > run.best_acc or (valid_acc == run.best_acc and valid_loss < run.best_loss)
        since_best = 0 if is_best else since_best + 1
        if is_best:
            run.save(epoch, validation)
        run.save_last(epoch, stage.number, stage.done_before + epoch - first_epoch + 1, stage.module, stage.part,
                      optimizer, schedule, since_best)
        yield run.emit(EpochDone(
            epoch=epoch, step=run.step, train_loss=loss_sum / seen, train_acc=correct / seen,
            valid_loss=valid_loss, valid_acc=valid_acc, is_best=is_best, elapsed_s=run.elapsed(),
        ))
        if run.stop.is_set():
            return
        left = first_epoch + stage.epochs - 1 - epoch
        if cfg.patience and since_best >= cfg.patience and left:
            ending = ("the head-only stage ends here" if stage.number == 1 and freeze_mode(cfg.freeze).has_second_stage
                      else "stopping early; the best model is kept")
            yield run.emit(Message(f"No better validation result for {since_best} epochs: {ending} "
                                   f"({left} of its epochs left out)."))
            return


def _halve_batch(run: RunState, stage: Stage, epochs_left: int) -> Message:
    """After a CUDA out-of-memory error: half the batch size from now on, or give up below 2 images.

    The steps left are recounted from the images this process really uses (its share, unreadable files left out).
    """
    old = run.config.batch
    if old < 4:
        raise RuntimeError(f"the GPU ran out of memory even with {old} images per step; choose a smaller image "
                           "size or backbone, or train on the CPU")
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    run.config.batch = old // 2  # the stage's batch makers read it at the start of every epoch
    clock = run.clocks[stage.number]  # this epoch and the rest, recounted; the steps already taken stand
    clock.steps = clock.done + epochs_left * steps_per_epoch(stage.images(), old // 2)
    clock.pace_from(time.perf_counter())
    RunFolder(run.path).write_config(run.config.to_dict())
    return Message(f"The GPU ran out of memory at {old} images per step: continuing with {old // 2} "
                   "(this epoch starts over; config.json has the new batch size).", level="warning")


def evaluate(module: nn.Module, batches: Batches, device: torch.device) -> Validation:
    """Mean plain cross-entropy and accuracy over `batches` (eval mode, no autograd), the logits and labels (for
    calibrating the checkpoint's confidence), and the files skipped."""
    module.eval()
    seen = correct = 0
    loss_sum = 0.0
    skipped: list[str] = []
    all_logits, all_labels = [], []
    with torch.inference_mode():
        for x, y, bad in batches():
            skipped += bad
            if x is None:
                continue
            x, y = x.to(device), y.to(device)
            if x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast(device):
                logits = module(x).float()
            loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
            all_logits.append(logits.cpu().numpy())
            all_labels.append(y.cpu().numpy())
    module.train()
    loss, acc = (loss_sum / seen, correct / seen) if seen else (math.inf, 0.0)
    logits = np.concatenate(all_logits) if all_logits else np.zeros((0, 0), np.float32)
    labels = np.concatenate(all_labels) if all_labels else np.zeros(0, np.int64)
    return Validation(loss, acc, logits, labels, skipped)
