"""One checkpoint schema for the writer (training) and the readers (prediction, stage 2): weights and plain
metadata (`CheckpointMeta`), written atomically, loaded as untrusted input (weights only) and checked for its
format version and fields."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from core.errors import CheckpointError
from core.system import atomic_write

FORMAT_VERSION = 1
OTHER_FORMAT = {  # whether the file's model format is newer than this app's -> the sentence refusing it
    True: "{name} was written in model format {version}; this version of the app reads format {reads}: update the "
          "app to use it.",
    False: "{name} was written in model format {version}; this version of the app reads format {reads}: train the "
           "run again.",
}


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint holds besides the weights: what prediction needs to rebuild the model, and its result."""

    classes: list[str]
    backbone: str
    head: str
    hidden: int
    dropout: float
    image_size: int
    mean: list[float]
    std: list[float]
    freeze: str
    stage: int
    frozen: bool
    epoch: int
    valid_acc: float | None
    valid_loss: float | None

    def to_payload(self) -> dict:
        """The file's layout (format 1): the head and the preprocessing as small dicts."""
        return {"classes": list(self.classes), "backbone": self.backbone,
                "head": {"name": self.head, "hidden": self.hidden, "dropout": self.dropout},
                "freeze": self.freeze, "stage": self.stage, "frozen": self.frozen,
                "preprocess": {"image_size": self.image_size, "mean": list(self.mean), "std": list(self.std)},
                "epoch": self.epoch, "valid_acc": self.valid_acc, "valid_loss": self.valid_loss}

    @classmethod
    def from_payload(cls, ckpt: dict, name: str = "the model file") -> "CheckpointMeta":
        """Read the metadata of a loaded checkpoint, or say which field is missing. Fields prediction can do without
        take the defaults the earliest format-1 files had (a linear head, no record of the result)."""
        try:
            head, pre = ckpt.get("head", {}), ckpt["preprocess"]
            return cls(classes=list(ckpt["classes"]), backbone=ckpt["backbone"], head=head.get("name", "linear"),
                       hidden=int(head.get("hidden", 512)), dropout=float(head.get("dropout", 0.2)),
                       image_size=int(pre["image_size"]), mean=list(pre["mean"]), std=list(pre["std"]),
                       freeze=ckpt.get("freeze", "frozen"), stage=int(ckpt.get("stage", 1)),
                       frozen=bool(ckpt.get("frozen", True)), epoch=int(ckpt.get("epoch", 0)),
                       valid_acc=ckpt.get("valid_acc"), valid_loss=ckpt.get("valid_loss"))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise CheckpointError(f"{name} lacks what this app needs to rebuild its model ({err!r}).") from None


def save_checkpoint(path: Path, model: torch.nn.Module, meta: CheckpointMeta) -> None:
    """State dict plus plain metadata; nothing that needs pickle code."""
    payload = {"format_version": FORMAT_VERSION, "state_dict": model.state_dict(), **meta.to_payload()}
    atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: Path) -> dict:
    """Load with `weights_only=True`, so a crafted file cannot run code; refuse a format this version cannot read.

    A missing or unreadable file raises its OSError; anything else that is wrong is a CheckpointError.
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as err:  # pickle refusing code, a truncated file, not a torch file at all
        raise CheckpointError(f"{Path(path).name} is not a model file this app can read "
                              f"({type(err).__name__}).") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{Path(path).name} is not a Transfer Studio model file (no weights in it).")
    version = ckpt.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise CheckpointError(OTHER_FORMAT[newer].format(name=Path(path).name, version=version, reads=FORMAT_VERSION))
    return ckpt
