"""Live Plotly charts from training events (loss, accuracy), and the Data and Model tabs' figures."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import plotly.graph_objects as go

from core.events import EpochDone, Event, StageStarted, StepDone, dispatch
from core.series import smooth
from gui import words

TRAIN_COLOUR, VALID_COLOUR, SCRATCH_COLOUR = "#4f6bed", "#e8590c", "#2f9e44"


@dataclass
class Curves:
    """Step and epoch series accumulated from events; figures are rebuilt from them on demand."""

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    acc: list[float] = field(default_factory=list)
    epoch_steps: list[int] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_acc: list[float] = field(default_factory=list)
    stages: list[StageStarted] = field(default_factory=list)
    baseline: "Curves | None" = None  # a from-scratch run on the same data, drawn over this one

    @property
    def points(self) -> int:
        """How many points the figures hold; unchanged means there is nothing new to draw."""
        return len(self.steps) + len(self.epoch_steps) + (self.baseline.points if self.baseline else 0)

    def add(self, event: Event) -> None:
        """Take one event into the series; events that draw nothing are ignored."""
        dispatch(SERIES, event, self)

    def figure(self, metric: str) -> go.Figure:
        """Loss or accuracy: raw train steps (faint), smoothed train line, valid per epoch as markers."""
        train, valid = (self.loss, self.valid_loss) if metric == "loss" else (self.acc, self.valid_acc)
        fig = go.Figure()
        fig.add_scatter(x=self.steps, y=train, mode="lines", name=words.TRAIN_EACH_STEP,
                        line={"color": TRAIN_COLOUR, "width": 1}, opacity=0.3)
        fig.add_scatter(x=self.steps, y=smooth(train), mode="lines", name=words.TRAIN_SMOOTHED,
                        line={"color": TRAIN_COLOUR, "width": 2.5})
        fig.add_scatter(x=self.epoch_steps, y=valid, mode="lines+markers", name=words.VALID_EACH_EPOCH,
                        line={"color": VALID_COLOUR, "width": 1.5, "dash": "dot"}, marker={"size": 8})
        if self.baseline is not None:
            base = self.baseline
            fig.add_scatter(x=base.steps, y=smooth(base.loss if metric == "loss" else base.acc), mode="lines",
                            name=words.SCRATCH_TRAIN, line={"color": SCRATCH_COLOUR, "width": 1.5}, opacity=0.5)
            fig.add_scatter(x=base.epoch_steps, y=base.valid_loss if metric == "loss" else base.valid_acc,
                            mode="lines+markers", name=words.SCRATCH_VALID,
                            line={"color": SCRATCH_COLOUR, "width": 1.5, "dash": "dot"}, marker={"size": 7})
        fig.update_layout(
            title={"text": words.LOSS if metric == "loss" else words.ACCURACY, "x": 0.02},
            xaxis_title=words.STEP_AXIS, height=320 if self.baseline is None else 360,
            margin={"l": 50, "r": 20, "t": 45, "b": 40}, legend={"orientation": "h", "y": -0.25},
            template="plotly_white",
        )
        if metric == "accuracy":
            fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
        for stage in self.stages:  # where two-stage training unfroze the backbone
            fig.add_vline(x=stage.step + 0.5, line={"color": "#868e96", "dash": "dash", "width": 1.5},
                          annotation_text=words.STAGE_MARK.format(stage=stage.stage, name=stage.name),
                          annotation_position="top right")
        return fig


def _add_step(event: StepDone, curves: Curves) -> None:
    curves.steps.append(event.step)
    curves.loss.append(event.loss)
    curves.acc.append(event.acc)


def _add_epoch(event: EpochDone, curves: Curves) -> None:
    curves.epoch_steps.append(event.step)
    curves.valid_loss.append(event.valid_loss)
    curves.valid_acc.append(event.valid_acc)


def _add_stage(event: StageStarted, curves: Curves) -> None:
    curves.stages.append(event)


SERIES: dict[type, Callable[[Event, Curves], None]] = {StepDone: _add_step, EpochDone: _add_epoch,
                                                       StageStarted: _add_stage}


SPLIT_COLOURS = {"train": TRAIN_COLOUR, "valid": VALID_COLOUR, "test": "#2b8a3e"}


def counts_figure(splits: dict[str, dict[str, int]]) -> go.Figure:
    """Images per class, one bar per split, so a thin class or a missing validation set shows at a glance."""
    fig = go.Figure()
    for split, counts in splits.items():
        fig.add_bar(x=list(counts), y=list(counts.values()), name=split, marker_color=SPLIT_COLOURS.get(split))
    fig.update_layout(
        barmode="group", height=280, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white",
        title={"text": words.COUNTS_TITLE, "x": 0.02}, legend={"orientation": "h", "y": 1.12, "x": 0.5},
    )
    return fig


def lr_figure(lrs: list[float], losses: list[float], suggestion: float) -> go.Figure:
    """The LR finder's loss curve on a log axis, with the suggested rate marked."""
    fig = go.Figure()
    fig.add_scatter(x=lrs, y=losses, mode="lines", name=words.LR_LOSS, line={"color": TRAIN_COLOUR, "width": 2.5})
    nearest = min(range(len(lrs)), key=lambda i: abs(lrs[i] / suggestion - 1))
    fig.add_scatter(x=[suggestion], y=[losses[nearest]], mode="markers+text", name=words.LR_SUGGESTION_MARK,
                    marker={"color": VALID_COLOUR, "size": 12}, text=[f"{suggestion:.1e}"], textposition="top center")
    fig.update_layout(
        height=300, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white", showlegend=False,
        title={"text": words.LR_TITLE, "x": 0.02}, xaxis_title=words.LR_AXIS,
    )
    fig.update_xaxes(type="log", exponentformat="power")
    return fig


