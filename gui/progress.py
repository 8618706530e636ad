"""The progress bar every long job shows (health check, training, LR finder), drawn from the job's latest event.

Whether a job is over comes from its events (a RunFinished) or from the caller saying so (`done`), never from the
wording of a sentence.
"""
from __future__ import annotations

import html
from collections.abc import Generator, Iterable, Mapping
from typing import Callable, TypeVar

import gradio as gr

from core.events import (
    CheckProgress,
    EvaluationProgress,
    Event,
    FeaturesProgress,
    FolderProgress,
    Progress,
    RunFinished,
    RunStarted,
    StageStarted,
    StepDone,
    dispatch,
    relay,
)
from gui import words

Bar = tuple[float, str]  # how full (0 to 1), and what it says
R = TypeVar("R")


def format_duration(seconds: float) -> str:
    """Minutes and seconds, as in 1:05."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _speed(rate: float) -> str:
    return words.IMAGES_PER_S.format(rate=rate)


def _pass(label: str, event: Progress) -> Bar:
    """A pass over many files: count, speed (once there is one) and what is left of it."""
    parts = [label] + ([_speed(event.images_per_s)] if event.images_per_s > 0 else [])
    parts.append(words.ETA.format(duration=format_duration(event.eta_s)))
    return event.done / max(event.total, 1), " · ".join(parts)


def _checking(event: CheckProgress, started, stage) -> Bar:
    return _pass(words.CHECKING.format(done=event.done, total=event.total), event)


def _reading(event: FeaturesProgress, started, stage) -> Bar:
    cached = words.FROM_CACHE.format(cached=event.cached) if event.cached else ""
    return _pass(words.READING.format(done=event.done, total=event.total, cached=cached), event)


def _step(event: StepDone, started: RunStarted | None, stage: StageStarted | None) -> Bar:
    """A training step; without a RunStarted it is the learning-rate finder's sweep."""
    fraction = event.step / max(event.total_steps, 1)
    if started is None:
        return fraction, " · ".join((words.SWEEPING.format(step=event.step, total=event.total_steps),
                                     words.ETA.format(duration=format_duration(event.eta_s))))
    in_stage = words.IN_STAGE.format(stage=stage.stage, name=stage.name) if stage else ""
    speed = _speed(event.images_per_s) if event.images_per_s > 0 else words.HEAD_ON_CACHED
    return fraction, " · ".join((
        words.EPOCH_STEP.format(epoch=event.epoch, epochs=started.epochs, stage=in_stage, step=event.step,
                                total=event.total_steps),
        speed, words.RUN_ETA.format(duration=format_duration(event.eta_s))))


def _finished(event: RunFinished, started, stage) -> Bar:
    return 1.0, words.STOPPED if event.stopped else words.FINISHED


def _evaluating(event: EvaluationProgress, started, stage) -> Bar:
    return _pass(words.EVALUATING.format(done=event.done, total=event.total), event)


def _predicting(event: FolderProgress, started, stage) -> Bar:
    return _pass(words.PREDICTING.format(done=event.done, total=event.total), event)


BARS: dict[type, Callable[..., Bar]] = {
    EvaluationProgress: _evaluating,
    FolderProgress: _predicting,
    CheckProgress: _checking,
    FeaturesProgress: _reading,
    StepDone: _step,
    RunFinished: _finished,
}


def _html(fraction: float, label: str) -> str:
    return ('<div class="ts-progress"><div class="ts-bar" style="width:{:.1f}%"></div>'
            '<span>{}</span></div>').format(100 * fraction, html.escape(label))


def status_html(text: str = words.WAITING, done: bool = False) -> str:
    """The bar at rest with a few words: empty, or full when the job is over (`done`)."""
    return _html(1.0 if done else 0.0, text)


def progress_html(event: Event | None, started: RunStarted | None = None, stage: StageStarted | None = None,
                  what: str = "") -> str:
    """The bar for a job's latest event: a pass over files, a training step, or the run's end.

    `started` and `stage` give a training step its epoch count and stage; `what` names a run that is not the
    user's own (the from-scratch comparison).
    """
    bar = dispatch(BARS, event, started, stage)
    if bar is None:
        return status_html()
    fraction, label = bar
    return _html(fraction, words.ON_BEHALF.format(what=what, label=label) if what else label)


DRAWN: dict[type, Callable[[Event], str]] = {kind: progress_html for kind in BARS}  # the events a job's bar draws


def progress_then_result(items: Iterable, kind: type[R], others: int,
                         drawn: Mapping[type, Callable[..., str]] = DRAWN) -> Generator[tuple, None, R | None]:
    """The loop of every tab whose job yields progress events, then its result: yield the bar for each event that
    `drawn` draws (by type), with the tab's `others` outputs left as they are, and return the result, the one item
    of type `kind` (None when the job stopped before it)."""
    rest = (gr.skip(),) * others
    events = relay(items, kind)
    while True:
        try:
            event = next(events)
        except StopIteration as end:
            return end.value
        bar = dispatch(drawn, event)
        if bar is not None:
            yield bar, *rest


def in_line(place: int, eta_s: float) -> str:
    """A waiting training's place and wait in words: "second in line, about 2 min"."""
    name = words.PLACES[place - 1] if 0 < place <= len(words.PLACES) else words.PLACE_NUMBER.format(place=place)
    minutes = round(eta_s / 60)
    wait = words.WAIT_MINUTES.format(minutes=minutes) if minutes >= 1 else words.WAIT_UNDER_MINUTE
    return words.IN_LINE.format(place=name, wait=wait)


def queue_html(place: int, eta_s: float) -> str:
    """The bar of a training waiting for the one ahead of it: empty, saying its place in line and the wait."""
    return status_html(in_line(place, eta_s))
