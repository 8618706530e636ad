"""The one epoch loop every stage runs (`fit`): train, validate with `evaluate`, keep the best, stop early."""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Generator, Iterator

import numpy as np
import torch
from torch import nn

from core.config import freeze_mode
from core.events import EpochDone, Event, Message
from core.runstore.folder import RunFolder
from core.system import autocast, autocast_dtype
from core.training.batches import class_weights, steps_per_epoch
from core.training.escalation import EpochPoint
from core.training.optim import PacedSchedule, make_optimizer, make_scheduler
from core.training.resume import continuation_factor, continuation_lr
from core.training.stages import Stage
from core.training.state import Batches, RunState, Validation
from core.training.step import micro_batch, optimizer_step


@dataclass
class Fit:
    """What one stage trains with: its module (wrapped for data-parallel runs), optimizer, schedule, loss (with the
    class weights it may use) and loss scaler."""

    stage: Stage
    module: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: PacedSchedule
    loss_fn: nn.Module
    weight: torch.Tensor | None
    scaler: torch.amp.GradScaler


@dataclass
class Tally:
    """One epoch's training images, right answers and summed loss."""

    seen: int = 0
    correct: int = 0
    loss_sum: float = 0.0

    def add(self, images: int, hits: int, mean_loss: float) -> None:
        self.seen += images
        self.correct += hits
        self.loss_sum += mean_loss * images


def fit(run: RunState, stage: Stage) -> Iterator[Event]:
    """The epoch loop shared by every stage: `stage.module` maps a batch to logits."""
    cfg = run.config
    optimizer = make_optimizer(cfg.optimizer, stage.groups, cfg.weight_decay)
    per_epoch = steps_per_epoch(stage.images(), cfg.batch)
    labels = torch.tensor([label for _, label in run.index.splits["train"]])
    weight = class_weights(labels, len(run.index.classes)).to(run.device) if cfg.balance == "weights" else None
    module = run.cluster.wrap(stage.module, run.device)  # DDP averages gradients across processes
    schedule = _schedule(run, stage, optimizer, per_epoch)
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing, reduction="sum")
    dtype = autocast_dtype(run.device)  # bf16 (or fp16 with a loss scaler) on CUDA, fp32 on CPU
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    run.begin_stage(stage.number, max(1, stage.epochs * per_epoch))
    try:
        yield from _epochs(run, Fit(stage, module, optimizer, schedule, loss_fn, weight, scaler))
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


def _epochs(run: RunState, fit: Fit) -> Iterator[Event]:
    """The stage's epochs: train, validate, keep the best, stop early when validation stops improving."""
    stage = fit.stage
    resumed = run.resume is not None and run.resume.stage == stage.number and run.resume.extra is None
    first_epoch, since_best = run.epochs_run + 1, run.resume.since_best if resumed else 0  # a continuation: afresh
    last_epoch = first_epoch + stage.epochs - 1
    for epoch in range(first_epoch, last_epoch + 1):
        tally = yield from _train_epoch(run, fit, epoch, last_epoch - epoch + 1)
        if run.stop.is_set() and (run.best_epoch is not None or tally.seen == 0):
            return
        if tally.seen == 0:
            raise RuntimeError("no training image could be read; see the skipped files in the log")
        since_best = yield from _validate(run, fit, epoch, epoch - first_epoch + 1, tally, since_best)
        if run.stop.is_set():
            return
        if run.config.patience and since_best >= run.config.patience and epoch < last_epoch:
            yield run.emit(_stopping_early(run, stage, since_best, last_epoch - epoch))
            return


def _train_epoch(run: RunState, fit: Fit, epoch: int, epochs_left: int) -> Generator[Event, None, Tally]:
    """One epoch of training steps; a CUDA out-of-memory error halves the batch and starts the epoch over."""
    fit.module.train()
    while True:
        tally = yield from _steps(run, fit, epoch)
        if tally is not None:
            return tally
        fit.optimizer.zero_grad(set_to_none=True)
        yield run.emit(_halve_batch(run, fit.stage, epochs_left))
        clock = run.clocks[fit.stage.number]
        fit.schedule.spread_over(clock.steps - clock.done)


def _steps(run: RunState, fit: Fit, epoch: int) -> Generator[Event, None, Tally | None]:
    """The epoch's steps, until its batches end or the run is stopped; None where the GPU ran out of memory (the
    step's tensors go with this frame before the batch is halved)."""
    tally, stage = Tally(), fit.stage
    with run.random.active():  # drawing a batch augments its images: the run's own random stream
        batches = iter(stage.train_batches())
    while True:
        with run.random.active():
            x, y, bad = next(batches, (None, None, None))
        if bad is None:
            return tally
        yield from run.note_skipped(bad)
        if run.stop.is_set():
            return tally
        if x is None:
            continue
        x, y = x.to(run.device, non_blocking=True), y.to(run.device, non_blocking=True)
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        try:
            with run.timed_step(), run.random.active():  # dropout and drop-connect draw too
                micro = micro_batch(run.device, fit.module) if stage.part == "model" else None
                logits, loss = optimizer_step(fit.module, fit.optimizer, fit.scaler, fit.loss_fn, fit.weight, x, y,
                                              micro)
        except torch.cuda.OutOfMemoryError:
            return None
        lr = fit.optimizer.param_groups[0]["lr"]
        fit.schedule.step()
        hits = (logits.argmax(1) == y).sum().item()
        tally.add(len(y), hits, loss.item())
        yield run.emit(run.step_done(epoch, len(y), loss.item(), hits / len(y), lr, stage.part == "head"))


def _validate(run: RunState, fit: Fit, epoch: int, stage_epoch: int, tally: Tally,
              since_best: int) -> Generator[Event, None, int]:
    """Validate after an epoch, keep the best and the last state, report the epoch; the epochs since the best."""
    stage = fit.stage
    validation = evaluate(stage.module, stage.valid_batches, run.device)
    valid_loss, valid_acc = validation.loss, validation.accuracy
    yield from run.note_skipped(validation.skipped)
    run.epochs_run = epoch
    run.curve.append(EpochPoint(stage.number, tally.correct / tally.seen, valid_acc))
    is_best = run.fresh_best or valid_acc > run.best_acc or (valid_acc == run.best_acc and valid_loss < run.best_loss)
    run.fresh_best = False
    since_best = 0 if is_best else since_best + 1
    if is_best:
        run.save(epoch, validation)
    run.save_last(epoch, stage.number, stage.done_before + stage_epoch, stage.module, stage.part, fit.optimizer,
                  fit.schedule, since_best)
    yield run.emit(EpochDone(
        epoch=epoch, step=run.step, train_loss=tally.loss_sum / tally.seen, train_acc=tally.correct / tally.seen,
        valid_loss=valid_loss, valid_acc=valid_acc, is_best=is_best, elapsed_s=run.elapsed(),
        eta_s=run.seconds_left(run.stage),  # after its validation and checkpoints, which its steps' pace leaves out
    ))
    return since_best


STOPPING_EARLY = {  # whether a second stage follows -> the sentence
    True: "No better validation result for {epochs} epochs: the head-only stage ends here ({left} of its epochs left "
          "out).",
    False: "No better validation result for {epochs} epochs: stopping early; the best model is kept ({left} of its "
           "epochs left out).",
}


def _stopping_early(run: RunState, stage: Stage, since_best: int, left: int) -> Message:
    second = stage.number == 1 and freeze_mode(run.config.freeze).has_second_stage
    return Message(STOPPING_EARLY[second].format(epochs=since_best, left=left))


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
