"""Automatic recipe: fill in what the user left on "auto" from the data and the machine, and say why."""
from __future__ import annotations

from dataclasses import dataclass, replace

from core.config import AUTO, FREEZE_MODES, TrainConfig
from core.data.transforms import parse_augment
from core.models.backbones import BackboneSpec, get_backbone
from core.system import compute_threads
from core.training.feature_store import activation_budget_bytes
from core.training.escalation import CEILING
from core.training.optim import LR_SCALE

FROZEN_EPOCHS = 20
STAGE1_EPOCHS = FROZEN_EPOCHS  # stage 1 is the frozen recipe itself, so a second stage starts from its result
SCRATCH_EPOCHS = 30
FINETUNE_EPOCHS = (5, 3)  # preferred passes over the images when fine-tuning, then the least worth doing
TOP_EPOCHS = (5, 3)  # the same for the top layers alone on cached activations
DEEP_EPOCHS = 8  # the deeper stage's most epochs (it stops sooner when validation stops improving)
DEEP_LR = 0.1  # the deeper stage's learning rate as a share of the head's
EVAL_SPEEDUP = 3.0  # a validation pass (forward only, no augmentation) against a training step, per image
# Seconds of fine-tuning one click may cost before the automatic recipe settles for something cheaper.
FINETUNE_BUDGET_S = {"cpu": 300.0, "cuda": 1200.0}
# Which second stage the automatic recipe prefers where both fit the budget: on a CPU the top alone (five times
# the images per second, most of what every layer gains), on a GPU every layer (fast enough to adapt them all).
PREFERENCE = {"cpu": ("top", "two_stage"), "cuda": ("two_stage", "top")}
HEAD_LR, FINETUNE_LR = 1e-2, 1e-3
IMBALANCE_FOR_WEIGHTS = 3.0
# Frozen backbone with augmentation: cache up to MAX_VIEWS versions of each training image, about VIEW_BUDGET
# backbone passes in all (TOP_VIEW_BUDGET when the top trains on them too, which needs the variety more), so small
# sets (which need augmentation most) get the most versions.
MAX_VIEWS, VIEW_BUDGET, TOP_VIEW_BUDGET = 4, 1000, 3000
# The recipe's sentences, each whole (the machine and the stage are chosen by key, never spliced in as words); the
# reason joins them with a space: the choice and its costs, the schedule, then the other decisions.
FULL_COST = {  # (machine, whether it was chosen) -> what fine-tuning every layer costs here
    ("cuda", True): "Fine-tuning every layer on {n} training images for {epochs} epoch(s) takes about {duration} on "
                    "this GPU.",
    ("cuda", False): "Fine-tuning every layer on {n} training images for {epochs} epoch(s) would take about "
                     "{duration} on this GPU.",
    ("cpu", True): "Fine-tuning every layer on {n} training images for {epochs} epoch(s) takes about {duration} on "
                   "this computer's CPU.",
    ("cpu", False): "Fine-tuning every layer on {n} training images for {epochs} epoch(s) would take about "
                    "{duration} on this computer's CPU.",
}
TOP_COST = {"cuda": "Its {epochs} epoch(s) take about {duration} on this GPU.",
            "cpu": "Its {epochs} epoch(s) take about {duration} on this computer's CPU."}
CHOICE = {
    "two_stage": "Recipe: two-stage: the head learns on the frozen backbone first, then every layer adapts at "
                 "1/{share:.0f} of the learning rate, and it fits pictures unlike ImageNet's (scans, textures, medical "
                 "images) much better than a frozen backbone.",
    "top": "Recipe: top layers: the head learns on the frozen backbone first, then the backbone's last stage adapts "
           "too, at 1/{share:.0f} of the learning rate, on what the layers below it computed once per image.",
    "deeper": "If the model then still gets fewer than {ceiling:.0%} of the held-back pictures right, deeper layers "
              "of the backbone train next (up to {epochs} epochs, on what its first layers computed once per image); "
              "otherwise the run ends there.",
    "frozen": "Recipe: frozen backbone: the backbone reads each image once and only the new head trains (seconds per "
              "epoch).",
    "no_room": "Recipe: frozen backbone: {epochs} epoch(s) leave no room for a second stage, so only the new head "
               "trains, on features the backbone computes once.",
    "scratch": "Recipe: every layer of {title} trains from random weights.",
    "chosen": "Recipe: {title}, as chosen.",
}
SCHEDULE = {  # the second stage's freezing mode, or "one" for a single stage -> the schedule
    "top": "Schedule: {stage1} head-only epochs at learning rate {lr:.0e}, then {second} of the top layers at "
           "{lr2:.0e}.",
    "deep": "Schedule: {stage1} head-only epochs at learning rate {lr:.0e}, then {second} of the top layers at "
            "{lr2:.0e}, then up to {third} of the deeper layers at {lr3:.0e}.",
    "two_stage": "Schedule: {stage1} head-only epochs at learning rate {lr:.0e}, then {second} of every layer at "
                 "{lr2:.0e}.",
    "one": "Schedule: {epochs} epochs, learning rate {lr:.0e}.",
}