def epoch_figure(points: list, metric: str, stages: list = (), continued_at: int | None = None) -> go.Figure:
    """A saved run's curve per epoch (train and valid), from its metrics.jsonl points or live EpochDone events;
    stage switches and the epoch a continuation began from are marked."""
    train = [p.train_loss if metric == "loss" else p.train_acc for p in points]
    valid = [p.valid_loss if metric == "loss" else p.valid_acc for p in points]
    epochs = [p.epoch for p in points]
    fig = go.Figure()
    fig.add_scatter(x=epochs, y=train, mode="lines+markers", name=words.TRAIN_EACH_EPOCH,
                    line={"color": TRAIN_COLOUR, "width": 2}, marker={"size": 6})
    fig.add_scatter(x=epochs, y=valid, mode="lines+markers", name=words.VALID_EACH_EPOCH,
                    line={"color": VALID_COLOUR, "width": 1.5, "dash": "dot"}, marker={"size": 8})
    _epoch_layout(fig, metric)
    for stage in stages:
        fig.add_vline(x=stage.epoch - 0.5, line={"color": "#868e96", "dash": "dash", "width": 1.5},
                      annotation_text=words.STAGE_MARK.format(stage=stage.stage, name=stage.name),
                      annotation_position="top right")
    if continued_at is not None:
        fig.add_vline(x=continued_at + 0.5, line={"color": SCRATCH_COLOUR, "dash": "dot", "width": 1.5},
                      annotation_text=words.CONTINUED_MARK, annotation_position="top left")
    return fig


def overlay_figure(runs: dict[str, list], metric: str) -> go.Figure:
    """Several runs' validation curves per epoch on one chart: one trace per run, named by `runs`' keys."""
    fig = go.Figure()
    for name, points in runs.items():
        fig.add_scatter(x=[p.epoch for p in points], mode="lines+markers", name=name, marker={"size": 6},
                        y=[p.valid_loss if metric == "loss" else p.valid_acc for p in points])
    _epoch_layout(fig, metric, title=words.OVERLAY_LOSS if metric == "loss" else words.OVERLAY_ACCURACY)
    return fig


def _epoch_layout(fig: go.Figure, metric: str, title: str | None = None) -> None:
    fig.update_layout(
        title={"text": title or (words.LOSS if metric == "loss" else words.ACCURACY), "x": 0.02},
        xaxis_title=words.EPOCH_AXIS, height=320, margin={"l": 50, "r": 20, "t": 45, "b": 40},
        legend={"orientation": "h", "y": -0.25}, template="plotly_white",
    )
    last = max((max(t.x) for t in fig.data if t.x), default=0)
    fig.update_xaxes(dtick=1 if last <= 20 else None)  # whole epochs, while few enough to label each
    if metric == "accuracy":
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")


CLASS_COLOURS = ("#4f6bed", "#e8590c", "#2f9e44", "#ae3ec9", "#1098ad", "#f08c00", "#e03131", "#5c940d",
                 "#862e9c", "#364fc7")


def learning_curves_figure(curves: list[dict]) -> go.Figure:
    """How many more pictures: per class (the audit's ClassCurve dicts), the measured validation recall at each
    number of training pictures (markers) and the fitted curve through them (a line, extended), one colour each."""
    fig = go.Figure()
    for i, curve in enumerate(curves):
        name, colour = curve["name"], CLASS_COLOURS[i % len(CLASS_COLOURS)]
        sizes, accs = zip(*curve["points"]) if curve.get("points") else ((), ())
        fig.add_scatter(x=list(sizes), y=list(accs), mode="markers", name=words.CURVE_POINTS.format(name=name),
                        legendgroup=name, marker={"color": colour, "size": 8})
        fit_x, fit_y = zip(*curve["fitted"]) if curve.get("fitted") else ((), ())
        fig.add_scatter(x=list(fit_x), y=list(fit_y), mode="lines", name=words.CURVE_FIT.format(name=name),
                        legendgroup=name, showlegend=False, line={"color": colour, "width": 2})
    fig.update_layout(
        height=340, margin={"l": 50, "r": 20, "t": 45, "b": 40}, template="plotly_white",
        title={"text": words.CURVES_TITLE, "x": 0.02}, xaxis_title=words.CURVES_AXIS,
        legend={"orientation": "h", "y": -0.25},
    )
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig
