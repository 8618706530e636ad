"""`train(config)`: a generator of typed events that trains, validates and checkpoints one run.

Every freezing mode is a list of stages over one epoch loop: frozen = the head on features computed once;
finetune = every layer on images; two_stage = the first, then (after one switch) the second at 1/100 of the LR.
"""
from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, replace
from typing import Iterator

import torch
from torch import nn

from core.config import TrainConfig
from core.data.scan import scan_dataset
from core.events import EpochDone, Event, FeaturesProgress, Message, RunStarted, StageStarted
from core.models.backbones import get_backbone
from core.models.classifier import build_classifier
from core.runs.checkpoint import load_checkpoint
from core.runs.store import CHECKPOINT_NAME, append_jsonl, new_run_dir
from core.system import autocast, autocast_dtype, cpu_threads, resolve_device, write_json_atomic
from core.training.batches import class_weights, feature_batches, image_batches, steps_per_epoch
from core.training.distributed import join
from core.training.features import FeatureSet, dataset_features
from core.training.optim import make_optimizer, make_scheduler
from core.training.recipes import BACKBONE_LR_FACTOR, STAGE2_LR_FACTOR, plan, train_counts
from core.training.state import Batches, RunState
from core.training.step import micro_batch, optimizer_step


@dataclass
class Stage:
    """Which module trains on which batches, for how many epochs, with which parameter groups (peak LRs)."""

    number: int
    name: str
    epochs: int
    module: nn.Module
    groups: list[dict]
    train_batches: Batches
    valid_batches: Batches
    steps_per_epoch: int


