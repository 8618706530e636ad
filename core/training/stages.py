"""A run's stages, read from its FreezeMode: the head on features computed once (a frozen backbone), every layer on
images, or the first then the second (two-stage). Each stage is built only when the one before it has ended."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator

from torch import nn

from core.config import DEEPER_STAGE, freeze_mode
from core.data.images import UnreadableImage, load_image
from core.data.transforms import train_transform
from core.events import Event, FeaturesProgress, Message, StageStarted
from core.models.backbones import get_backbone
from core.models.classifier import Classifier
from core.models.split import split_backbone
from core.runstore.checkpoint import load_checkpoint
from core.runstore.folder import RunFolder
from core.training.batches import feature_batches, image_batches, steps_per_epoch
from core.training.features import FeatureSet, dataset_features, spread
from core.training.escalation import Decision, deeper_pays
from core.training.recipes import (
    DEEP_LR,
    EVAL_SPEEDUP,
    deep_images_per_s,
    deep_split,
    finetune_images_per_s,
    top_images_per_s,
)
from core.training.rng import seeded
from core.training.state import Batches, RunState, StageClock

LOAD_SAMPLE = 8  # training images decoded once at the start to price decoding in the ETA
# The second stage's sentences, whole, by freezing mode: its start; its skip when the head alone leaves it nothing to
# win, by getting every validation image right ("right") or by a validation loss at the floor ("floor").
STAGE_TWO = {
    "top": "Stage 2 from epoch {epoch}: the backbone's top layers train now too, on the intermediate results the rest "
           "of it computed once, at learning rate {lr:.1e} (1/{share:.0f} of the head's).",
    "two_stage": "Stage 2 from epoch {epoch}: every layer trains now, at learning rate {lr:.1e} (1/{share:.0f} of the "
                 "head's).",
}
SKIPPED = {
    ("top", "right"): "The head alone gets every validation image right: the second stage (top layers, {epochs} "
                      "epochs) is skipped, since it cannot do better; the best head is kept.",
    ("two_stage", "right"): "The head alone gets every validation image right: the second stage (every layer, "
                            "{epochs} epochs) is skipped, since it cannot do better; the best head is kept.",
    ("top", "floor"): "The head alone already reaches a validation loss of {loss:.3f} (the floor is 0): the second "
                      "stage (top layers, {epochs} epochs) is skipped, since it has almost nothing left to win; the "
                      "best head is kept.",
    ("two_stage", "floor"): "The head alone already reaches a validation loss of {loss:.3f} (the floor is 0): the "
                            "second stage (every layer, {epochs} epochs) is skipped, since it has almost nothing left "
                            "to win; the best head is kept.",
}
STAGE_THREE = ("Stage 3 from epoch {epoch}: deeper layers of the backbone train now too, on the intermediate results "
               "its first layers computed once, at learning rate {lr:.1e} (1/{share:.0f} of the head's).")
DEEPER = {  # a Decision's `why` (core.training.escalation), or "chosen" (Best quality) -> the sentence before stage 3
    "near_top": "The model gets {acc:.1%} of the held-back pictures right: deeper layers have too little left to win, "
                "so the run ends here.",
    "nothing": "No validation result to judge by: the deeper layers are skipped.",
    "far": "The head alone gets only {acc:.1%} of the held-back pictures right, far below what the pictures allow: the "
           "top layers alone would not close that gap, so deeper layers train next (up to {epochs} epochs, until "
           "validation stops improving).",
    "plateau": "The top layers stopped improving at {acc:.1%} of the held-back pictures right, well below what the "
               "pictures allow: deeper layers train next (up to {epochs} epochs, until validation stops improving).",
    "rising": "The top layers were still gaining ({gain:.1%} more than the head alone, {acc:.1%} right): deeper layers "
              "train next (up to {epochs} epochs, until validation stops improving).",
    "chosen": "Best quality: deeper layers train next (up to {epochs} epochs, until validation stops improving).",
}
SOLVED = {"right": "gets every validation image right",  # summary.json's skipped_stage, after the stage's name
          "floor": "already reaches a validation loss of {loss:.3f} (the floor is 0)"}


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
    images: Callable[[], int]  # training images this process sees in the next epoch
    part: str  # what trains (core.training.resume.PARTS): "head" on features, "top" on activations, or "model"
    done_before: int = 0  # epochs of this stage taken before a resumed or continued run went on


def plan_clocks(run: RunState) -> None:
    """Every stage's steps and, for stages that train on images, an estimate of a step's seconds: the registry's
    fine-tuning speed, plus decoding and augmenting this dataset's images as timed on a few of them now."""
    cfg, split, world = run.config, run.index.splits, run.cluster.world
    mode = freeze_mode(cfg.freeze)
    per_epoch = steps_per_epoch(len(split["train"]) // world, cfg.batch)
    head_epochs = _head_epochs(run)
    if mode.starts_frozen:
        run.clocks[1] = StageClock(head_epochs * per_epoch)  # seconds for the head alone: measured once it runs
    if mode.top_only:  # the top on cached activations: no decoding, no backbone below the cut
        rate = top_images_per_s(cfg.backbone, cfg.image_size, run.device.type)
        step_s = cfg.batch / rate + len(split["valid"]) / (rate * EVAL_SPEEDUP) / per_epoch
        top, deep = deep_split(cfg.epochs - head_epochs) if mode.deeper else (cfg.epochs - head_epochs, 0)
        run.clocks[2] = StageClock(top * per_epoch, step_s)
        if deep:  # planned as if it runs: the automatic recipe drops it (and its clock) when it would not pay
            rate = deep_images_per_s(cfg.backbone, cfg.image_size, run.device.type)
            step_s = cfg.batch / rate + len(split["valid"]) / (rate * EVAL_SPEEDUP) / per_epoch
            run.clocks[3] = StageClock(deep * per_epoch, step_s)
    elif not mode.starts_frozen or mode.has_second_stage:
        rate = finetune_images_per_s(cfg.backbone, cfg.image_size, run.device.type)
        load = _load_seconds_per_image(run)
        step_s = cfg.batch * (1 / rate + load) + len(split["valid"]) * (1 / (rate * EVAL_SPEEDUP) + load) / per_epoch
        image_epochs = cfg.epochs - head_epochs if mode.starts_frozen else cfg.epochs
        run.clocks[2 if mode.starts_frozen else 1] = StageClock(image_epochs * per_epoch, step_s)
    if run.resume:  # a continued run: the stages it has left (the one it goes on with is counted when it starts)
        for number in [n for n in run.clocks if n < run.resume.stage]:
            del run.clocks[number]


def _head_epochs(run: RunState) -> int:
    """Epochs of the head on cached features: all of a frozen run's, the first stage of a two-stage one."""
    return run.config.stage1_epochs if freeze_mode(run.config.freeze).has_second_stage else run.config.epochs


def _load_seconds_per_image(run: RunState, sample: int = LOAD_SAMPLE) -> float:
    """Seconds to decode and augment one training image, timed on a few spread over the split (0 if none reads)."""
    cfg, items = run.config, run.index.splits["train"]
    spec = get_backbone(cfg.backbone)
    transform = train_transform(cfg.image_size, spec.mean, spec.std, cfg.augment)
    picks = spread(items, sample)
    timed = []
    with seeded(cfg.seed):  # augmentation draws: from a stream of its own, the run's untouched
        for path, _ in picks:
            t0 = time.perf_counter()
            try:
                transform(load_image(path))
            except UnreadableImage:
                continue
            timed.append(time.perf_counter() - t0)
    return statistics.median(timed) if timed else 0.0


def stages(run: RunState) -> Iterator[Stage | Event]:
    """The run's stages and the events between them, built lazily; a resumed or continued run starts at the stage
    it was in (`run.resume`), with the epochs it has left or the extra epochs asked for."""
    cfg, model = run.config, run.model
    mode = freeze_mode(cfg.freeze)
    start = run.resume.stage if run.resume else 1
    if not mode.starts_frozen:
        factor = mode.backbone_lr_factor if get_backbone(cfg.backbone).pretrained else 1.0
        groups = [{"params": list(model.head.parameters()), "lr": cfg.lr},
                  {"params": list(model.backbone.parameters()), "lr": cfg.lr * factor}]
        yield _resumed(run, Stage(1, "every layer", cfg.epochs, model, groups, *image_batches(run), part="model"))
        return
    head_epochs = _head_epochs(run)
    second_kind = "top" if mode.top_only else mode.name  # which second stage: the keys of STAGE_TWO and SKIPPED
    if start == 3:  # a resumed or continued run in its deeper stage
        yield from _deeper(run, start)
        return
    features = None
    if start == 1 or mode.top_only:
        features = yield from _features(run, top=mode.top_only)
        if features is None:
            return
    if start == 1:
        yield _resumed(run, Stage(1, "head only", head_epochs, model.head,
                                  [{"params": list(model.head.parameters()), "lr": cfg.lr}],
                                  *feature_batches(run, features), part="head"))
        if not mode.has_second_stage or run.stop.is_set():
            return
        how = solved(run)
        if how:
            run.clocks.pop(2, None)
            run.skipped_stage = f"{mode.second_stage}: {SOLVED[how].format(loss=run.best_loss)}"
            yield run.emit(Message(SKIPPED[second_kind, how].format(epochs=cfg.epochs - head_epochs, loss=run.best_loss)))
            return
        decision = deeper_pays(run.curve, len(run.index.splits["valid"])) if mode.deeper else None
        if decision is not None and cfg.when_solved == "skip" and decision.why == "far":
            run.clocks.pop(2, None)  # the top alone cannot close a gap this wide: the deeper layers come next
            yield from _deeper(run, start, decision)
            return
        if run.best_epoch is not None:  # stage 2 starts from the best head, not the last one
            model.load_state_dict(load_checkpoint(RunFolder(run.path).best)["state_dict"])
    lr = cfg.lr * mode.second_stage_lr_factor
    if mode.top_only:
        module = top_classifier(model, get_backbone(cfg.backbone))
        trains = module.backbone.parameters()
        batches = feature_batches(run, features, activations=True)
    else:
        model.set_frozen(False)
        module, trains, batches = model, model.backbone.parameters(), image_batches(run)
    groups = [{"params": list(model.head.parameters()), "lr": lr}, {"params": list(trains), "lr": lr}]
    if start == 1:
        yield run.emit(StageStarted(
            stage=2, name=mode.second_stage, epoch=run.epochs_run + 1, step=run.step, lr=lr,
            text=STAGE_TWO[second_kind].format(epoch=run.epochs_run + 1, lr=lr, share=1 / mode.second_stage_lr_factor),
        ))
    second = deep_split(cfg.epochs - head_epochs)[0] if mode.deeper else cfg.epochs - head_epochs
    yield _resumed(run, Stage(2, mode.second_stage, second, module, groups, *batches,
                              part="top" if mode.top_only else "model"))
    if mode.deeper and not run.stop.is_set():
        yield from _deeper(run, start)


def _deeper(run: RunState, start: int, decision: Decision | None = None) -> Iterator[Stage | Event]:
    """The third stage of "deep": everything above the registry's deeper cut trains on activations cached there,
    from the best model so far; on the automatic recipe only where the curves say it pays (`deeper_pays`)."""
    cfg, model = run.config, run.model
    spec = get_backbone(cfg.backbone)
    epochs = deep_split(cfg.epochs - _head_epochs(run))[1]
    if epochs < 1:
        return
    if start < 3:
        decision = decision or deeper_pays(run.curve, len(run.index.splits["valid"]))
        if cfg.when_solved == "skip" and not decision.go:
            run.clocks.pop(3, None)
            yield run.emit(Message(DEEPER[decision.why].format(acc=decision.best, epochs=epochs)))
            return
        yield run.emit(Message(DEEPER["chosen" if cfg.when_solved != "skip" else decision.why].format(
            acc=decision.best, gain=decision.gain, epochs=epochs)))
        if run.best_epoch is not None:  # from the best model so far, as the second stage did
            model.load_state_dict(load_checkpoint(RunFolder(run.path).best)["state_dict"])
    features = yield from _features(run, top=True, cut=spec.deep)
    if features is None:
        return
    lr = cfg.lr * DEEP_LR
    module = deep_classifier(model, spec)
    groups = [{"params": list(model.head.parameters()), "lr": lr},
              {"params": list(module.backbone.parameters()), "lr": lr}]
    if start < 3:
        yield run.emit(StageStarted(stage=3, name=DEEPER_STAGE, epoch=run.epochs_run + 1, step=run.step, lr=lr,
                                    text=STAGE_THREE.format(epoch=run.epochs_run + 1, lr=lr, share=1 / DEEP_LR)))
    yield _resumed(run, Stage(3, DEEPER_STAGE, epochs, module, groups,
                              *feature_batches(run, features, activations=True), part="deep"))


SOLVED_LOSS = 0.005  # a validation loss this low: the true class's mean probability is at least 99.5 %
SOLVED_IMAGES = 20  # fewer validation images than this say too little to skip anything


def solved(run: RunState) -> str | None:
    """How the head-only stage leaves a later stage nothing to win ("right": every validation image right; "floor":
    the validation loss at the floor), or None when it does not, or the run says to continue anyway."""
    if run.config.when_solved != "skip" or run.best_epoch is None or len(run.index.splits["valid"]) < SOLVED_IMAGES:
        return None
    if run.best_acc >= 1.0:
        return "right"
    if run.best_loss <= SOLVED_LOSS:
        return "floor"
    return None


def top_classifier(model: Classifier, spec) -> Classifier:
    """The backbone's top and the head as one module that trains on activations at the cut (shared weights)."""
    return Classifier(split_backbone(spec, model.backbone)[1], model.head, frozen=False,
                      keep_bn_stats=model.keep_bn_stats)


def deep_classifier(model: Classifier, spec) -> Classifier:
    """Everything above the registry's deeper cut and the head as one module (shared weights)."""
    return Classifier(split_backbone(spec, model.backbone, spec.deep)[1], model.head, frozen=False,
                      keep_bn_stats=model.keep_bn_stats)


def _resumed(run: RunState, stage: Stage) -> Stage:
    """The stage as planned, or, where a run goes on from its last state: the epochs it has left (resumed), or the
    extra epochs asked for (continued)."""
    point = run.resume
    if point is None or point.stage != stage.number:
        return stage
    if point.extra is not None:
        return replace(stage, epochs=point.extra, done_before=point.stage_epochs)
    return replace(stage, epochs=max(0, stage.epochs - point.stage_epochs), done_before=point.stage_epochs)


def _features(run: RunState, top: bool = False, cut=None) -> Iterator[Event]:
    """Every image (and view) through the frozen backbone once, or from the cache; the FeatureSet, None when stopped.

    Its progress events carry the whole run's ETA: the pass itself plus every stage after it.
    """
    cfg, split, cluster = run.config, run.index.splits, run.cluster
    spec = get_backbone(cfg.backbone)
    backbone = run.model.backbone
    if top and (cut is not None or run.resume is not None and run.resume.stage > 1):  # the backbone has trained:
        # encode with the pretrained one (the cache's keys name the pretrained weights)
        with seeded(cfg.seed):
            backbone = spec.build(True, cfg.image_size).to(run.device)
    features = None
    if cluster.active:  # each process encodes its share into the shared disk cache; then all read it whole
        share = list(dataset_features(spec, backbone, cfg, split["train"][cluster.rank::cluster.world],
                                      split["valid"][cluster.rank::cluster.world], run.device, cfg.views or 1,
                                      run.stop, top=top, calibration_items=split["train"], cut=cut))
        cluster.barrier()
        if not share or not isinstance(share[-1], FeatureSet):
            return None
    for item in dataset_features(spec, backbone, cfg, split["train"], split["valid"], run.device,
                                 cfg.views or 1, run.stop, top=top, cut=cut):
        if isinstance(item, FeatureSet):
            features = item
        elif isinstance(item, FeaturesProgress):
            yield run.emit(FeaturesProgress(item.done, item.total, item.images_per_s,
                                            item.eta_s + run.seconds_left(), item.cached), keep=False)
        else:
            yield run.emit(item)
    if features is not None:
        yield from run.note_skipped(features.skipped)
    return features
