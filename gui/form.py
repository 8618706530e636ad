"""The Model tab's settings as TrainConfig values: which fields it shows, and how its raw values convert."""
from __future__ import annotations

from dataclasses import fields

from core.config import TrainConfig

DEFAULTS = TrainConfig(data="")
# The Model tab's inputs, in the order every handler takes them; each is a TrainConfig field.
FIELDS = ("backbone", "head", "freeze", "epochs", "stage1_epochs", "lr", "optimizer", "scheduler", "weight_decay",
          "label_smoothing", "batch", "image_size", "augment", "views", "patience", "balance", "hidden", "dropout",
          "seed")


def _blank_to_none(value):
    return None if value in (None, "", 0) else value


def config_from_inputs(data: str, valid_percent, out: str, values: dict) -> TrainConfig:
    """A TrainConfig from the tab's values: empty (or 0) epochs, views or learning rate mean automatic."""
    augment = values.get("augment", DEFAULTS.augment)
    if isinstance(augment, (list, tuple)):
        augment = ",".join(augment) or "none"
    known = {f.name for f in fields(TrainConfig)}
    settings = {k: v for k, v in values.items() if k in known and v is not None}
    settings.update(
        data=data, out=out, augment=augment,
        valid_fraction=float(valid_percent if valid_percent is not None else 20) / 100,
        epochs=_int_or_none(values.get("epochs")), stage1_epochs=_int_or_none(values.get("stage1_epochs")),
        views=_int_or_none(values.get("views")),
        lr=None if _blank_to_none(values.get("lr")) is None else float(values["lr"]),
    )
    for name in ("hidden", "batch", "image_size", "patience", "seed"):
        if name in settings:
            settings[name] = int(settings[name])
    return TrainConfig(**settings)


def _int_or_none(value) -> int | None:
    value = _blank_to_none(value)
    return None if value is None else int(value)


