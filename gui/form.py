"""The Model tab's settings as TrainConfig values: which fields it shows, and how its raw values convert."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from core.config import TrainConfig

if TYPE_CHECKING:
    import gradio as gr

DEFAULTS = TrainConfig(data="")  # what the form shows before anyone touches it
# The Model tab's inputs, in the order every handler takes them; each is a TrainConfig field.
FIELDS = ("backbone", "head", "freeze", "epochs", "stage1_epochs", "lr", "optimizer", "scheduler", "weight_decay",
          "label_smoothing", "batch", "image_size", "augment", "views", "patience", "balance", "when_solved", "hidden",
          "dropout", "seed")
AUTOMATIC_WHEN_EMPTY = ("epochs", "stage1_epochs", "views", "lr")  # 0 or an empty box: the recipe chooses
WHOLE_NUMBERS = ("epochs", "stage1_epochs", "views", "hidden", "batch", "image_size", "patience", "seed")
_KNOWN = {f.name for f in fields(TrainConfig)}


@dataclass
class ModelInputs:
    """The Model tab's input components by TrainConfig field name."""

    components: dict[str, gr.components.Component]
    recipe: gr.Markdown

    def as_list(self) -> list[gr.components.Component]:
        """The inputs in FIELDS order, the order every handler of the form takes them."""
        return [self.components[name] for name in FIELDS]

    def by_field(self) -> dict[str, gr.components.Component]:
        """The inputs keyed by FIELDS name, in FIELDS order (for handlers that take them as keyword arguments)."""
        return {name: self.components[name] for name in FIELDS}

    def __getitem__(self, name: str) -> gr.components.Component:
        return self.components[name]


def config_from_inputs(data: str, valid_percent, out: str, values: dict) -> TrainConfig:
    """A TrainConfig from the tab's values: empty (or 0) epochs, views or learning rate mean automatic.

    Gradio's number boxes give floats and its checkboxes a list; a value left out (or None) keeps the default.
    """
    settings = {name: value for name, value in values.items() if name in _KNOWN and value is not None}
    for name in AUTOMATIC_WHEN_EMPTY:
        settings[name] = None if values.get(name) in (None, "", 0) else values[name]
    for name in WHOLE_NUMBERS:
        if settings.get(name) is not None:
            settings[name] = int(settings[name])
    if settings["lr"] is not None:
        settings["lr"] = float(settings["lr"])
    augment = settings.get("augment", DEFAULTS.augment)
    if isinstance(augment, (list, tuple)):
        augment = ",".join(augment) or "none"
    percent = 20 if valid_percent is None else valid_percent
    settings.update(data=data, out=out, augment=augment, valid_fraction=float(percent) / 100)
    return TrainConfig(**settings)
