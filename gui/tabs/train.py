"""Train tab: Start and Stop, live loss/accuracy curves, a progress bar and a short log."""
from __future__ import annotations

import errno
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import gradio as gr

from core.config import FREEZE_MODES
from core.errors import BackboneUnavailable, DatasetError
from core.events import EpochDone, Event, Message, Progress, RunFinished, RunStarted, StageStarted, StepDone, dispatch
from gui import words
from gui.charts import Curves
from gui.context import AppContext, OutsideServedFolders
from gui.form import FIELDS, config_from_inputs
from gui.progress import in_line, progress_html, status_html
from gui.queue import TRAINING_HANDLERS, Ticket
from gui.tabs.model import ModelInputs

REFRESH_S = 0.5
LOG_LINES = 12
SHOWN_AT_ONCE = (RunStarted, EpochDone, RunFinished)  # sent to the page without waiting for REFRESH_S
BASELINES_DIR = "baselines"  # scratch comparison runs live here, so "Newest run" stays the user's own model


def finished_sentence(event: RunFinished) -> str:
    """How a run ended, in words."""
    if event.best_valid_acc is None:
        return words.STOPPED_UNCHECKED
    return (words.RUN_ENDED.format(verb=words.STOPPED if event.stopped else words.FINISHED, epochs=event.epochs_run,
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
    mode = FREEZE_MODES[event.mode].title if event.mode in FREEZE_MODES else event.mode
    return words.RUN_STARTED.format(run_id=event.run_id, classes=len(event.classes), train=event.train_size,
                                    valid=event.valid_size, mode=mode, device=event.device)


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


def _keep(name: str) -> Callable[[Event, "BarState"], None]:
    return lambda event, bar: setattr(bar, name, event)


@dataclass
class BarState:
    """What the progress bar follows: the run's start and stage, its latest step or pass, the user's run's end."""

    started: RunStarted | None = None
    stage: StageStarted | None = None
    latest: Progress | StepDone | None = None  # None between passes, and once a run ended
    finished: RunFinished | None = None  # the user's own run, which a from-scratch comparison may follow
    what: str = ""  # names the run followed when it is not the user's own

    def add(self, event: Event) -> None:
        dispatch(BAR_UPDATES, event, self)

    def html(self, idle: str = words.STARTING) -> str:
        """The bar now: the latest step or pass, else how the user's run ended, else `idle`."""
        if self.latest is not None:
            return progress_html(self.latest, self.started, self.stage, self.what)
        return progress_html(self.finished) if self.finished else status_html(idle)


BAR_UPDATES: dict[type, Callable[[Event, BarState], None]] = {
    RunStarted: _keep("started"), StageStarted: _keep("stage"), Progress: _keep("latest"), StepDone: _keep("latest"),
    RunFinished: lambda event, bar: setattr(bar, "latest", None),
}


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


@contextmanager
def place_in_line(ctx: AppContext) -> Iterator[Ticket]:
    """A ticket in the app's one line of trainings, given up when the block ends (also when the page goes away)."""
    ticket = ctx.trainings.join()
    try:
        yield ticket
    finally:
        ctx.trainings.leave(ticket)


def waiting(ctx: AppContext, ticket: Ticket, stop: threading.Event) -> Iterator[tuple[str, str]]:
    """(bar, status) while trainings ahead of the ticket run, at every look (a repeat is gr.skip()), so that a
    cancelled request is noticed; ends at its turn or once `stop` is set (the caller then checks `stop`)."""
    said = None
    for standing in ctx.trainings.wait(ticket, stop):
        text = in_line(standing.place, standing.eta_s)
        yield (gr.skip(), gr.skip()) if text == said else (status_html(text), words.QUEUED.format(in_line=text))
        said = text


def train_stream(ctx: AppContext, dataset: str, valid_percent, settings: dict, request: gr.Request,
                 compare_scratch: bool = False):
    """Run core.train and yield (progress, loss plot, accuracy plot, log, status) at most every REFRESH_S."""
    curves, log, bar = Curves(), [], BarState()
    try:
        config = config_from_inputs(str(ctx.resolve_dataset(dataset)), valid_percent, str(ctx.runs_dir), settings)
        config.validate()
    except (OutsideServedFolders, ValueError, TypeError) as err:
        yield (status_html(words.NOT_STARTED), curves.figure("loss"), curves.figure("accuracy"), "",
               words.WARN.format(err))
        return
    status, own_status, idle, last_yield, drawn = words.TRAINING, "", words.NOT_STARTED, 0.0, -1
    with ctx.job("train", request.session_hash) as stop, ctx.training_runs() as claim, place_in_line(ctx) as ticket:
        for bar_html, said in waiting(ctx, ticket, stop):  # one training at a time per app: wait for the turn
            yield bar_html, gr.skip(), gr.skip(), gr.skip(), said
        if stop.is_set():
            yield status_html(words.NOT_STARTED), gr.skip(), gr.skip(), gr.skip(), words.LEFT_LINE
            return
        try:
            for is_scratch, event in runs_with_baseline(config, stop, compare_scratch):
                if isinstance(event, StepDone):
                    ctx.trainings.report(ticket, event.eta_s)  # the wait those behind it are told
                if isinstance(event, RunStarted):  # the Runs tab will not delete or continue it meanwhile
                    claim(event.run_id)
                if is_scratch and curves.baseline is None:
                    curves.baseline, bar.stage, bar.latest, bar.what = Curves(), None, None, words.SCRATCH
                (curves.baseline if is_scratch else curves).add(event)
                bar.add(event)
                line = log_line(event, is_scratch)
                if line:
                    log.append(line)
                if isinstance(event, RunFinished) and is_scratch:
                    status = f"{own_status} {scratch_sentence(event)}"
                elif isinstance(event, RunFinished):
                    bar.finished, own_status = event, finished_sentence(event)
                    status = own_status + (words.SCRATCH_NEXT if compare_scratch and not event.stopped else "")
                now = time.monotonic()
                if now - last_yield >= REFRESH_S or isinstance(event, SHOWN_AT_ONCE):
                    last_yield = now
                    # Re-sending unchanged figures would make the browser redraw both charts for nothing.
                    plots = ((gr.skip(), gr.skip()) if curves.points == drawn
                             else (curves.figure("loss"), curves.figure("accuracy")))
                    drawn = curves.points
                    yield bar.html(), *plots, "\n".join(log[-LOG_LINES:]), status
        except (DatasetError, BackboneUnavailable) as err:
            status = words.WARN.format(err)
        except Exception as err:  # the run folder keeps its last good checkpoint; the app stays up
            if bar.what == words.SCRATCH:
                status = words.SCRATCH_FAILED.format(status=own_status, kind=type(err).__name__, error=err)
            elif getattr(err, "errno", None) == errno.ENOSPC:  # core's DiskFull says what is kept and what to do
                status, idle = words.WARN.format(err), words.FAILED
            else:
                status = words.TRAINING_FAILED.format(kind=type(err).__name__, error=err)
                idle = words.FAILED
    bar.latest = None  # the run is over: the bar shows how the user's run ended
    yield bar.html(idle), curves.figure("loss"), curves.figure("accuracy"), "\n".join(log[-LOG_LINES:]), status


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
