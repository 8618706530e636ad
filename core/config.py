"""The one training configuration shared by the CLI, the GUI and the run folder.

A field left at None (or freeze/balance "auto") is chosen from the data and the machine by `core.training.recipes.plan`,
which also says why; the run folder's config.json holds the values that were actually used.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from core.data.transforms import parse_augment
from core.models.backbones import BACKBONES, get_backbone
from core.models.heads import HEADS

# Optimizers and learning-rate schedules by name, with a title for pickers: the options are data this module owns,
# core.training.optim implements each name (a test checks that both list the same).
OPTIMIZER_TITLES = {"adamw": "AdamW (decoupled weight decay)", "adam": "Adam", "sgd": "SGD with momentum"}
SCHEDULER_TITLES = {
    "onecycle": "One-cycle (warm up, then anneal)", "cosine": "Cosine with warm-up",
    "step": "Step (divide by 10 twice)", "none": "Constant",
}


@dataclass(frozen=True)
class FreezeMode:
    """What a freezing mode means, as data: every part of the app reads it here instead of comparing strings."""

    name: str
    title: str  # a few words for logs and the recipe sentence
    description: str  # one line for a picker
    starts_frozen: bool  # stage 1 trains the head alone on features the frozen backbone computed once
    backbone_lr_factor: float  # when every layer trains from the start: the backbone's LR as a share of the head's
    second_stage_lr_factor: float | None = None  # a second stage follows the head-only one, at this share of its LR
    top_only: bool = False  # the second stage trains the backbone's top alone, on activations computed once
    second_stage: str = ""  # what the second stage trains, in a few words (the stage's name in events and charts)
    deeper: bool = False  # a third stage trains everything above the registry's deeper cut, on activations cached there

    @property
    def has_second_stage(self) -> bool:
        return self.second_stage_lr_factor is not None


BACKBONE_LR = 0.1  # fine-tuning every layer: the pretrained backbone moves ten times slower than the new head
SECOND_STAGE_LR = 0.1  # two-stage: every layer continues at 1/10 of the head's learning rate (1/100 left it near
# the head's result: bench/recipes.py)
TOP_LR = 0.1  # top layers: the backbone's top continues at 1/10 of the head's learning rate
DEEPER_STAGE = "deeper layers"  # the third stage's name in events and charts
FREEZE_MODES: dict[str, FreezeMode] = {m.name: m for m in (
    FreezeMode("deep", "best quality (top layers, then deeper layers)", "Best quality (slower): the head, then the "
               "top layers, then deeper layers, each on what the layers below computed once", True, 0.0,
               second_stage_lr_factor=TOP_LR, top_only=True, second_stage="top layers", deeper=True),
    FreezeMode("frozen", "feature extractor (frozen backbone)",
               "Feature extractor: freeze the backbone, train only the new head (fastest)", True, 0.0),
    FreezeMode("top", "top layers fine-tuned", "Fine-tune the top layers: the head first, then the backbone's last "
               "stage too, on what the rest computed once (near fine-tuning's accuracy in a fraction of its time)",
               True, 0.0, second_stage_lr_factor=TOP_LR, top_only=True, second_stage="top layers"),
    FreezeMode("two_stage", "two-stage fine-tuning", "Two-stage: the head first, then every layer at "
               f"1/{1 / SECOND_STAGE_LR:.0f} of the learning rate", True, 0.0, second_stage_lr_factor=SECOND_STAGE_LR,
               second_stage="every layer"),
    FreezeMode("finetune", "every layer trains", "Fine-tune every layer from the start", False, BACKBONE_LR),
)}
AUTO = "auto"
BALANCE_MODES = ("auto", "none", "weights", "sampler")
WHEN_SOLVED = ("auto", "skip", "continue")  # after the head-only stage gets every validation image right
# for a frozen backbone's one pass over the images (core.models.encoders); int8: quantized on the user's images
ENGINES = ("auto", "onnxruntime", "onnxruntime-int8", "pytorch")


FIELD_GROUPS = {
    "data": ("data", "valid_fraction", "seed", "out"),
    "model": ("backbone", "head", "hidden", "dropout", "freeze", "image_size"),
    "training": ("epochs", "stage1_epochs", "optimizer", "scheduler", "lr", "weight_decay", "label_smoothing",
                 "batch", "augment", "views", "patience", "balance", "when_solved"),
    "engine": ("device", "num_workers", "engine"),
}


def freeze_mode(name: str) -> FreezeMode:
    """The FreezeMode of a resolved config (never "auto": `core.training.recipes.plan` resolves that first)."""
    return FREEZE_MODES[name]


def _opt(help: str, parse=None, choices=None, flag: str | None = None):
    """Field metadata the CLI builds its flags from: help text, parser for optional values, choices, flag name."""
    return {"help": help, "parse": parse, "choices": choices, "flag": flag}


@dataclass
class TrainConfig:
    """Everything a run needs; the defaults are what one click on Train gets."""

    data: str = field(metadata=_opt(
        "dataset folder: train/ and valid/ with one subfolder per class, or just one subfolder per class"))
    backbone: str = field(default="efficientnet_lite0", metadata=_opt("pretrained backbone", choices=list(BACKBONES)))
    head: str = field(default="linear", metadata=_opt("new classifier head", choices=list(HEADS)))
    hidden: int = field(default=512, metadata=_opt("hidden units of the mlp and bn_mlp heads"))
    dropout: float = field(default=0.2, metadata=_opt("dropout in the head"))
    freeze: str = field(default="auto", metadata=_opt(
        "frozen = feature extractor, top = head first then the backbone's top layers on cached activations, "
        "two_stage = head first then every layer, finetune = every layer, auto = picked from the data and this "
        "machine", choices=[AUTO, *FREEZE_MODES]))
    epochs: int | None = field(default=None, metadata=_opt("total passes over the training images (default: auto)", int))
    stage1_epochs: int | None = field(default=None, metadata=_opt(
        "two_stage: epochs that train the head alone (default: auto)", int))
    optimizer: str = field(default="adamw", metadata=_opt("optimizer", choices=list(OPTIMIZER_TITLES)))
    scheduler: str = field(default="onecycle", metadata=_opt("learning-rate schedule", choices=list(SCHEDULER_TITLES)))
    lr: float | None = field(default=None, metadata=_opt(
        "peak learning rate of the new head (default: auto); the backbone gets "
        f"1/{1 / BACKBONE_LR:.0f} when fine-tuning, and stage 2 of two_stage 1/{1 / SECOND_STAGE_LR:.0f}", float))
    weight_decay: float = field(default=0.01, metadata=_opt("weight decay"))
    label_smoothing: float = field(default=0.0, metadata=_opt("label smoothing of the loss (0-0.3)"))
    batch: int = field(default=32, metadata=_opt("images per step", flag="--batch"))
    image_size: int = field(default=224, metadata=_opt("input size in pixels (multiple of 32)"))
    augment: str = field(default="flip,crop", metadata=_opt(
        "training augmentations, comma separated: flip, rotate, crop, color, trivial, or none "
        "(used wherever the backbone trains on images)"))
    views: int | None = field(default=None, metadata=_opt(
        "frozen backbone: versions of each training image it reads once and caches, the original plus augmented "
        "ones (1 = no augmentation; default: auto, more for small sets)", int))
    patience: int = field(default=5, metadata=_opt(
        "stop a stage after this many epochs without a better validation result (0 = never)"))
    balance: str = field(default="auto", metadata=_opt(
        "imbalanced classes: weights = weigh the loss, sampler = draw rare classes more often, "
        "auto = weights when the largest class is 3x the smallest", choices=list(BALANCE_MODES)))
    when_solved: str = field(default="auto", metadata=_opt(
        "when the head-only stage already gets every validation image right (or its loss is at the floor): skip the "
        "stage after it, which cannot do better, or continue with it; auto = skip when freeze is auto too",
        choices=list(WHEN_SOLVED)))
    seed: int = field(default=0, metadata=_opt(
        "random seed (same seed, same run on CPU; also picks the validation images of a folder without valid/)"))
    valid_fraction: float = field(default=0.2, metadata=_opt(
        "share of each class held out for validation when the folder has no valid/ (0.05-0.5)"))
    out: str = field(default="runs", metadata=_opt("folder that receives one run folder per run"))
    device: str = field(default="auto", metadata=_opt("auto, cpu or cuda"))
    num_workers: int = field(default=0, metadata=_opt("data-loading worker processes"))
    engine: str = field(default="auto", metadata=_opt(
        "engine for the frozen backbone's one pass: onnxruntime (fastest on CPU), onnxruntime-int8 (quantized, "
        "calibrated on your training images: about twice as fast, features slightly less exact), pytorch, or auto "
        "(onnxruntime on CPU, pytorch on CUDA)", choices=list(ENGINES)))

    def validate(self) -> None:
        """Reject values no run could use, with a sentence a non-coder can act on."""
        for f in fields(self):
            choices = f.metadata.get("choices")
            value = getattr(self, f.name)
            if choices and value not in choices:
                raise ValueError(f"{f.name.replace('_', ' ')} must be one of {', '.join(choices)}, not {value!r}")
        spec = get_backbone(self.backbone)
        mode = FREEZE_MODES.get(self.freeze)
        if not spec.pretrained and mode is not None and mode.starts_frozen:
            raise ValueError(f"{self.backbone} starts from random weights, so there is nothing to freeze: "
                             "use finetune (or auto)")
        if mode is not None and mode.top_only and spec.top is None:
            raise ValueError(f"{spec.title} has no top that trains alone: choose two-stage, the feature extractor "
                             "or automatic")
        if mode is not None and mode.deeper and spec.deep is None:
            raise ValueError(f"{spec.title} has no deeper layers that train on cached activations: choose an "
                             "EfficientNet-Lite, another freezing mode or automatic")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError("epochs must be at least 1")
        if self.stage1_epochs is not None and self.stage1_epochs < 1:
            raise ValueError("stage-1 epochs must be at least 1")
        if (mode is not None and mode.has_second_stage and self.epochs is not None and self.stage1_epochs is not None
                and self.stage1_epochs >= self.epochs):
            raise ValueError(f"{mode.title} needs more epochs ({self.epochs}) than its head-only stage "
                             f"({self.stage1_epochs}): the rest trains the backbone too")
        if self.lr is not None and not 0 < self.lr <= 10:
            raise ValueError("learning rate must be a positive number (at most 10)")
        if not 0 <= self.weight_decay <= 1:
            raise ValueError("weight decay must be between 0 and 1")
        if not 0 <= self.label_smoothing <= 0.5:
            raise ValueError("label smoothing must be between 0 and 0.5")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must be at least 0 and below 1")
        if self.hidden < 1:
            raise ValueError("the head's hidden size must be at least 1")
        if self.batch < 2:
            raise ValueError("batch size must be at least 2")
        if self.patience < 0:
            raise ValueError("patience must be 0 (never stop early) or more epochs")
        if not 0.05 <= self.valid_fraction <= 0.5:
            raise ValueError("the validation share must be between 5 % and 50 % (0.05 to 0.5)")
        if self.image_size < 32 or self.image_size % 32:
            raise ValueError("image size must be a multiple of 32, at least 32")
        if spec.fixed_size and self.image_size != spec.fixed_size:
            raise ValueError(f"{self.backbone} only takes {spec.fixed_size}-pixel images: set the image size to "
                             f"{spec.fixed_size}")
        parse_augment(self.augment)
        if self.views is not None and not 1 <= self.views <= 20:
            raise ValueError("views must be between 1 (the original images only) and 20")

    @classmethod
    def groups(cls) -> dict[str, list[str]]:
        """Field names by the group the CLI's help lists them in (every field in exactly one)."""
        return {title: [f.name for f in fields(cls) if f.name in names] for title, names in FIELD_GROUPS.items()}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build from a dict (config.json, GUI inputs), ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
