"""Train tab: Start and Stop, live loss/accuracy curves, a progress bar and a short log."""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import gradio as gr

from core.errors import BackboneUnavailable, DatasetError
from core.events import EpochDone, FeaturesProgress, Message, RunFinished, RunStarted, StageStarted, StepDone
from gui.charts import Curves, progress_html
from gui.context import AppContext, OutsideServedFolders
from gui.form import FIELDS, config_from_inputs
from gui.tabs.model import ModelInputs

REFRESH_S = 0.5
MODES = {"frozen": "frozen backbone", "finetune": "every layer training", "two_stage": "two-stage"}
LOG_LINES = 12
SCRATCH = "From scratch"
BASELINES_DIR = "baselines"  # scratch comparison runs live here, so "Newest run" stays the user's own model


def finished_sentence(event: RunFinished) -> str:
    """How a run ended, in words."""
    if event.best_valid_acc is None:
        return "Stopped before the model could be checked on the validation images; nothing was saved."
    verb = "Stopped" if event.stopped else "Finished"
    return (f"{verb} after {event.epochs_run} epoch(s) in {event.wall_s:.0f} s: the best model got "
            f"{event.best_valid_acc:.1%} of the validation images right (epoch {event.best_epoch}). "
            f"It is saved as run {event.run_id}; try it in the Predict tab."
            + (f" {event.skipped} file(s) skipped (see the Data tab)." if event.skipped else ""))


def _log_line(event) -> str | None:
    if isinstance(event, RunStarted):
        return (f"Run {event.run_id}: {len(event.classes)} classes, {event.train_size} training and "
                f"{event.valid_size} validation images, {MODES[event.mode]} on {event.device}.")
    if isinstance(event, (Message, StageStarted)):
        return event.text
    if isinstance(event, EpochDone):
        best = " (best so far, saved)" if event.is_best else ""
        return (f"Epoch {event.epoch}: train loss {event.train_loss:.3f}, acc {event.train_acc:.1%} · "
                f"valid loss {event.valid_loss:.3f}, acc {event.valid_acc:.1%}{best}")
    if isinstance(event, RunFinished):
        return finished_sentence(event)
    return None


def scratch_sentence(event: RunFinished) -> str:
    """How the from-scratch comparison ended, in words."""
    if event.best_valid_acc is None:
        return "The from-scratch comparison was stopped before its first epoch ended."
    return (f"For comparison, the small CNN trained from scratch on the same images reached "
            f"{event.best_valid_acc:.1%} (epoch {event.best_epoch}, {event.wall_s:.0f} s)"
            + (", stopped early." if event.stopped else "."))


def runs_with_baseline(config, stop: threading.Event, compare_scratch: bool):
    """(is_scratch, event): the run's own events, then, if asked and it finished, a from-scratch CNN's on the same
    data, split, batch and number of epochs, so both runs share the step axis."""
    from core.training.trainer import train

    started = finished = None
    for event in train(config, stop):
        started = event if isinstance(event, RunStarted) else started
        finished = event if isinstance(event, RunFinished) else finished
        yield False, event
    if not compare_scratch or finished is None or finished.stopped or stop.is_set():
        return
    baseline = replace(config, backbone="scratch_cnn", freeze="finetune", epochs=started.epochs, stage1_epochs=None,
                       lr=None, out=str(Path(config.out) / BASELINES_DIR))
    for event in train(baseline, stop):
        yield True, event


def train_stream(ctx: AppContext, dataset: str, valid_percent, settings: dict, request: gr.Request,
                 compare_scratch: bool = False):
    """Run core.train and yield (progress, loss plot, accuracy plot, log, status) at most every REFRESH_S."""
    curves, log = Curves(), []
    try:
        config = config_from_inputs(str(ctx.resolve_dataset(dataset)), valid_percent, str(ctx.runs_dir), settings)
        config.validate()
    except (OutsideServedFolders, ValueError, TypeError) as err:
        yield progress_html(None, None, "Not started"), curves.figure("loss"), curves.figure("accuracy"), "", f"⚠️ {err}"
        return
    stop = ctx.stops[request.session_hash] = threading.Event()
    started, stage, last_yield, status, outcome = None, None, 0.0, "Training…", "Starting…"
    latest, drawn, what, own_status = None, -1, "", ""
    try:
        for is_scratch, event in runs_with_baseline(config, stop, compare_scratch):
            if is_scratch and curves.baseline is None:
                curves.baseline, stage, what = Curves(), None, SCRATCH
            (curves.baseline if is_scratch else curves).add(event)
            if isinstance(event, RunStarted):
                started = event
            if isinstance(event, StageStarted):
                stage = event
            if isinstance(event, (FeaturesProgress, StepDone)):
                latest = event
            line = _log_line(event)
            if line and is_scratch:
                line = f"{SCRATCH}: " + (scratch_sentence(event) if isinstance(event, RunFinished) else line)
            if line:
                log.append(line)
            if isinstance(event, RunFinished):
                if is_scratch:
                    status = f"{own_status} {scratch_sentence(event)}"
                else:
                    own_status, outcome = finished_sentence(event), "Stopped" if event.stopped else "Finished"
                    status = own_status + (" Now training a small CNN from scratch on the same images, for "
                                           "comparison…" if compare_scratch and not event.stopped else "")
                latest = None
            now = time.monotonic()
            if now - last_yield >= REFRESH_S or isinstance(event, (RunStarted, EpochDone, RunFinished)):
                last_yield = now
                bar = progress_html(latest, started, None if latest else outcome, stage, what)
                # Re-sending unchanged figures would make the browser redraw both charts for nothing.
                plots = (gr.skip(), gr.skip()) if curves.points == drawn else (curves.figure("loss"), curves.figure("accuracy"))
                drawn = curves.points
                yield bar, *plots, "\n".join(log[-LOG_LINES:]), status
    except (DatasetError, BackboneUnavailable) as err:
        status, outcome = f"⚠️ {err}", "Not started"
    except Exception as err:  # the run folder keeps its last good checkpoint; the app stays up
        if what == SCRATCH:
            status = f"{own_status} ⚠️ The from-scratch comparison failed: {type(err).__name__}: {err}."
        else:
            status = f"⚠️ Training failed: {type(err).__name__}: {err}. The best checkpoint saved so far is kept."
            outcome = "Failed"
    finally:
        ctx.stops.pop(request.session_hash, None)
    yield (progress_html(None, started, outcome), curves.figure("loss"), curves.figure("accuracy"),
           "\n".join(log[-LOG_LINES:]), status)


