"""Runs tab, one run: train it N more epochs in its own folder, or resume a failed run, with its curves growing."""
from __future__ import annotations

from collections.abc import Iterator

import gradio as gr

from core.errors import CheckpointError, DatasetError
from core.events import EpochDone, RunFinished, StageStarted
from gui import words
from gui.charts import epoch_figure
from gui.context import AppContext
from gui.progress import status_html
from gui.queue import TRAINING_HANDLERS
from gui.training_job import TrainingPage, train_in_line

MORE_EPOCHS = 5
PROBLEMS = (LookupError, ValueError, CheckpointError, DatasetError)  # each says why in a sentence


def ended_sentence(event: RunFinished) -> str:
    """How the continued run ended, in words."""
    if event.best_valid_acc is None:
        return words.STOPPED_UNCHECKED
    return words.CONTINUED_ENDED.format(verb=words.STOPPED if event.stopped else words.FINISHED,
                                        run_id=event.run_id, epochs=event.epochs_run, acc=event.best_valid_acc,
                                        best_epoch=event.best_epoch)


class _Chart:
    """The run's epochs as logged before, then the new ones as they come; figures redrawn only when they grew."""

    def __init__(self, ctx: AppContext, run_id: str):
        from core.runstore.log import read_curves

        old = read_curves(ctx.run_folder(run_id))
        self.points, self.stages = list(old.points), list(old.stages)
        self.continued_at = self.points[-1].epoch if self.points else None
        self.drawn = -1

    def add(self, event) -> None:
        if isinstance(event, EpochDone):
            self.points.append(event)
        elif isinstance(event, StageStarted) and all(s.stage != event.stage for s in self.stages):
            self.stages.append(event)

    def figures(self, force: bool = False) -> tuple:
        if not force and len(self.points) == self.drawn:  # the browser would redraw both charts for nothing
            return gr.skip(), gr.skip()
        self.drawn = len(self.points)
        return tuple(epoch_figure(self.points, metric, self.stages, self.continued_at)
                     for metric in ("loss", "accuracy"))


class EndedPage(TrainingPage):
    """A run trained further: the status line says how it ended, and a refusal in `problems` as a sentence."""

    problems: tuple[type[Exception], ...] = PROBLEMS

    def add(self, event) -> None:
        super().add(event)
        if isinstance(event, RunFinished):
            self.bar.finished, self.status = event, ended_sentence(event)

    def failed(self, err: Exception) -> None:
        if isinstance(err, self.problems):
            self.status = words.WARN.format(err)
        else:
            super().failed(err)


class ContinuePage(EndedPage):
    """The Runs tab's view of a run trained further: the bar, its whole curves (old epochs, then the new ones), and
    the status."""

    between = 2  # loss chart, accuracy chart

    def __init__(self, chart: _Chart) -> None:
        super().__init__()
        self.chart = chart

    def add(self, event) -> None:
        self.chart.add(event)
        super().add(event)

    def middle(self, final: bool) -> tuple:
        return self.chart.figures(force=final)


def continue_stream(ctx: AppContext, run_id: str | None, epochs: int | None,
                    request: gr.Request) -> Iterator[tuple]:
    """Carry a run on (`epochs` more, or None to resume a failed run's plan) and yield (progress, loss figure,
    accuracy figure, status) at most every REFRESH_S; a job of the session's "train" kind, so Stop stops it."""
    from core.training.continued import continue_run

    try:
        path, chart = ctx.run_folder(run_id), _Chart(ctx, run_id)
        if epochs is not None and (int(epochs) != epochs or epochs < 1):
            raise ValueError(words.MORE_EPOCHS_WHOLE)
    except PROBLEMS as err:
        yield status_html(words.NOT_STARTED), gr.skip(), gr.skip(), words.WARN.format(err)
        return
    with ctx.training_runs() as claim:  # claimed before it waits: nobody deletes or continues it meanwhile
        if not claim(run_id) or _still_running(path):
            yield status_html(words.NOT_STARTED), gr.skip(), gr.skip(), words.WARN.format(
                words.ALREADY_TRAINING.format(run_id=run_id))
            return
        more = None if epochs is None else int(epochs)
        yield from train_in_line(ctx, request.session_hash, lambda stop: continue_run(path, more, stop),
                                 ContinuePage(chart))


def _still_running(path) -> bool:
    """Whether the run's own log says it trains now (in another process, or a killed one not yet timed out)."""
    from core.runstore.table import read_record

    record = read_record(path)
    return record is not None and record.status == "running"


def build(ctx: AppContext, opened: gr.Dropdown, loss_plot: gr.Plot, acc_plot: gr.Plot):
    """Lay out the controls under the opened run's curves, which they stream into; returns the events after
    which the run was trained further (or refused), so that the tab can re-read its runs."""
    with gr.Row():
        more = gr.Number(MORE_EPOCHS, precision=0, minimum=1, maximum=1000, label=words.MORE_EPOCHS,
                         elem_id="runs-more-epochs", scale=1)
        go_on = gr.Button(words.CONTINUE_TRAINING, variant="primary", elem_id="runs-continue", scale=1)
        resume = gr.Button(words.RESUME, elem_id="runs-resume", scale=1)
        stop = gr.Button(words.STOP, variant="stop", elem_id="runs-stop", scale=0, min_width=100)
    progress = gr.HTML(status_html(), elem_id="runs-progress")
    status = gr.Markdown(elem_id="runs-continue-status")

    def carry_on(request: gr.Request, run_id, epochs):
        yield from continue_stream(ctx, run_id, 0 if epochs is None else epochs, request)  # blank: not a resume

    def resume_failed(request: gr.Request, run_id):
        yield from continue_stream(ctx, run_id, None, request)

    def halt(request: gr.Request):
        return words.STOPPING if ctx.request_stop("train", request.session_hash) else words.NOTHING_TRAINING

    outputs = [progress, loss_plot, acc_plot, status]
    continued = go_on.click(carry_on, [opened, more], outputs, api_name="continue_run",
                            concurrency_limit=TRAINING_HANDLERS, concurrency_id="training", show_progress="hidden")
    resumed = resume.click(resume_failed, opened, outputs, api_visibility="private",
                           concurrency_limit=TRAINING_HANDLERS, concurrency_id="training", show_progress="hidden")
    stop.click(halt, None, status, api_visibility="private", concurrency_limit=None, show_progress="hidden")
    return [continued, resumed]
