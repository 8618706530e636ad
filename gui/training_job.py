"""One training of the app, from the Train tab's Start or the Runs tab's Continue and Resume: wait in the app's line,
claim the run, train in a thread of its own, and redraw the page at most every REFRESH_S.

The training never waits for the page. When the handler itself pulled the training's events, the training stood
still while Gradio built and sent the charts, forced at every epoch: on short epochs that more than doubled the
run, and the ETA, paced on the first epoch's steps, counted none of it.
"""
from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import NamedTuple

import gradio as gr

from core.events import EpochDone, Event, Progress, RunFinished, RunStarted, StageStarted, StepDone, dispatch
from gui import words
from gui.context import AppContext
from gui.progress import in_line, progress_html, status_html
from gui.queue import Ticket

REFRESH_S = 0.5  # the page is redrawn at most this often, except for what ALWAYS_DRAWN names


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


def _epoch_eta(event: EpochDone, bar: BarState) -> None:
    """The run's ETA once the epoch's validation and checkpoints are counted, on the bar of its last step."""
    if event.eta_s is not None and isinstance(bar.latest, StepDone):
        bar.latest = replace(bar.latest, eta_s=event.eta_s)


BAR_UPDATES: dict[type, Callable[[Event, BarState], None]] = {
    RunStarted: _keep("started"), StageStarted: _keep("stage"), Progress: _keep("latest"), StepDone: _keep("latest"),
    EpochDone: _epoch_eta, RunFinished: lambda event, bar: setattr(bar, "latest", None),
}


class TrainingPage:
    """What a tab shows of one training: the bar, the tab's own outputs (`middle`), then a status line."""

    between = 0  # how many outputs lie between the bar and the status line

    def __init__(self) -> None:
        self.bar = BarState()
        self.status, self.idle = words.TRAINING, words.NOT_STARTED  # idle: what the bar says if no run ever ended

    def add(self, event: Event) -> None:
        """Take one event of the training."""
        self.bar.add(event)

    def middle(self, final: bool) -> tuple:
        """The tab's outputs between the bar and the status line (`final`: the training is over)."""
        return ()

    def failed(self, err: Exception) -> None:
        """The training raised `err`: say so in the status line (and the bar, through `idle`)."""
        self.status, self.idle = words.TRAINING_FAILED.format(kind=type(err).__name__, error=err), words.FAILED

    def draw(self) -> tuple:
        return self.bar.html(), *self.middle(False), self.status

    def end(self) -> tuple:
        self.bar.latest = None  # the run is over: the bar shows how the user's run ended
        return self.bar.html(self.idle), *self.middle(True), self.status


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


class _Failed(NamedTuple):
    error: BaseException


_END = object()


def _pump(events: Iterable[Event], out: queue.SimpleQueue) -> None:
    """The training's thread: every event into `out`, then what it raised (if it did), then _END."""
    try:
        for event in events:
            out.put(event)
    except BaseException as err:  # noqa: BLE001 -- handed to the page's thread, which says it
        out.put(_Failed(err))
    finally:
        out.put(_END)


class _Urgency:
    """Which events are drawn at once: a run's start and end, a new stage, and a run's first epoch (the first
    validation point, and the first ETA that has seen a whole epoch)."""

    def __init__(self) -> None:
        self.first_epoch = True

    def __call__(self, event: Event) -> bool:
        if isinstance(event, RunStarted):
            self.first_epoch = True
        if isinstance(event, EpochDone) and self.first_epoch:
            self.first_epoch = False
            return True
        return isinstance(event, (RunStarted, StageStarted, RunFinished))


def _taken(out: queue.SimpleQueue, wait: float) -> list:
    """What `out` holds: the first item waited for (`wait` seconds at most), then all that are there already;
    empty when none came in time."""
    try:
        items = [out.get(timeout=wait)]
    except queue.Empty:
        return []
    with contextlib.suppress(queue.Empty):
        while True:
            items.append(out.get_nowait())
    return items


