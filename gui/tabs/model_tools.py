"""Model tab helpers: the recipe sentence, the model summary and the learning-rate finder."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from core.data.transforms import parse_augment
from core.errors import BackboneUnavailable, DatasetError
from gui import words
from gui.charts import lr_figure
from gui.context import AppContext, OutsideServedFolders
from gui.form import DEFAULTS, FIELDS, ModelInputs, config_from_inputs
from gui.progress import progress_then_result, status_html

if TYPE_CHECKING:
    from core.training.recipes import Plan

PROBLEMS = (OutsideServedFolders, DatasetError, BackboneUnavailable, ValueError, TypeError)
SAME = {"augment": lambda a, b: set(parse_augment(a)) == set(parse_augment(b))}  # fields compared other than by ==


@dataclass(frozen=True)
class Planned:
    """The resolved plan for the form's settings, with what the sentence says about it."""

    plan: Plan
    classes: int
    train: int  # training pictures
    valid: int  # pictures held back to check the model
    device: str  # "cpu" or "cuda"
    changed: tuple[str, ...]  # the form's fields set away from what the form starts with (automatic or default)


def _planned(ctx: AppContext, dataset: str, percent, values: dict) -> Planned:
    """The resolved plan and what the sentence says about it, for the current inputs (raises a PROBLEMS error)."""
    from core.data.scan import scan_dataset
    from core.system import resolve_device
    from core.training.recipes import plan, train_counts

    config = config_from_inputs(str(ctx.resolve_dataset(dataset)), percent, str(ctx.runs_dir), values)
    config.validate()
    index = scan_dataset(config.data, config.valid_fraction, config.seed)
    counts, valid, device = train_counts(index), len(index.splits["valid"]), resolve_device(config.device).type
    changed = tuple(name for name in FIELDS
                    if not SAME.get(name, lambda a, b: a == b)(getattr(config, name), getattr(DEFAULTS, name)))
    return Planned(plan(config, counts, device, valid), len(index.classes), sum(counts.values()), valid, device,
                   changed)


def run_seconds(planned: Planned) -> float:
    """Rough seconds of the whole run: the frozen backbone reads each picture once (a forward pass costs about
    1/EVAL_SPEEDUP of a training step), or, when every layer trains from the start, the held-back pictures each
    epoch; then the plan's own estimate of the training through the backbone. The head alone takes little."""
    from core.config import freeze_mode
    from core.training.recipes import finetune_images_per_s
    from core.training.stages import EVAL_SPEEDUP

    config = planned.plan.config
    forward = finetune_images_per_s(config.backbone, config.image_size, planned.device) * EVAL_SPEEDUP
    read = (planned.train * config.views + planned.valid if freeze_mode(config.freeze).starts_frozen
            else planned.valid * config.epochs)
    return read / forward + planned.plan.finetune_s


def plain_duration(seconds: float) -> str:
    """A run's length in words: "less than a minute", "about 3 minutes", "about 2 hours"."""
    text = next(text for bound, text in words.DURATIONS if seconds < bound)
    return text.format(minutes=round(seconds / 60), hours=round(seconds / 3600))


def recipe_sentence(planned: Planned) -> str:
    """The recipe in one sentence: how many pictures, about how long here, and which settings the user changed; where
    deeper layers train only if the pictures turn out hard, the longest it may take too."""
    seconds, deeper = run_seconds(planned), planned.plan.deeper_s
    maybe = deeper and planned.plan.config.when_solved == "skip"  # the automatic recipe: only where it pays
    fields = {"pictures": planned.train + planned.valid, "duration": plain_duration(seconds + (0 if maybe else deeper)),
              "machine": words.MACHINES.get(planned.device, words.MACHINES["cpu"])}
    if planned.changed:
        names = words.CHANGED_JOIN.join(words.KNOB_NAMES.get(name, name) for name in planned.changed)
        said = words.RECIPE_CHANGED.format(changed=names, **fields)
    else:
        said = words.RECIPE_AUTO.format(**fields)
    return said + words.RECIPE_UP_TO.format(longest=plain_duration(seconds + deeper)) if maybe else said


def recipe_markdown(ctx: AppContext, dataset: str, percent, *values) -> str:
    """What one click on Train will do with these settings, in one sentence, with the exact recipe and why under a
    closed fold; or what stops it."""
    from core.models.backbones import get_backbone

    settings = dict(zip(FIELDS, values))
    try:
        planned = _planned(ctx, dataset, percent, settings)
    except OutsideServedFolders:
        return words.RECIPE_PLACEHOLDER
    except PROBLEMS as err:
        return words.WARN.format(err)
    spec = get_backbone(planned.plan.config.backbone)
    if not spec.available():
        return words.WARN.format(words.WEIGHTS_MISSING.format(sentence=spec.missing_weights()))
    return f"{recipe_sentence(planned)}\n\n{words.RECIPE_DETAILS.format(summary=words.DETAILS, recipe=planned.plan.reason)}"


def summary_markdown(ctx: AppContext, dataset: str, percent, *values) -> str:
    """Parameters (total and trainable), size and input of the model these settings build, with its layer table."""
    from core.training.summary import summarize

    try:
        planned = _planned(ctx, dataset, percent, dict(zip(FIELDS, values)))
        summary, classes = summarize(planned.plan.config, planned.classes), planned.classes
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