def train(config: TrainConfig, stop: threading.Event | None = None) -> Iterator[Event]:
    """Train one run, yielding events; set `stop` (or close the generator) to end it between steps."""
    config.validate()
    index = scan_dataset(config.data, config.valid_fraction, config.seed)
    cluster = join(config.device)  # under torchrun: this process's share of a data-parallel run
    device = cluster.device(resolve_device(config.device))
    if device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:  # the cores this process may use, shared
        torch.set_num_threads(max(1, cpu_threads() // cluster.world))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input size: let cuDNN pick its fastest kernels once
    recipe = plan(config, train_counts(index), device.type)
    config = recipe.config
    if cluster.active and config.balance == "sampler":  # each process draws from its own share instead
        config = replace(config, balance="weights")
    torch.manual_seed(config.seed)
    model = build_classifier(config.backbone, len(index.classes), config.freeze != "finetune", config.image_size,
                             head=config.head, hidden=config.hidden, dropout=config.dropout)
    model.to(device, memory_format=torch.channels_last)
    runs_dir = cluster.scratch_dir(config.out)
    path = new_run_dir(runs_dir, config.backbone)
    write_json_atomic(path / "config.json", config.to_dict())
    write_json_atomic(path / "split.json", index.to_split_record())
    run = RunState(config, index, model, device, path, stop or threading.Event(), cluster)
    run.skipped = {str(p): reason for p, reason in index.unused.items()}
    run.write_skipped()
    n_train, n_valid = len(index.splits["train"]), len(index.splits["valid"])
    epoch_steps = steps_per_epoch(n_train // cluster.world, config.batch)
    run.total_steps = config.epochs * epoch_steps
    try:
        yield run.emit(RunStarted(
            run_id=path.name, run_dir=str(path), classes=index.classes, train_size=n_train, valid_size=n_valid,
            epochs=config.epochs, steps_per_epoch=epoch_steps, device=str(device), mode=config.freeze,
            config=config.to_dict(),
        ))
        yield run.emit(Message(recipe.reason))
        if cluster.active:
            yield run.emit(Message(f"Data-parallel over {cluster.world} processes "
                                   f"({torch.distributed.get_backend()}): {config.batch} images per step each."))
        if index.layout != "split":
            yield run.emit(Message(
                f"No valid/ folder: {n_valid} images ({config.valid_fraction:.0%} of each class, "
                f"seed {config.seed}) are held out for validation; the split is saved in split.json."
            ))
        if run.skipped:
            yield run.emit(Message(f"{len(run.skipped)} file(s) are not used: not images, or outside the class folders "
                                   "(see skipped.json).", level="warning"))
        for item in _stages(run):
            if not isinstance(item, Stage):
                yield item
            elif not run.stop.is_set():
                yield from _fit(run, item)
        yield run.emit(run.finished(stopped=run.stop.is_set()))
    except GeneratorExit:
        append_jsonl(path / "metrics.jsonl", {"event": "RunClosed", "epochs_run": run.epochs_run})
        if run.best_epoch is not None:
            run.write_summary("stopped")
        raise
    except Exception as err:
        append_jsonl(path / "metrics.jsonl", {"event": "RunFailed", "error": f"{type(err).__name__}: {err}"})
        if run.best_epoch is not None:
            run.write_summary("failed")
        raise
    finally:
        cluster.cleanup(runs_dir)


def _stages(run: RunState) -> Iterator[Stage]:
    """The run's stages, built lazily: a stage's data is prepared only when the previous one has finished."""
    cfg, model = run.config, run.model
    if cfg.freeze == "finetune":
        backbone_lr = cfg.lr * (BACKBONE_LR_FACTOR if get_backbone(cfg.backbone).pretrained else 1.0)
        groups = [{"params": list(model.head.parameters()), "lr": cfg.lr},
                  {"params": list(model.backbone.parameters()), "lr": backbone_lr}]
        yield Stage(1, "every layer", cfg.epochs, model, groups, *image_batches(run))
        return
    features = yield from _features(run)
    if features is None:
        return
    head_epochs = cfg.epochs if cfg.freeze == "frozen" else cfg.stage1_epochs
    yield Stage(1, "head only", head_epochs, model.head, [{"params": list(model.head.parameters()), "lr": cfg.lr}],
                *feature_batches(run, features))
    if cfg.freeze != "two_stage" or run.stop.is_set():
        return
    if run.best_epoch is not None:  # stage 2 starts from the best head, not the last one
        model.load_state_dict(load_checkpoint(run.path / CHECKPOINT_NAME)["state_dict"])
    model.set_frozen(False)
    lr = cfg.lr * STAGE2_LR_FACTOR
    groups = [{"params": list(model.head.parameters()), "lr": lr},
              {"params": list(model.backbone.parameters()), "lr": lr}]
    run.stage = 2
    yield run.emit(StageStarted(
        stage=2, name="every layer", epoch=run.epochs_run + 1, step=run.step, lr=lr,
        text=f"Stage 2 from epoch {run.epochs_run + 1}: every layer trains now, at learning rate {lr:.1e} "
             f"(1/100 of the head's).",
    ))
    yield Stage(2, "every layer", cfg.epochs - head_epochs, model, groups, *image_batches(run))


def _features(run: RunState) -> Iterator[Event]:
    """Every image (and view) through the frozen backbone once, or from the cache; the FeatureSet, None when stopped."""
    cfg, split, cluster = run.config, run.index.splits, run.cluster
    features = None
    if cluster.active:  # each process encodes its share into the shared disk cache; then all read it whole
        share = [item for item in dataset_features(
            get_backbone(cfg.backbone), run.model.backbone, cfg, split["train"][cluster.rank::cluster.world],
            split["valid"][cluster.rank::cluster.world], run.device, cfg.views or 1, run.stop)]
        cluster.barrier()
        if not share or not isinstance(share[-1], FeatureSet):
            return None
    for item in dataset_features(get_backbone(cfg.backbone), run.model.backbone, cfg, split["train"], split["valid"],
                                 run.device, cfg.views or 1, run.stop):
        if isinstance(item, FeatureSet):
            features = item
        else:
            yield run.emit(item, keep=not isinstance(item, FeaturesProgress))
    if features is not None:
        yield from run.note_skipped(features.skipped)
    return features


def _fit(run: RunState, stage: Stage) -> Iterator[Event]:
    """The epoch loop shared by every stage: `stage.module` maps a batch to logits."""
    cfg = run.config
    optimizer = make_optimizer(cfg.optimizer, stage.groups, cfg.weight_decay)
    module = run.cluster.wrap(stage.module, run.device)  # DDP averages gradients across processes
    stage_steps = max(1, stage.epochs * stage.steps_per_epoch)
    scheduler = make_scheduler(cfg.scheduler, optimizer, stage_steps)
    labels = torch.tensor([label for _, label in run.index.splits["train"]])
    weight = class_weights(labels, len(run.index.classes)).to(run.device) if cfg.balance == "weights" else None
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing, reduction="sum")
    dtype = autocast_dtype(run.device)  # bf16 (or fp16 with a loss scaler) on CUDA, fp32 on CPU
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    first_epoch, taken, since_best = run.epochs_run + 1, 0, 0
    for epoch in range(first_epoch, first_epoch + stage.epochs):
        module.train()
        out_of_memory = True
        while out_of_memory:  # a CUDA out-of-memory error halves the batch and starts the epoch over
            seen = correct = 0
            loss_sum, out_of_memory = 0.0, False
            for x, y, bad in stage.train_batches():
                yield from run.note_skipped(bad)
                if run.stop.is_set():
                    break
                if x is None:
                    continue
                x, y = x.to(run.device, non_blocking=True), y.to(run.device, non_blocking=True)
                if x.dim() == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                try:
                    with run.timed_step():
                        micro = micro_batch(run.device, module) if x.dim() == 4 else None
                        logits, loss = optimizer_step(module, optimizer, scaler, loss_fn, weight, x, y, micro)
                except torch.cuda.OutOfMemoryError:
                    x = y = logits = loss = None
                    out_of_memory = True
                    break
                lr = optimizer.param_groups[0]["lr"]
                taken += 1
                if taken < stage_steps:
                    scheduler.step()
                hits = (logits.argmax(1) == y).sum().item()
                seen, correct, loss_sum = seen + len(y), correct + hits, loss_sum + loss.item() * len(y)
                yield run.emit(run.step_done(epoch, len(y), loss.item(), hits / len(y), lr))
            if out_of_memory:
                optimizer.zero_grad(set_to_none=True)
                yield run.emit(_halve_batch(run, stage, first_epoch + stage.epochs - epoch))
        if run.stop.is_set() and run.best_epoch is not None:
            return
        if seen == 0:
            if run.stop.is_set():
                return
            raise RuntimeError("no training image could be read; see the skipped files in the log")
        valid_loss, valid_acc, bad = _evaluate(run, stage.module, stage.valid_batches)
        yield from run.note_skipped(bad)
        run.epochs_run = epoch
        is_best = valid_acc > run.best_acc or (valid_acc == run.best_acc and valid_loss < run.best_loss)
        since_best = 0 if is_best else since_best + 1
        if is_best:
            run.save(epoch, valid_loss, valid_acc)
        yield run.emit(EpochDone(
            epoch=epoch, step=run.step, train_loss=loss_sum / seen, train_acc=correct / seen,
            valid_loss=valid_loss, valid_acc=valid_acc, is_best=is_best, elapsed_s=run.elapsed(),
        ))
        if run.stop.is_set():
            return
        left = first_epoch + stage.epochs - 1 - epoch
        if cfg.patience and since_best >= cfg.patience and left:
            run.total_steps -= left * stage.steps_per_epoch
            ending = "moving on to the next stage" if stage.number == 1 and cfg.freeze == "two_stage" else (
                "stopping early; the best model is kept")
            yield run.emit(Message(f"No better validation result for {since_best} epochs: {ending} "
                                   f"({left} epoch(s) of this stage skipped)."))
            return


def _halve_batch(run: RunState, stage: Stage, epochs_left: int) -> Message:
    """After a CUDA out-of-memory error: half the batch size from now on, or give up below 2 images."""
    old = run.config.batch
    if old < 4:
        raise RuntimeError(f"the GPU ran out of memory even with {old} images per step; choose a smaller image "
                           "size or backbone, or train on the CPU")
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    run.config.batch = old // 2  # the stage's batch makers read it at the start of every epoch
    before, stage.steps_per_epoch = stage.steps_per_epoch, steps_per_epoch(len(run.index.splits["train"]), old // 2)
    run.total_steps += epochs_left * (stage.steps_per_epoch - before)
    write_json_atomic(run.path / "config.json", run.config.to_dict())
    return Message(f"The GPU ran out of memory at {old} images per step: continuing with {old // 2} "
                   "(this epoch starts over; config.json has the new batch size).", level="warning")


def _evaluate(run: RunState, module: nn.Module, valid_batches: Batches) -> tuple[float, float, list[str]]:
    """Mean plain cross-entropy and accuracy on the validation split (eval mode, no autograd), and skipped files."""
    module.eval()
    seen = correct = 0
    loss_sum = 0.0
    skipped: list[str] = []
    with torch.inference_mode():
        for x, y, bad in valid_batches():
            skipped += bad
            if x is None:
                continue
            x, y = x.to(run.device), y.to(run.device)
            if x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast(run.device):
                logits = module(x).float()
            loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    module.train()
    loss, acc = (loss_sum / seen, correct / seen) if seen else (math.inf, 0.0)
    return loss, acc, skipped
