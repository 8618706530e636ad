"""The one training configuration shared by the CLI, the GUI and the run folder."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

FREEZE_MODES = ("frozen", "finetune")


@dataclass
class TrainConfig:
    """Everything a run needs; the defaults are what one click on Train gets."""

    data: str
    backbone: str = "efficientnet_lite0"
    freeze: str = "frozen"
    epochs: int = 20
    lr: float = 3e-3
    batch: int = 32
    image_size: int = 224
    seed: int = 0
    valid_fraction: float = 0.2
    out: str = "runs"
    device: str = "auto"
    num_workers: int = 0

    def validate(self) -> None:
        """Reject values no run could use, with a sentence a non-coder can act on."""
        if self.freeze not in FREEZE_MODES:
            raise ValueError(f"freeze must be one of {', '.join(FREEZE_MODES)}, not {self.freeze!r}")
        if self.epochs < 1:
            raise ValueError("epochs must be at least 1")
        if not self.lr > 0:
            raise ValueError("learning rate must be a positive number")
        if self.batch < 1:
            raise ValueError("batch size must be at least 1")
        if not 0.05 <= self.valid_fraction <= 0.5:
            raise ValueError("the validation share must be between 5 % and 50 % (0.05 to 0.5)")
        if self.image_size < 32 or self.image_size % 32:
            raise ValueError("image size must be a multiple of 32, at least 32")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build from a dict (config.json, GUI inputs), ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
