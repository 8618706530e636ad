"""Model tab: backbone, freezing, and the few numbers a first run needs, with defaults that work."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from core.backbones import BACKBONES
from core.config import TrainConfig

DEFAULTS = TrainConfig(data="")


@dataclass
class ModelInputs:
    """The Model tab's inputs, in the order the train handler takes them."""

    backbone: gr.Dropdown
    freeze: gr.Checkbox
    epochs: gr.Number
    lr: gr.Number
    batch: gr.Number

    def as_list(self) -> list[gr.components.Component]:
        return [self.backbone, self.freeze, self.epochs, self.lr, self.batch]


def build() -> ModelInputs:
    gr.Markdown("The defaults train a good model on most small datasets: change them only if you want to experiment.")
    with gr.Row():
        backbone = gr.Dropdown(
            choices=[(spec.description, name) for name, spec in BACKBONES.items()],
            value=DEFAULTS.backbone, label="Pretrained backbone", elem_id="backbone",
        )
        freeze = gr.Checkbox(
            value=DEFAULTS.freeze == "frozen", label="Freeze backbone",
            info="On: use it as a fixed feature extractor (fast, needs few images). "
                 "Off: fine-tune every layer (slower, can fit unusual images better).",
        )
    with gr.Row():
        epochs = gr.Number(value=DEFAULTS.epochs, label="Epochs", precision=0, minimum=1, maximum=1000)
        lr = gr.Number(value=DEFAULTS.lr, label="Learning rate", minimum=1e-7, maximum=1.0)
        batch = gr.Number(value=DEFAULTS.batch, label="Batch size", precision=0, minimum=1, maximum=1024)
    return ModelInputs(backbone, freeze, epochs, lr, batch)
