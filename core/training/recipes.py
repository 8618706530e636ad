"""Automatic recipe: fill in what the user left on "auto" from the data and the machine, and say why."""
from __future__ import annotations

from dataclasses import dataclass, replace

from core.config import AUTO, FREEZE_MODES, TrainConfig
from core.data.transforms import parse_augment
from core.models.backbones import get_backbone
from core.system import compute_threads
from core.training.optim import LR_SCALE

FROZEN_EPOCHS = 20
STAGE1_EPOCHS = FROZEN_EPOCHS  # stage 1 is the frozen recipe itself, so two-stage starts from its result
SCRATCH_EPOCHS = 30
FINETUNE_EPOCHS = (5, 3)  # preferred passes over the images when fine-tuning, then the least worth doing
# Seconds of fine-tuning one click may cost before the automatic recipe settles for a frozen backbone.
FINETUNE_BUDGET_S = {"cpu": 300.0, "cuda": 1200.0}
HEAD_LR, FINETUNE_LR = 1e-2, 1e-3
IMBALANCE_FOR_WEIGHTS = 3.0
# Frozen backbone with augmentation: cache up to MAX_VIEWS versions of each training image, about VIEW_BUDGET
# backbone passes in all, so small sets (which need augmentation most) get the most versions.
MAX_VIEWS, VIEW_BUDGET = 4, 1000


@dataclass(frozen=True)
class Plan:
    """A configuration with every automatic value decided, the sentence that explains it, and its cost estimate."""

    config: TrainConfig
    reason: str
    finetune_s: float


def finetune_images_per_s(backbone: str, image_size: int, device_type: str) -> float:
    """Rough training throughput of every layer of `backbone`, from its measured 2-core CPU figure scaled to the
    threads this process computes with (a container's share of the cores, not the host's count)."""
    rate = get_backbone(backbone).finetune_img_s * (224 / image_size) ** 2
    if device_type == "cuda":
        return rate * 40
    return rate * min(8.0, compute_threads() / 2)


def _split(epochs: int | None, stage1: int | None, finetune_epochs: int) -> tuple[int, int]:
    """Two-stage's (total, head-only) epochs: the user's, else the frozen recipe's head epochs then `finetune_epochs`;
    a given total is split in half, the head's share at most the frozen recipe's."""
    if epochs is None:
        stage1 = stage1 or STAGE1_EPOCHS
        return stage1 + finetune_epochs, stage1
    return epochs, stage1 or max(1, min(STAGE1_EPOCHS, epochs // 2, epochs - 1))


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{max(1, round(seconds))} s"


def plan(config: TrainConfig, train_counts: dict[str, int], device_type: str = "cpu") -> Plan:
    """Resolve freeze/epochs/stage1_epochs/lr/balance left on auto; `train_counts` is training images per class."""
    spec = get_backbone(config.backbone)
    n = max(1, sum(train_counts.values()))
    smallest = min(train_counts.values(), default=0)
    imbalance = max(train_counts.values(), default=0) / max(1, smallest)
    rate = finetune_images_per_s(config.backbone, config.image_size, device_type)
    budget = FINETUNE_BUDGET_S.get(device_type, FINETUNE_BUDGET_S["cpu"])
    affordable = [e for e in FINETUNE_EPOCHS if n * e / rate <= budget]
    machine = "this GPU" if device_type == "cuda" else "this computer's CPU"
    why: list[str] = []

    freeze = config.freeze
    finetune_epochs = affordable[0] if affordable else FINETUNE_EPOCHS[-1]
    if freeze == AUTO:
        split_epochs, split_stage1 = _split(config.epochs, config.stage1_epochs, finetune_epochs)
        tuning = split_epochs - split_stage1  # epochs of every layer that two-stage would run
        factor = FREEZE_MODES["two_stage"].second_stage_lr_factor
        if not spec.pretrained:
            freeze = "finetune"
            why.append(f"{spec.title.lower()} trains every layer from random weights")
        elif tuning < 1:
            freeze = "frozen"
            why.append(f"frozen backbone: {config.epochs} epoch(s) leave no room for a second stage that fine-tunes "
                       "every layer, so only the new head trains, on features the backbone computes once")
        elif n * tuning / rate <= budget:
            freeze = "two_stage"
            why.append(f"two-stage: the head learns on the frozen backbone first, then every layer adapts at "
                       f"1/{1 / factor:.0f} of the learning rate; fine-tuning {n} training images for {tuning} "
                       f"epoch(s) takes about {_duration(n * tuning / rate)} on {machine}, and it fits pictures "
                       "unlike ImageNet's (scans, textures, medical images) much better than a frozen backbone")
        else:
            freeze = "frozen"
            why.append(f"frozen backbone: fine-tuning {n} training images for {tuning} epoch(s) would take about "
                       f"{_duration(n * tuning / rate)} on {machine}, so the backbone reads each image once and "
                       "only the new head trains (seconds per epoch)")
    elif spec.pretrained:
        why.append(f"{FREEZE_MODES[freeze].title}, as chosen")
    else:
        why.append(f"{spec.title.lower()} trains every layer from random weights")
    mode = FREEZE_MODES[freeze]

    epochs, stage1 = config.epochs, config.stage1_epochs
    if mode.has_second_stage:
        epochs, stage1 = _split(epochs, stage1, finetune_epochs)
        if epochs <= stage1:
            raise ValueError(f"two-stage needs more epochs ({epochs}) than its head-only stage ({stage1})")
    elif epochs is None:
        epochs = FROZEN_EPOCHS if mode.starts_frozen else finetune_epochs if spec.pretrained else SCRATCH_EPOCHS

    lr = config.lr
    if lr is None:
        lr = (HEAD_LR if mode.starts_frozen or not spec.pretrained else FINETUNE_LR) * LR_SCALE[config.optimizer]
    balance = config.balance
    if balance == "auto":
        balance = "weights" if imbalance >= IMBALANCE_FOR_WEIGHTS else "none"
        if balance == "weights":
            why.append(f"the largest class has {imbalance:.0f}x the images of the smallest, so the loss weighs "
                       "rare classes more")
    views = config.views
    if views is None:
        views = 1
        if mode.starts_frozen and parse_augment(config.augment):
            views = max(1, min(MAX_VIEWS, VIEW_BUDGET // n))
        if views > 1:
            why.append(f"the frozen backbone reads {views} versions of each training image once (the original and "
                       f"{views - 1} augmented) and the head trains on all of them")
    resolved = replace(config, freeze=freeze, epochs=epochs, stage1_epochs=stage1 if mode.has_second_stage else None,
                       lr=lr, balance=balance, views=views)
    image_epochs = (epochs - stage1) if mode.has_second_stage else (0 if mode.starts_frozen else epochs)
    estimate = n * image_epochs / rate
    schedule = (f"{stage1} head-only epochs, then {epochs - stage1} of every layer at learning rate "
                f"{lr * mode.second_stage_lr_factor:.0e}" if mode.has_second_stage else f"{epochs} epochs")
    reason = (f"Recipe: {why[0]}. {schedule.capitalize()}, learning rate {lr:.0e}"
              + "".join(f"; {w}" for w in why[1:]) + ".")
    return Plan(resolved, reason, estimate)


def train_counts(index) -> dict[str, int]:
    """Training images per class of a DatasetIndex: what `plan` reads."""
    return index.counts()["train"]