def terminal_commands(ctx: AppContext, dataset: str, valid_percent, settings: dict) -> str:
    """The same run as `python -m core train …`, and data-parallel under torchrun."""
    import shlex

    from core.cli import config_arguments
    from core.training.distributed import torchrun_command

    try:
        config = config_from_inputs(str(ctx.resolve_dataset(dataset)), valid_percent, str(ctx.runs_dir), settings)
    except (OutsideServedFolders, ValueError, TypeError) as err:
        return f"# {err}"
    args = [shlex.quote(a) for a in config_arguments(config)]
    return (f"python -m core train {' '.join(args)}\n\n"
            "# data-parallel, one process per GPU (or per group of CPU cores):\n" + torchrun_command(args, 2))


def stop_training(ctx: AppContext, request: gr.Request) -> str:
    """Ask this session's run to stop after the current step; the best checkpoint stays."""
    stop = ctx.stops.get(request.session_hash)
    if stop is None:
        return "Nothing is training."
    stop.set()
    return "Stopping after the current step…"


def build(ctx: AppContext, dataset_box: gr.Textbox, valid_percent: gr.Slider, model: ModelInputs):
    """Lay out the tab and wire Start/Stop; returns the train event so other tabs can follow it."""
    with gr.Row():
        start = gr.Button("Start training", variant="primary", elem_id="start-training")
        stop = gr.Button("Stop", variant="stop", elem_id="stop-training")
    compare = gr.Checkbox(
        False, label="Afterwards, also train a small CNN from scratch on the same images and draw its curves on "
                     "these charts (shows what the pretrained backbone buys; takes a few minutes more)",
        elem_id="compare-scratch",
    )
    progress = gr.HTML(progress_html(None, None), elem_id="train-progress")
    status = gr.Markdown(elem_id="train-status")
    empty = Curves()
    with gr.Row():
        loss_plot = gr.Plot(empty.figure("loss"), label="Loss", elem_id="loss-plot")
        acc_plot = gr.Plot(empty.figure("accuracy"), label="Accuracy", elem_id="acc-plot")
    log = gr.Textbox(label="Log", lines=8, max_lines=LOG_LINES, interactive=False, elem_id="train-log")
    with gr.Accordion("The same run from a terminal", open=False):
        command = gr.Code(language="shell", interactive=False, elem_id="terminal-command",
                          value="# Start a run to see its command line.")

    def run(dataset, valid_percent, backbone, head, freeze, epochs, stage1_epochs, lr, optimizer, scheduler,
            weight_decay, label_smoothing, batch, image_size, augment, views, patience, balance, hidden, dropout,
            seed, compare_scratch, request: gr.Request):
        values = locals()
        yield from train_stream(ctx, dataset, valid_percent, {name: values[name] for name in FIELDS}, request,
                                bool(compare_scratch))

    def halt(request: gr.Request):
        return stop_training(ctx, request)

    def commands(dataset, valid_percent, *values):
        return terminal_commands(ctx, dataset, valid_percent, dict(zip(FIELDS, values)))

    busy = start.click(lambda: gr.Button("Training…", interactive=False), None, start, api_visibility="private")
    start.click(commands, [dataset_box, valid_percent, *model.as_list()], command, api_visibility="private",
                show_progress="hidden")
    event = busy.then(
        run, [dataset_box, valid_percent, *model.as_list(), compare], [progress, loss_plot, acc_plot, log, status],
        api_name="train", concurrency_limit=1, show_progress="hidden",
    )
    event.then(lambda: gr.Button("Start training", interactive=True), None, start, api_visibility="private")
    stop.click(halt, None, status, api_name="stop", concurrency_limit=None, show_progress="hidden")
    return event