@dataclass(frozen=True)
class Plan:
    """A configuration with every automatic value decided, the sentence that explains it, and its cost estimate."""

    config: TrainConfig
    reason: str
    finetune_s: float
    deeper_s: float = 0.0  # what the deeper stage adds where it runs (its pass over the images, then its epochs)


def _scaled(rate_2_cores: float, image_size: int, device_type: str) -> float:
    """A 2-core CPU figure at 224 px scaled to this image size and to the threads this process computes with (a
    container's share of the cores, not the host's count)."""
    rate = rate_2_cores * (224 / image_size) ** 2
    if device_type == "cuda":
        return rate * 40
    return rate * min(8.0, compute_threads() / 2)


def finetune_images_per_s(backbone: str, image_size: int, device_type: str) -> float:
    """Rough training throughput of every layer of `backbone` here, from its measured 2-core CPU figure."""
    return _scaled(get_backbone(backbone).finetune_img_s, image_size, device_type)


def top_images_per_s(backbone: str, image_size: int, device_type: str) -> float:
    """Rough training throughput of `backbone`'s top alone on cached activations (0 when it has no top)."""
    top = get_backbone(backbone).top
    return _scaled(top.img_s, image_size, device_type) if top else 0.0


def deep_images_per_s(backbone: str, image_size: int, device_type: str) -> float:
    """Rough training throughput of everything above `backbone`'s deeper cut on cached activations (0: no such cut)."""
    deep = get_backbone(backbone).deep
    return _scaled(deep.img_s, image_size, device_type) if deep else 0.0


