"""Model tab helpers: the recipe sentence, the model summary and the learning-rate finder."""
from __future__ import annotations

import gradio as gr

from core.errors import BackboneUnavailable, DatasetError
from gui import words
from gui.charts import lr_figure
from gui.context import AppContext, OutsideServedFolders
from gui.form import FIELDS, ModelInputs, config_from_inputs
from gui.progress import progress_then_result, status_html

PROBLEMS = (OutsideServedFolders, DatasetError, BackboneUnavailable, ValueError, TypeError)


def _planned(ctx: AppContext, dataset: str, percent, values: dict):
    """The resolved plan and the dataset's class count for the current inputs (raises a PROBLEMS error)."""
    from core.data.scan import scan_dataset
    from core.system import resolve_device
    from core.training.recipes import plan, train_counts

    config = config_from_inputs(str(ctx.resolve_dataset(dataset)), percent, str(ctx.runs_dir), values)
    config.validate()
    index = scan_dataset(config.data, config.valid_fraction, config.seed)
    recipe = plan(config, train_counts(index), resolve_device(config.device).type, len(index.splits["valid"]))
    return recipe, len(index.classes)


def recipe_markdown(ctx: AppContext, dataset: str, percent, *values) -> str:
    """What one click on Train will do with these settings, and why, or what stops it."""
    from core.models.backbones import get_backbone

    settings = dict(zip(FIELDS, values))
    try:
        recipe, _ = _planned(ctx, dataset, percent, settings)
    except OutsideServedFolders:
        return words.RECIPE_PLACEHOLDER
    except PROBLEMS as err:
        return words.WARN.format(err)
    spec = get_backbone(recipe.config.backbone)
    if not spec.available():
        return words.WARN.format(words.WEIGHTS_MISSING.format(sentence=spec.missing_weights()))
    return recipe.reason


def summary_markdown(ctx: AppContext, dataset: str, percent, *values) -> str:
    """Parameters (total and trainable), size and input of the model these settings build, with its layer table."""
    from core.training.summary import summarize

    try:
        recipe, classes = _planned(ctx, dataset, percent, dict(zip(FIELDS, values)))
        summary = summarize(recipe.config, classes)
    except PROBLEMS as err:
        return words.WARN.format(err)
    trainable = words.TRAINABLE.format(count=summary.trainable_params)
    if summary.trainable_params_stage2 is not None:
        trainable += words.TRAINABLE_TWO_STAGES.format(count=summary.trainable_params_stage2)
    elif summary.trainable_params < summary.total_params:
        trainable += words.TRAINABLE_HEAD_ONLY
    return words.SUMMARY.format(total=summary.total_params, trainable=trainable, mb=summary.size_mb,
                                size="×".join(map(str, summary.input_size)), classes=classes, table=summary.table)


def find_lr_stream(ctx: AppContext, dataset: str, percent, *values):
    """Run the LR finder; yield (progress, figure, sentence, suggestion) as it goes."""
    from core.training.lr_finder import LRFinding, find_lr

    if ctx.trainings.busy():  # the sweep trains too: on two cores each would slow the other
        yield status_html(words.LR_NOT_RUN_YET), gr.skip(), words.WARN.format(words.LR_WHILE_TRAINING), None
        return
    try:
        config = config_from_inputs(str(ctx.resolve_dataset(dataset)), percent, str(ctx.runs_dir),
                                    dict(zip(FIELDS, values)))
        found = yield from progress_then_result(find_lr(config), LRFinding, others=3)  # features, then sweep
        if found is not None:
            sentence = words.LR_SUGGESTION.format(lr=found.suggestion, trains=found.trains, steps=len(found.lrs),
                                                  seconds=found.seconds)
            yield (status_html(words.LR_SWEPT, done=True), lr_figure(found.lrs, found.losses, found.suggestion),
                   sentence, found.suggestion)
    except (*PROBLEMS, RuntimeError) as err:
        yield status_html(words.LR_NOT_RUN), gr.skip(), words.WARN.format(err), None


def in_order(settings: dict) -> list:
    """The form's values by field name, in FIELDS order (what the helpers above take); a field left out is None."""
    return [settings.get(name) for name in FIELDS]


def build(ctx: AppContext, dataset: gr.Textbox, valid_percent: gr.Slider, inputs: ModelInputs) -> None:
    """The summary and LR-finder panels, and the wiring that keeps the recipe sentence current."""
    with gr.Accordion(words.LR_FINDER, open=False):
        gr.Markdown(words.LR_FINDER_INTRO)
        with gr.Row():
            find = gr.Button(words.FIND_LR, elem_id="lr-find")
            use = gr.Button(words.USE_LR, elem_id="lr-use")
        progress = gr.HTML(status_html(words.LR_NOT_RUN_YET))
        plot = gr.Plot(label=words.LR_TITLE, elem_id="lr-plot")
        result = gr.Markdown(elem_id="lr-result")
        suggestion = gr.State(None)
    with gr.Accordion(words.SUMMARY_ACCORDION, open=False):
        show = gr.Button(words.SHOW_SUMMARY, elem_id="summary-button")
        summary = gr.Markdown(elem_id="model-summary")

    # The form's fields reach each handler as keyword arguments named after FIELDS, which also names the
    # parameters of the /recipe, /model_summary and /find_lr endpoints (as /train's).
    def recipe(dataset, valid_percent, **settings):
        return recipe_markdown(ctx, dataset, valid_percent, *in_order(settings))

    def summarize(dataset, valid_percent, **settings):
        return summary_markdown(ctx, dataset, valid_percent, *in_order(settings))

    def sweep(dataset, valid_percent, **settings):
        yield from find_lr_stream(ctx, dataset, valid_percent, *in_order(settings))

    form = {"inputs": [dataset, valid_percent], "inputs_kwargs": inputs.by_field()}
    triggers = [inputs[name].change for name in ("backbone", "freeze", "epochs", "stage1_epochs", "lr", "optimizer",
                                                 "image_size", "balance", "batch", "when_solved")]
    gr.on(triggers + [valid_percent.release], recipe, outputs=inputs.recipe, api_name="recipe", show_progress="hidden",
          **form)
    show.click(summarize, outputs=summary, api_name="model_summary", **form)
    find.click(sweep, outputs=[progress, plot, result, suggestion], api_name="find_lr", concurrency_limit=1, **form)
    use.click(lambda s, current: current if s is None else float(f"{s:.1e}"), [suggestion, inputs["lr"]],
              inputs["lr"], api_visibility="private")
