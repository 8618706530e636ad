"""Train tab: Start and Stop, live loss/accuracy curves, a progress bar and a short log."""
from __future__ import annotations

import errno
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Callable

import gradio as gr

from core.config import FREEZE_MODES
from core.errors import BackboneUnavailable, DatasetError
from core.events import EpochDone, Event, Message, RunFinished, RunStarted, StageStarted, dispatch
from core.runstore.folder import BASELINES
from gui import words
from gui.charts import Curves
from gui.context import AppContext, OutsideServedFolders
from gui.form import FIELDS, ModelInputs, config_from_inputs
from gui.progress import status_html
from gui.queue import TRAINING_HANDLERS
from gui.training_job import TrainingPage, train_in_line

LOG_LINES = 12
# Building both charts costs Plotly about 75 ms of CPU (growing with the steps): on 2 cores, time taken from the
# training. While it trains they are redrawn at most this often; the bar and the log at every draw (REFRESH_S).
CHARTS_EVERY_S = 2.0
BASELINES_DIR = BASELINES  # scratch comparison runs live here, so "Newest run" stays the user's own model


def finished_sentence(event: RunFinished) -> str:
    """How a run ended, in words."""
    if event.best_valid_acc is None:
        return words.STOPPED_UNCHECKED
    return (words.RUN_ENDED.format(verb=words.STOPPED if event.stopped else words.DONE, epochs=event.epochs_run,
                                   seconds=event.wall_s, acc=event.best_valid_acc, best_epoch=event.best_epoch,
                                   run_id=event.run_id)
            + (words.RUN_SKIPPED.format(count=event.skipped) if event.skipped else ""))


def scratch_sentence(event: RunFinished) -> str:
    """How the from-scratch comparison ended, in words."""
    if event.best_valid_acc is None:
        return words.SCRATCH_STOPPED_EARLY
    template = words.SCRATCH_ENDED_EARLY if event.stopped else words.SCRATCH_ENDED
    return template.format(acc=event.best_valid_acc, best_epoch=event.best_epoch, seconds=event.wall_s)


def _started_line(event: RunStarted) -> str:
    """The run's first line: its data, what trains and on what, in plain words (core's names where none fits)."""
    mode = words.MODE_WORDS.get(event.mode) or (FREEZE_MODES[event.mode].title if event.mode in FREEZE_MODES
                                                else event.mode)
    device = words.DEVICE_WORDS.get(event.device.partition(":")[0], event.device)
    return words.RUN_STARTED.format(run_id=event.run_id, classes=len(event.classes), train=event.train_size,
                                    valid=event.valid_size, mode=mode, device=device)


def _epoch_line(event: EpochDone) -> str:
    return words.EPOCH_LINE.format(epoch=event.epoch, train_loss=event.train_loss, train_acc=event.train_acc,
                                   valid_loss=event.valid_loss, valid_acc=event.valid_acc,
                                   best=words.BEST_SO_FAR if event.is_best else "")


def _text(event: Message | StageStarted) -> str:
    return event.text


# The log's line for each kind of event (none for the others); the comparison run ends with its own sentence.
LOG: dict[type, Callable[[Event], str]] = {RunStarted: _started_line, Message: _text, StageStarted: _text,
                                           EpochDone: _epoch_line, RunFinished: finished_sentence}
SCRATCH_LOG = {**LOG, RunFinished: scratch_sentence}


def log_line(event: Event, scratch: bool = False) -> str | None:
    """The log's line for an event, or None; lines of the from-scratch comparison say so."""
    line = dispatch(SCRATCH_LOG if scratch else LOG, event)
    return words.SCRATCH_LOG.format(line=line) if line and scratch else line


def runs_with_baseline(config, stop: threading.Event, compare_scratch: bool) -> Iterator[Event]:
    """The run's own events, then, if asked and it finished, a from-scratch CNN's on the same data, split, batch
    and number of epochs, so both runs share the step axis (its events are those after the run's RunFinished)."""
    from core.training.trainer import train

    started = finished = None
    for event in train(config, stop):
        started = event if isinstance(event, RunStarted) else started
        finished = event if isinstance(event, RunFinished) else finished
        yield event
    if not compare_scratch or finished is None or finished.stopped or stop.is_set():
        return
    baseline = replace(config, backbone="scratch_cnn", freeze="finetune", epochs=started.epochs, stage1_epochs=None,
                       lr=None, out=str(Path(config.out) / BASELINES_DIR))
    yield from train(baseline, stop)