def deep_split(after_head: int) -> tuple[int, int]:
    """The epochs after the head's of a "deep" run: (top layers, deeper layers); DEEP_EPOCHS deeper and the rest
    to the top, or half each when there are too few for that."""
    top = after_head - DEEP_EPOCHS if after_head > DEEP_EPOCHS else max(1, after_head // 2)
    return top, after_head - top


def available_memory() -> int:
    """Bytes of memory a new allocation can have (MemAvailable: free memory plus the page cache it may reclaim)."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):  # not Linux: the disk budget alone
        return 1 << 62


def activation_room() -> int:
    """Bytes of activations a run may keep: what the cache may hold on disk, and a third of the available memory (a
    run holds them in memory too, briefly twice while encoding)."""
    return min(activation_budget_bytes(), available_memory() // 3)


def top_views_that_fit(spec: BackboneSpec, image_size: int, n_train: int, n_valid: int, cut=None) -> int:
    """How many versions of each training image the activation cache has room for at the top's cut (or `cut`; 0:
    not even the originals)."""
    per_image = (cut or spec.top).bytes_per_image(image_size)
    return max(0, (activation_room() // per_image - n_valid) // max(1, n_train))


def _split(epochs: int | None, stage1: int | None, second: int) -> tuple[int, int]:
    """A second stage's (total, head-only) epochs: the user's, else the frozen recipe's head epochs then `second`;
    a given total is split in half, the head's share at most the frozen recipe's."""
    if epochs is None:
        stage1 = stage1 or STAGE1_EPOCHS
        return stage1 + second, stage1
    return epochs, stage1 or max(1, min(STAGE1_EPOCHS, epochs // 2, epochs - 1))


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{max(1, round(seconds))} s"


@dataclass(frozen=True)
class _Option:
    """A second stage the automatic recipe weighs: its epochs (as it would run them) and their seconds here."""

    epochs: int
    seconds: float


def _affordable(n: int, rate: float, preferred: tuple[int, ...], device_type: str) -> int:
    """The most epochs of `preferred` that fit the budget at `rate` images/s, else the least of them."""
    budget = FINETUNE_BUDGET_S.get(device_type, FINETUNE_BUDGET_S["cpu"])
    return next((e for e in preferred if n * e / rate <= budget), preferred[-1])


def _options(config: TrainConfig, spec: BackboneSpec, n: int, n_valid: int, device_type: str) -> dict[str, _Option]:
    """Two-stage and top-layer fine-tuning as they would run here: epochs (the user's, else what the budget affords)
    and seconds; the top only where the backbone has one and the activation cache has room for it."""
    rates = {"two_stage": (finetune_images_per_s(config.backbone, config.image_size, device_type), FINETUNE_EPOCHS),
             "top": (top_images_per_s(config.backbone, config.image_size, device_type), TOP_EPOCHS)}
    if spec.top is None or top_views_that_fit(spec, config.image_size, n, n_valid) < 1:
        del rates["top"]
    options = {}
    for mode, (rate, preferred) in rates.items():
        total, stage1 = _split(config.epochs, config.stage1_epochs, _affordable(n, rate, preferred, device_type))
        options[mode] = _Option(total - stage1, n * (total - stage1) / rate)
    return options


def _deeper_fits(config: TrainConfig, spec: BackboneSpec, n: int, n_valid: int, device_type: str,
                 budget: float) -> bool:
    """Whether the automatic recipe may go on to the deeper layers: the epochs are left to it (a number the user set
    is the whole run), the backbone has a deeper cut, the activation cache has room for its originals at least, and
    its epochs fit the budget."""
    if config.epochs is not None or spec.deep is None:
        return False
    views = config.views or max(1, min(MAX_VIEWS, TOP_VIEW_BUDGET // n))  # what the top stage reads: never fewer
    if top_views_that_fit(spec, config.image_size, n, n_valid, spec.deep) < views:
        return False
    return n * DEEP_EPOCHS / deep_images_per_s(config.backbone, config.image_size, device_type) <= budget


def _choose(config: TrainConfig, spec: BackboneSpec, n: int, n_valid: int, device_type: str) -> tuple[str, str]:
    """The freezing mode for "auto", and why (whole sentences)."""
    machine = "cuda" if device_type == "cuda" else "cpu"
    budget = FINETUNE_BUDGET_S.get(device_type, FINETUNE_BUDGET_S["cpu"])
    if not spec.pretrained:
        return "finetune", CHOICE["scratch"].format(title=spec.title)
    options = _options(config, spec, n, n_valid, device_type)
    full = options["two_stage"]
    if full.epochs < 1:
        return "frozen", CHOICE["no_room"].format(epochs=config.epochs)
    for mode in PREFERENCE.get(device_type, PREFERENCE["cpu"]):
        option = options.get(mode)
        if option is None or option.seconds > budget:
            continue
        said = [CHOICE[mode].format(share=1 / FREEZE_MODES[mode].second_stage_lr_factor)]
        if mode == "top":
            said.append(TOP_COST[machine].format(epochs=option.epochs, duration=_duration(option.seconds)))
        said.append(FULL_COST[machine, True].format(n=n, epochs=full.epochs, duration=_duration(full.seconds)))
        if mode == "top" and _deeper_fits(config, spec, n, n_valid, device_type, budget):
            mode = "deep"
            said.insert(2, CHOICE["deeper"].format(ceiling=CEILING, epochs=DEEP_EPOCHS))
        return mode, " ".join(said)
    return "frozen", " ".join([CHOICE["frozen"], FULL_COST[machine, False].format(
        n=n, epochs=full.epochs, duration=_duration(full.seconds))])


def plan(config: TrainConfig, train_counts: dict[str, int], device_type: str = "cpu", valid_images: int = 0) -> Plan:
    """Resolve freeze/epochs/stage1_epochs/lr/balance/views left on auto; `train_counts` is training images per
    class, `valid_images` the validation images (they take room in the activation cache too)."""
    spec = get_backbone(config.backbone)
    n = max(1, sum(train_counts.values()))
    smallest = min(train_counts.values(), default=0)
    imbalance = max(train_counts.values(), default=0) / max(1, smallest)
    why: list[str] = []

    freeze = config.freeze
    if freeze == AUTO:
        freeze, sentence = _choose(config, spec, n, valid_images, device_type)
        why.append(sentence)
    elif spec.pretrained:
        why.append(CHOICE["chosen"].format(title=FREEZE_MODES[freeze].title))
    else:
        why.append(CHOICE["scratch"].format(title=spec.title))
    mode = FREEZE_MODES[freeze]

    epochs, stage1 = config.epochs, config.stage1_epochs
    rate = (top_images_per_s if mode.top_only else finetune_images_per_s)(config.backbone, config.image_size,
                                                                          device_type)
    affordable = _affordable(n, rate, TOP_EPOCHS if mode.top_only else FINETUNE_EPOCHS, device_type)
    if mode.has_second_stage:
        epochs, stage1 = _split(epochs, stage1, affordable + (DEEP_EPOCHS if mode.deeper else 0))
        if epochs <= stage1:
            raise ValueError(f"{mode.title} needs more epochs ({epochs}) than its head-only stage ({stage1})")
    elif epochs is None:
        epochs = FROZEN_EPOCHS if mode.starts_frozen else affordable if spec.pretrained else SCRATCH_EPOCHS

    lr = config.lr
    if lr is None:
        lr = (HEAD_LR if mode.starts_frozen or not spec.pretrained else FINETUNE_LR) * LR_SCALE[config.optimizer]
    balance = config.balance
    if balance == "auto":
        balance = "weights" if imbalance >= IMBALANCE_FOR_WEIGHTS else "none"
        if balance == "weights":
            why.append(f"The largest class has {imbalance:.0f}x the images of the smallest, so the loss weighs "
                       "rare classes more.")
    views = _views(config, spec, mode, n, valid_images, why)
    when_solved = config.when_solved
    if when_solved == AUTO:  # a stage the recipe chose is skipped when it cannot pay; one the user chose runs
        when_solved = "skip" if config.freeze == AUTO else "continue"
    resolved = replace(config, freeze=freeze, epochs=epochs, stage1_epochs=stage1 if mode.has_second_stage else None,
                       lr=lr, balance=balance, views=views, when_solved=when_solved)
    second = epochs - stage1 if mode.has_second_stage else (0 if mode.starts_frozen else epochs)
    third, deeper_s = 0, 0.0
    if mode.deeper:
        second, third = deep_split(second)
        read = (n * views + valid_images) / (finetune_images_per_s(config.backbone, config.image_size, device_type)
                                             * EVAL_SPEEDUP)
        deeper_s = read + n * third / deep_images_per_s(config.backbone, config.image_size, device_type)
    if mode.has_second_stage:
        schedule = SCHEDULE[freeze].format(stage1=stage1, lr=lr, second=second, lr2=lr * mode.second_stage_lr_factor,
                                           third=third, lr3=lr * DEEP_LR)
        if when_solved == "skip":
            why.append("If the head alone already gets every validation image right (or its loss is at the floor), "
                       "the second stage is skipped.")
    else:
        schedule = SCHEDULE["one"].format(epochs=epochs, lr=lr)
    return Plan(resolved, " ".join([why[0], schedule, *why[1:]]), n * second / rate if second else 0.0, deeper_s)


def _views(config: TrainConfig, spec: BackboneSpec, mode, n: int, n_valid: int, why: list[str]) -> int:
    """Versions of each training image the frozen backbone reads once: the user's, else more for small sets; for
    the top layers, never more than the activation cache has room for."""
    views = config.views
    if views is None:
        views = 1
        if mode.starts_frozen and parse_augment(config.augment):
            views = max(1, min(MAX_VIEWS, (TOP_VIEW_BUDGET if mode.top_only else VIEW_BUDGET) // n))
        if views > 1:
            why.append(f"The frozen backbone reads {views} versions of each training image once (the original and "
                       f"{views - 1} augmented) and the head trains on all of them.")
    if mode.top_only:
        room = top_views_that_fit(spec, config.image_size, n, n_valid, spec.deep if mode.deeper else None)
        if room < 1:
            mb = (spec.deep if mode.deeper else spec.top).bytes_per_image(config.image_size) * (n + n_valid) / 2**20
            raise ValueError(f"fine-tuning the top layers keeps {mb:.0f} MB of the backbone's intermediate results "
                             f"on disk, more than its cache may hold here ({activation_room() / 2**20:.0f} MB: at most "
                             "half the free disk, a third of the available memory, and TRANSFER_STUDIO_ACTIVATION_MB): "
                             "choose two-stage or the feature extractor, or free some space")
        if views > room:
            why.append(f"The activation cache has room for {room} version(s) of each training image, not {views}.")
            views = room
    return views


def train_counts(index) -> dict[str, int]:
    """Training images per class of a DatasetIndex: what `plan` reads."""
    return index.counts()["train"]
