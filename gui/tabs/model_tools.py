"""Model tab helpers: the recipe sentence, the model summary and the learning-rate finder."""
from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from core.errors import BackboneUnavailable, DatasetError
from core.events import FeaturesProgress, StepDone
from gui.charts import lr_figure, progress_html
from gui.context import AppContext, OutsideServedFolders
from gui.form import FIELDS, config_from_inputs

if TYPE_CHECKING:
    from gui.tabs.model import ModelInputs

PROBLEMS = (OutsideServedFolders, DatasetError, BackboneUnavailable, ValueError, TypeError)


def _planned(ctx: AppContext, dataset: str, percent, values: dict):
    """The resolved plan and the dataset's class count for the current inputs (raises a PROBLEMS error)."""
    from core.data.scan import scan_dataset
    from core.system import resolve_device
    from core.training.recipes import plan, train_counts

    config = config_from_inputs(str(ctx.resolve_dataset(dataset)), percent, str(ctx.runs_dir), values)
    config.validate()
    index = scan_dataset(config.data, config.valid_fraction, config.seed)
    return plan(config, train_counts(index), resolve_device(config.device).type), len(index.classes)


def recipe_markdown(ctx: AppContext, dataset: str, percent, *values) -> str:
    """What one click on Train will do with these settings, and why, or what stops it."""
    from core.models.backbones import get_backbone

    settings = dict(zip(FIELDS, values))
    try:
        recipe, _ = _planned(ctx, dataset, percent, settings)
    except OutsideServedFolders:
        return "Recipe: choose a dataset in the Data tab to see what one click will train."
    except PROBLEMS as err:
        return f"⚠️ {err}"
    spec = get_backbone(recipe.config.backbone)
    if not spec.available():
        return (f"⚠️ {spec.title} needs its ImageNet weights file {spec.weights_file} ({spec.weights_mb:.0f} MB) in "
                f"{spec.weights_path().parent}; this computer cannot download it. Copy it there from a machine that "
                "can, or pick a bundled backbone.")
    return recipe.reason


def summary_markdown(ctx: AppContext, dataset: str, percent, *values) -> str:
    """Parameters (total and trainable), size and input of the model these settings build, with its layer table."""
    from core.models.summary import summarize

    try:
        recipe, classes = _planned(ctx, dataset, percent, dict(zip(FIELDS, values)))
        summary = summarize(recipe.config, classes)
    except PROBLEMS as err:
        return f"⚠️ {err}"
    trainable = f"{summary.trainable_params:,} trainable"
    if summary.trainable_params_stage2 is not None:
        trainable += f" in stage 1 (the head), {summary.trainable_params_stage2:,} in stage 2"
    elif summary.trainable_params < summary.total_params:
        trainable += " (the head; the backbone is frozen)"
    return (f"**{summary.total_params:,} parameters**, {trainable} · **{summary.size_mb} MB** · input "
            f"{'×'.join(map(str, summary.input_size))} · {classes} classes\n\n```\n{summary.table}\n```")


def find_lr_stream(ctx: AppContext, dataset: str, percent, *values):
    """Run the LR finder; yield (progress, figure, sentence, suggestion) as it goes."""
    from core.training.lr_finder import LRFinding, find_lr

    try:
        config = config_from_inputs(str(ctx.resolve_dataset(dataset)), percent, str(ctx.runs_dir),
                                    dict(zip(FIELDS, values)))
        for item in find_lr(config):
            if isinstance(item, (FeaturesProgress, StepDone)):
                yield progress_html(item, None, None), gr.skip(), gr.skip(), gr.skip()
            elif isinstance(item, LRFinding):
                sentence = (f"Suggested learning rate: **{item.suggestion:.1e}** (where the loss falls fastest; "
                            f"swept the {item.trains} over {len(item.lrs)} steps in {item.seconds:.0f} s). "
                            "Click *Use it* to copy it into the learning-rate box.")
                yield (progress_html(None, None, "Finished the sweep"), lr_figure(item.lrs, item.losses, item.suggestion),
                       sentence, item.suggestion)
    except (*PROBLEMS, RuntimeError) as err:
        yield progress_html(None, None, "Not run"), gr.skip(), f"⚠️ {err}", None


def build(ctx: AppContext, dataset: gr.Textbox, valid_percent: gr.Slider, inputs: "ModelInputs") -> None:
    """The summary and LR-finder panels, and the wiring that keeps the recipe sentence current."""
    shared = [dataset, valid_percent, *inputs.as_list()]
    with gr.Accordion("Learning-rate finder", open=False):
        gr.Markdown("A short sweep raises the learning rate step by step and records the loss; a good rate is where "
                    "the loss falls fastest. It does not change anything until you click *Use it*.")
        with gr.Row():
            find = gr.Button("Find a learning rate", elem_id="lr-find")
            use = gr.Button("Use it", elem_id="lr-use")
        progress = gr.HTML(progress_html(None, None, "Not run yet"))
        plot = gr.Plot(label="Loss against learning rate", elem_id="lr-plot")
        result = gr.Markdown(elem_id="lr-result")
        suggestion = gr.State(None)
    with gr.Accordion("Model summary", open=False):
        show = gr.Button("Show the model summary", elem_id="summary-button")
        summary = gr.Markdown(elem_id="model-summary")

    def recipe(dataset, percent, *values):
        return recipe_markdown(ctx, dataset, percent, *values)

    def summarize(dataset, percent, *values):
        return summary_markdown(ctx, dataset, percent, *values)

    def sweep(dataset, percent, *values):
        yield from find_lr_stream(ctx, dataset, percent, *values)

    triggers = [inputs[name].change for name in ("backbone", "freeze", "epochs", "stage1_epochs", "lr", "optimizer",
                                                 "image_size", "balance", "batch")]
    gr.on(triggers + [valid_percent.release], recipe, shared, inputs.recipe, api_name="recipe", show_progress="hidden")
    show.click(summarize, shared, summary, api_name="model_summary")
    find.click(sweep, shared, [progress, plot, result, suggestion], api_name="find_lr", concurrency_limit=1)
    use.click(lambda s, current: current if s is None else float(f"{s:.1e}"), [suggestion, inputs["lr"]], inputs["lr"],
              api_visibility="private")