class Training:
    """A training in a thread of its own: its events go into a queue, then what it raised (if it did), then _END."""

    def __init__(self, events: Iterable[Event]):
        self.out: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=_pump, args=(events, self.out), name="training", daemon=True)
        self.thread.start()

    def then(self, release: Callable[[], None]) -> None:
        """Call `release` once the training has ended: now if it has, else from a thread of its own, so that the
        caller never waits (Gradio closes a handler on its event loop, which must not stand still meanwhile)."""
        if not self.thread.is_alive():
            self.thread.join()
            release()
            return
        threading.Thread(target=lambda: (self.thread.join(), release()), name="training-end", daemon=True).start()


def in_turns(training: Training, refresh_s: float = REFRESH_S, beat_s: float = 1.0) -> Iterator[list[Event]]:
    """What `training` yields, in lists: at once when one must be drawn at once (_Urgency), else at most every
    `refresh_s` (what came meanwhile waits at most that long); an empty list after `beat_s` without any, so that
    the page can be closed between two looks. What the training raised is raised here, after the events before it."""
    batch: list[Event] = []
    drawn_at, urgent, urgency = -math.inf, False, _Urgency()
    while True:
        wait = beat_s if not batch else max(0.0, drawn_at + refresh_s - time.monotonic())
        came = _taken(training.out, wait)  # all that came meanwhile, or nothing once it is time to draw
        if not came and not batch:
            yield []
        for item in came:
            if item is _END or isinstance(item, _Failed):
                if batch:
                    yield batch
                if isinstance(item, _Failed):
                    raise item.error
                return
            batch.append(item)
            urgent = urgency(item) or urgent
        if batch and (urgent or time.monotonic() - drawn_at >= refresh_s):
            yield batch
            batch, drawn_at, urgent = [], time.monotonic(), False


def _noted(ctx: AppContext, ticket: Ticket, claim: Callable[[str], bool], events: Iterable[Event]) -> Iterator[Event]:
    """The events, noted as they come (in the training's thread): the run claimed as soon as it starts (the Runs tab
    will not delete or continue it meanwhile), and its ETA told to the line (the wait those behind it are told)."""
    for event in events:
        if isinstance(event, (StepDone, EpochDone)) and event.eta_s is not None:
            ctx.trainings.report(ticket, event.eta_s)
        if isinstance(event, RunStarted):
            claim(event.run_id)
        yield event


def train_in_line(ctx: AppContext, session: str, events: Callable[[threading.Event], Iterable[Event]],
                  page: TrainingPage) -> Iterator[tuple]:
    """The session's "train" job (its Stop stops it): wait for its turn in the app's line, then train (`events`,
    given the stop event) and yield the page's outputs (bar, `page.between` outputs, status) as it goes. If the
    page goes away, the training stops after its current step, and its job, run and place in line are given up
    when it has ended, without this handler waiting for it."""
    quiet = (gr.skip(),) * (page.between + 2)
    with contextlib.ExitStack() as held:
        stop = held.enter_context(ctx.job("train", session))
        claim = held.enter_context(ctx.training_runs())
        ticket = held.enter_context(place_in_line(ctx))
        for bar_html, said in waiting(ctx, ticket, stop):  # one training at a time per app: wait for the turn
            yield bar_html, *quiet[2:], said
        if stop.is_set():
            yield status_html(words.NOT_STARTED), *quiet[2:], words.LEFT_LINE
            return
        training, release = Training(_noted(ctx, ticket, claim, events(stop))), held.pop_all().close
    try:
        for batch in in_turns(training):
            for event in batch:
                page.add(event)
            yield page.draw() if batch else quiet
    except Exception as err:  # noqa: BLE001 -- the run folder keeps its last good checkpoint; the app stays up
        page.failed(err)
    finally:
        if training.thread.is_alive():  # the page went away or was closed: stop after the current step
            stop.set()
        training.then(release)
    yield page.end()
