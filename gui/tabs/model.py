"""Model tab: backbone, head, freezing mode and the training knobs, with the automatic recipe said in words."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from core.config import TrainConfig
from core.data.transforms import AUGMENTATIONS, parse_augment
from core.models.backbones import BACKBONES, backbone_label
from core.models.heads import HEADS
from core.training.optim import OPTIMIZER_TITLES, SCHEDULER_TITLES
from gui.context import AppContext
from gui.form import FIELDS
from gui.tabs import model_tools

DEFAULTS = TrainConfig(data="")
FREEZE_CHOICES = [
    ("Automatic: picked from your data and this computer (recommended)", "auto"),
    ("Feature extractor: freeze the backbone, train only the new head (fastest)", "frozen"),
    ("Two-stage: the head first, then every layer at 1/100 of the learning rate", "two_stage"),
    ("Fine-tune every layer from the start", "finetune"),
]
BALANCE_CHOICES = [("Automatic", "auto"), ("Off", "none"), ("Weigh the loss", "weights"),
                   ("Draw rare classes more often", "sampler")]
@dataclass
class ModelInputs:
    """The Model tab's input components by TrainConfig field name."""

    components: dict[str, gr.components.Component]
    recipe: gr.Markdown

    def as_list(self) -> list[gr.components.Component]:
        return [self.components[name] for name in FIELDS]

    def __getitem__(self, name: str) -> gr.components.Component:
        return self.components[name]


def build(ctx: AppContext, dataset: gr.Textbox, valid_percent: gr.Slider) -> ModelInputs:
    """Lay out the tab; returns its inputs (the Train tab reads them, the recipe line follows them)."""
    c: dict[str, gr.components.Component] = {}
    gr.Markdown("One click on Train works: the recipe below is chosen from your data. Change anything to experiment.")
    with gr.Row():
        c["backbone"] = gr.Dropdown(
            choices=[(backbone_label(spec), name) for name, spec in BACKBONES.items()], value=DEFAULTS.backbone,
            label="Backbone", info="Pretrained on ImageNet; the small CNN from scratch is the baseline that shows "
                                   "what pretraining buys.", elem_id="backbone",
        )
        c["head"] = gr.Dropdown(choices=[(spec.description, name) for name, spec in HEADS.items()],
                                value=DEFAULTS.head, label="New head", elem_id="head")
    c["freeze"] = gr.Radio(FREEZE_CHOICES, value=DEFAULTS.freeze, label="What trains", elem_id="freeze")
    with gr.Row():
        c["epochs"] = gr.Number(value=0, label="Epochs (0: automatic)", precision=0, minimum=0,
                                maximum=1000, elem_id="epochs")
        c["stage1_epochs"] = gr.Number(value=0, label="Head-only epochs of two-stage (0: automatic)",
                                       precision=0, minimum=0, maximum=1000, elem_id="stage1-epochs")
        c["lr"] = gr.Number(value=0, label="Learning rate of the head (0: automatic)", minimum=0,
                            maximum=10, elem_id="lr")
    recipe = gr.Markdown("Recipe: choose a dataset in the Data tab to see what one click will train.",
                         elem_id="recipe")
    with gr.Accordion("Advanced settings", open=False):
        with gr.Row():
            c["optimizer"] = gr.Dropdown([(t, k) for k, t in OPTIMIZER_TITLES.items()], value=DEFAULTS.optimizer,
                                         label="Optimizer", elem_id="optimizer")
            c["scheduler"] = gr.Dropdown([(t, k) for k, t in SCHEDULER_TITLES.items()], value=DEFAULTS.scheduler,
                                         label="Learning-rate schedule", elem_id="scheduler")
            c["balance"] = gr.Dropdown(BALANCE_CHOICES, value=DEFAULTS.balance, label="Imbalanced classes",
                                       elem_id="balance")
        with gr.Row():
            c["weight_decay"] = gr.Number(value=DEFAULTS.weight_decay, label="Weight decay", minimum=0, maximum=1)
            c["label_smoothing"] = gr.Number(value=DEFAULTS.label_smoothing, label="Label smoothing", minimum=0,
                                             maximum=0.5)
            c["batch"] = gr.Number(value=DEFAULTS.batch, label="Batch size", precision=0, minimum=2, maximum=1024)
            c["image_size"] = gr.Number(value=DEFAULTS.image_size, label="Image size (pixels, multiple of 32)",
                                        precision=0, minimum=32, maximum=1024, step=32)
        with gr.Row():
            c["patience"] = gr.Number(value=DEFAULTS.patience, precision=0, minimum=0, maximum=1000,
                                      label="Early stopping: epochs without improvement (0: never)")
            c["hidden"] = gr.Number(value=DEFAULTS.hidden, label="Hidden units (MLP heads)", precision=0, minimum=1)
            c["dropout"] = gr.Number(value=DEFAULTS.dropout, label="Dropout", minimum=0, maximum=0.95)
            c["seed"] = gr.Number(value=DEFAULTS.seed, label="Seed (same seed, same curves)", precision=0)
        c["augment"] = gr.CheckboxGroup(
            [(f"{name}: {text}", name) for name, text in AUGMENTATIONS.items()], value=parse_augment(DEFAULTS.augment),
            label="Augmentation", elem_id="augment",
            info="Applied to every training image each epoch while the backbone trains; a frozen backbone instead "
                 "reads a few augmented versions of each image once and keeps them.",
        )
        c["views"] = gr.Number(value=0, precision=0, minimum=0, maximum=20, elem_id="views",
                               label="Frozen backbone: versions of each training image, original included "
                                     "(0: automatic, 1: no augmentation)")
    inputs = ModelInputs(c, recipe)
    model_tools.build(ctx, dataset, valid_percent, inputs)
    return inputs
