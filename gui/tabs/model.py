"""Model tab: the automatic recipe in one sentence, then backbone, head, freezing mode, epochs and learning rate (each
with a plain gloss), and the other knobs under a closed Advanced accordion."""
from __future__ import annotations

import gradio as gr

from core.config import AUTO, FREEZE_MODES, OPTIMIZER_TITLES, SCHEDULER_TITLES
from core.data.transforms import AUGMENTATIONS, parse_augment
from core.models.backbones import BACKBONES, backbone_label
from core.models.heads import HEADS
from gui import words
from gui.context import AppContext
from gui.form import DEFAULTS, ModelInputs
from gui.tabs import model_tools

FREEZE_CHOICES = [(words.FREEZE_AUTO, AUTO)] + [(mode.description, name) for name, mode in FREEZE_MODES.items()]
BALANCE_CHOICES = [(label, name) for name, label in words.BALANCE_CHOICES.items()]


def build(ctx: AppContext, dataset: gr.Textbox, valid_percent: gr.Slider) -> ModelInputs:
    """Lay out the tab; returns its inputs (the Train tab reads them, the recipe line follows them)."""
    c: dict[str, gr.components.Component] = {}
    gr.Markdown(words.MODEL_INTRO)
    recipe = gr.Markdown(words.RECIPE_PLACEHOLDER, elem_id="recipe")
    with gr.Row():
        c["backbone"] = gr.Dropdown(
            choices=[(backbone_label(spec), name) for name, spec in BACKBONES.items()], value=DEFAULTS.backbone,
            label=words.BACKBONE, info=words.BACKBONE_INFO, elem_id="backbone",
        )
        c["head"] = gr.Dropdown(choices=[(spec.description, name) for name, spec in HEADS.items()],
                                value=DEFAULTS.head, label=words.HEAD, info=words.HEAD_INFO, elem_id="head")
    c["freeze"] = gr.Radio(FREEZE_CHOICES, value=DEFAULTS.freeze, label=words.WHAT_TRAINS,
                           info=words.WHAT_TRAINS_INFO, elem_id="freeze")
    with gr.Row():
        c["epochs"] = gr.Number(value=0, label=words.EPOCHS, info=words.EPOCHS_INFO, precision=0, minimum=0,
                                maximum=1000, elem_id="epochs")
        c["lr"] = gr.Number(value=0, label=words.LEARNING_RATE, info=words.LEARNING_RATE_INFO, minimum=0, maximum=10,
                            elem_id="lr")
    with gr.Accordion(words.ADVANCED, open=False, elem_id="model-advanced"):
        c["stage1_epochs"] = gr.Number(value=0, label=words.STAGE1_EPOCHS, info=words.STAGE1_EPOCHS_INFO, precision=0,
                                       minimum=0, maximum=1000, elem_id="stage1-epochs")
        with gr.Row():
            c["optimizer"] = gr.Dropdown([(t, k) for k, t in OPTIMIZER_TITLES.items()], value=DEFAULTS.optimizer,
                                         label=words.OPTIMIZER, elem_id="optimizer")
            c["scheduler"] = gr.Dropdown([(t, k) for k, t in SCHEDULER_TITLES.items()], value=DEFAULTS.scheduler,
                                         label=words.SCHEDULE, elem_id="scheduler")
            c["balance"] = gr.Dropdown(BALANCE_CHOICES, value=DEFAULTS.balance, label=words.BALANCE,
                                       elem_id="balance")
            c["when_solved"] = gr.Dropdown([(t, k) for k, t in words.WHEN_SOLVED_CHOICES.items()],
                                           value=DEFAULTS.when_solved, label=words.WHEN_SOLVED, elem_id="when-solved")
        with gr.Row():
            c["weight_decay"] = gr.Number(value=DEFAULTS.weight_decay, label=words.WEIGHT_DECAY, minimum=0, maximum=1)
            c["label_smoothing"] = gr.Number(value=DEFAULTS.label_smoothing, label=words.LABEL_SMOOTHING, minimum=0,
                                             maximum=0.5)
            c["batch"] = gr.Number(value=DEFAULTS.batch, label=words.BATCH, precision=0, minimum=2, maximum=1024)
            c["image_size"] = gr.Number(value=DEFAULTS.image_size, label=words.IMAGE_SIZE, precision=0, minimum=32,
                                        maximum=1024, step=32)
        with gr.Row():
            c["patience"] = gr.Number(value=DEFAULTS.patience, precision=0, minimum=0, maximum=1000,
                                      label=words.PATIENCE)
            c["hidden"] = gr.Number(value=DEFAULTS.hidden, label=words.HIDDEN, precision=0, minimum=1)
            c["dropout"] = gr.Number(value=DEFAULTS.dropout, label=words.DROPOUT, minimum=0, maximum=0.95)
            c["seed"] = gr.Number(value=DEFAULTS.seed, label=words.SEED, precision=0)
        c["augment"] = gr.CheckboxGroup(
            [(words.AUGMENT_CHOICE.format(name=name, text=text), name) for name, text in AUGMENTATIONS.items()],
            value=parse_augment(DEFAULTS.augment), label=words.AUGMENTATION, elem_id="augment",
            info=words.AUGMENTATION_INFO,
        )
        c["views"] = gr.Number(value=0, precision=0, minimum=0, maximum=20, elem_id="views", label=words.VIEWS)
    inputs = ModelInputs(c, recipe)
    model_tools.build(ctx, dataset, valid_percent, inputs)
    return inputs