class TrainPage(TrainingPage):
    """The Train tab's view of a training: the bar, both charts, the log and the status; after the user's run, the
    from-scratch comparison's curves over its own and its bar named."""

    between = 3  # loss chart, accuracy chart, log

    def __init__(self, compare_scratch: bool) -> None:
        super().__init__()
        self.compare_scratch, self.scratch = compare_scratch, False
        self.curves, self.log, self.own_status, self.drawn, self.charted_at = Curves(), [], "", -1, -math.inf

    def add(self, event: Event) -> None:
        if isinstance(event, RunStarted) and self.bar.finished is not None:  # the user's run ended: the comparison
            self.scratch = True
            self.curves.baseline, self.bar.stage, self.bar.latest, self.bar.what = Curves(), None, None, words.SCRATCH
        (self.curves.baseline if self.scratch else self.curves).add(event)
        super().add(event)
        line = log_line(event, self.scratch)
        if line:
            self.log.append(line)
        if isinstance(event, RunFinished) and self.scratch:
            self.status = f"{self.own_status} {scratch_sentence(event)}"
        elif isinstance(event, RunFinished):
            self.bar.finished, self.own_status = event, finished_sentence(event)
            self.status = self.own_status + (words.SCRATCH_NEXT if self.compare_scratch and not event.stopped else "")

    def middle(self, final: bool) -> tuple:
        # Re-sending unchanged figures would make the browser redraw both charts for nothing.
        now = time.monotonic()
        if final or (self.curves.points != self.drawn and now - self.charted_at >= CHARTS_EVERY_S):
            plots = (self.curves.figure("loss"), self.curves.figure("accuracy"))
            self.drawn, self.charted_at = self.curves.points, now
        else:
            plots = (gr.skip(), gr.skip())
        return *plots, "\n".join(self.log[-LOG_LINES:])

    def failed(self, err: Exception) -> None:
        if isinstance(err, BackboneUnavailable):  # the hint the Model tab's recipe box gives before a start
            self.status = words.WARN.format(words.WEIGHTS_MISSING.format(sentence=err))
        elif isinstance(err, DatasetError):
            self.status = words.WARN.format(err)
        elif self.scratch:
            self.status = words.SCRATCH_FAILED.format(status=self.own_status, kind=type(err).__name__, error=err)
        elif getattr(err, "errno", None) == errno.ENOSPC:  # core's DiskFull says what is kept and what to do
            self.status, self.idle = words.WARN.format(err), words.FAILED
        else:
            super().failed(err)


def train_stream(ctx: AppContext, dataset: str, valid_percent, settings: dict, request: gr.Request,
                 compare_scratch: bool = False):
    """Run core.train and yield (progress, loss plot, accuracy plot, log, status) at most every REFRESH_S."""
    try:
        config = config_from_inputs(str(ctx.resolve_dataset(dataset)), valid_percent, str(ctx.runs_dir), settings)
        config.validate()
    except (OutsideServedFolders, ValueError, TypeError) as err:
        empty = Curves()
        yield (status_html(words.NOT_STARTED), empty.figure("loss"), empty.figure("accuracy"), "",
               words.WARN.format(err))
        return
    yield from train_in_line(ctx, request.session_hash, lambda stop: runs_with_baseline(config, stop, compare_scratch),
                             TrainPage(compare_scratch))


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
    return f"python -m core train {' '.join(args)}\n\n{words.TORCHRUN_COMMENT}\n" + torchrun_command(args, 2)


def stop_training(ctx: AppContext, request: gr.Request) -> str:
    """Ask this session's run to stop after the current step; the best checkpoint stays."""
    return words.STOPPING if ctx.request_stop("train", request.session_hash) else words.NOTHING_TRAINING


def build(ctx: AppContext, dataset_box: gr.Textbox, valid_percent: gr.Slider, model: ModelInputs):
    """Lay out the tab and wire Start/Stop; returns the train event so other tabs can follow it."""
    with gr.Row():
        start = gr.Button(words.START_TRAINING, variant="primary", elem_id="start-training")
        stop = gr.Button(words.STOP, variant="stop", elem_id="stop-training")
    compare = gr.Checkbox(False, label=words.COMPARE_SCRATCH, elem_id="compare-scratch")
    progress = gr.HTML(status_html(), elem_id="train-progress")
    status = gr.Markdown(elem_id="train-status")
    empty = Curves()
    with gr.Row():
        loss_plot = gr.Plot(empty.figure("loss"), label=words.LOSS, elem_id="loss-plot")
        acc_plot = gr.Plot(empty.figure("accuracy"), label=words.ACCURACY, elem_id="acc-plot")
    log = gr.Textbox(label=words.LOG, lines=8, max_lines=LOG_LINES, interactive=False, elem_id="train-log")
    with gr.Accordion(words.TERMINAL, open=False):
        command = gr.Code(language="shell", interactive=False, elem_id="terminal-command",
                          value=words.TERMINAL_PLACEHOLDER)

    # The form's fields reach `run` as keyword arguments named after FIELDS (also the /train API's parameter
    # names), so a field added to the form needs no change here.
    def run(request: gr.Request, dataset, valid_percent, compare_scratch=False, **settings):
        yield from train_stream(ctx, dataset, valid_percent, settings, request, bool(compare_scratch))

    def halt(request: gr.Request):
        return stop_training(ctx, request)

    def commands(dataset, valid_percent, *values):
        return terminal_commands(ctx, dataset, valid_percent, dict(zip(FIELDS, values)))

    busy = start.click(lambda: gr.Button(words.TRAINING_BUTTON, interactive=False), None, start,
                       api_visibility="private")
    start.click(commands, [dataset_box, valid_percent, *model.as_list()], command, api_visibility="private",
                show_progress="hidden")
    event = busy.then(
        run, [dataset_box, valid_percent], [progress, loss_plot, acc_plot, log, status],
        inputs_kwargs={**model.by_field(), "compare_scratch": compare},
        api_name="train", concurrency_limit=TRAINING_HANDLERS, concurrency_id="training", show_progress="hidden",
    )
    event.then(lambda: gr.Button(words.START_TRAINING, interactive=True), None, start, api_visibility="private")
    stop.click(halt, None, status, api_name="stop", concurrency_limit=None, show_progress="hidden")
    return event
