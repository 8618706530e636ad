"""Turn training events into live Plotly curves and a progress line."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import plotly.graph_objects as go

from core.events import CheckProgress, EpochDone, Event, FeaturesProgress, RunStarted, StageStarted, StepDone

TRAIN_COLOUR, VALID_COLOUR, SCRATCH_COLOUR = "#4f6bed", "#e8590c", "#2f9e44"


def smooth(values: list[float], weight: float = 0.8) -> list[float]:
    """Debiased exponential moving average, as TensorBoard draws it."""
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight**i))
    return out


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


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
        if isinstance(event, StepDone):
            self.steps.append(event.step)
            self.loss.append(event.loss)
            self.acc.append(event.acc)
        elif isinstance(event, EpochDone):
            self.epoch_steps.append(event.step)
            self.valid_loss.append(event.valid_loss)
            self.valid_acc.append(event.valid_acc)
        elif isinstance(event, StageStarted):
            self.stages.append(event)

    def figure(self, metric: str) -> go.Figure:
        """Loss or accuracy: raw train steps (faint), smoothed train line, valid per epoch as markers."""
        train, valid = (self.loss, self.valid_loss) if metric == "loss" else (self.acc, self.valid_acc)
        fig = go.Figure()
        fig.add_scatter(x=self.steps, y=train, mode="lines", name="train (each step)",
                        line={"color": TRAIN_COLOUR, "width": 1}, opacity=0.3)
        fig.add_scatter(x=self.steps, y=smooth(train), mode="lines", name="train (smoothed)",
                        line={"color": TRAIN_COLOUR, "width": 2.5})
        fig.add_scatter(x=self.epoch_steps, y=valid, mode="lines+markers", name="valid (each epoch)",
                        line={"color": VALID_COLOUR, "width": 1.5, "dash": "dot"}, marker={"size": 8})
        if self.baseline is not None:
            base = self.baseline
            fig.add_scatter(x=base.steps, y=smooth(base.loss if metric == "loss" else base.acc), mode="lines",
                            name="from scratch: train (smoothed)", line={"color": SCRATCH_COLOUR, "width": 1.5},
                            opacity=0.5)
            fig.add_scatter(x=base.epoch_steps, y=base.valid_loss if metric == "loss" else base.valid_acc,
                            mode="lines+markers", name="from scratch: valid",
                            line={"color": SCRATCH_COLOUR, "width": 1.5, "dash": "dot"}, marker={"size": 7})
        fig.update_layout(
            title={"text": "Loss" if metric == "loss" else "Accuracy", "x": 0.02},
            xaxis_title="step", height=320 if self.baseline is None else 360, margin={"l": 50, "r": 20, "t": 45, "b": 40},
            legend={"orientation": "h", "y": -0.25}, template="plotly_white",
        )
        if metric == "accuracy":
            fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
        for stage in self.stages:  # where two-stage training unfroze the backbone
            fig.add_vline(x=stage.step + 0.5, line={"color": "#868e96", "dash": "dash", "width": 1.5},
                          annotation_text=f"stage {stage.stage}: {stage.name}", annotation_position="top right")
        return fig


def progress_html(event: Event | None, started: RunStarted | None, text: str | None = None,
                  stage: StageStarted | None = None, what: str = "") -> str:
    """A progress bar with epoch, step, images/s and ETA, for whichever phase the run is in (`what` names the run)."""
    fraction, label = 0.0, text or "Waiting to start"
    in_stage = f" (stage {stage.stage}: {stage.name})" if stage else ""
    if isinstance(event, CheckProgress):
        fraction = event.done / max(event.total, 1)
        label = (f"Checking images: {event.done}/{event.total} · {event.images_per_s:.0f} img/s · "
                 f"ETA {format_duration(event.eta_s)}")
    elif isinstance(event, FeaturesProgress):
        fraction = event.done / max(event.total, 1)
        cached = f" ({event.cached} from the cache)" if event.cached else ""
        label = (f"Reading images through the frozen backbone: {event.done}/{event.total}{cached} · "
                 f"{event.images_per_s:.0f} img/s · ETA {format_duration(event.eta_s)}")
    elif isinstance(event, StepDone) and started is not None:
        fraction = event.step / max(event.total_steps, 1)
        label = (f"Epoch {event.epoch}/{started.epochs}{in_stage} · step {event.step}/{event.total_steps} · "
                 f"{event.images_per_s:.0f} img/s · ETA {format_duration(event.eta_s)}")
    elif isinstance(event, StepDone):  # the learning-rate finder's sweep
        fraction = event.step / max(event.total_steps, 1)
        label = f"Sweeping learning rates: {event.step}/{event.total_steps} · ETA {format_duration(event.eta_s)}"
    elif text is not None:
        fraction = 1.0 if text.startswith(("Finished", "Stopped", "Checked")) else 0.0
    if what and event is not None:
        label = f"{what} · {label}"
    return (
        '<div class="ts-progress"><div class="ts-bar" style="width:{:.1f}%"></div>'
        '<span>{}</span></div>'.format(100 * fraction, html.escape(label))
    )


SPLIT_COLOURS = {"train": TRAIN_COLOUR, "valid": VALID_COLOUR, "test": "#2b8a3e"}


def counts_figure(splits: dict[str, dict[str, int]]) -> go.Figure:
    """Images per class, one bar per split, so a thin class or a missing validation set shows at a glance."""
    fig = go.Figure()
    for split, counts in splits.items():
        fig.add_bar(x=list(counts), y=list(counts.values()), name=split, marker_color=SPLIT_COLOURS.get(split))
    fig.update_layout(
        barmode="group", height=280, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white",
        title={"text": "Usable images per class", "x": 0.02}, legend={"orientation": "h", "y": 1.12, "x": 0.5},
    )
    return fig


def lr_figure(lrs: list[float], losses: list[float], suggestion: float) -> go.Figure:
    """The LR finder's loss curve on a log axis, with the suggested rate marked."""
    fig = go.Figure()
    fig.add_scatter(x=lrs, y=losses, mode="lines", name="loss (smoothed)", line={"color": TRAIN_COLOUR, "width": 2.5})
    nearest = min(range(len(lrs)), key=lambda i: abs(lrs[i] / suggestion - 1))
    fig.add_scatter(x=[suggestion], y=[losses[nearest]], mode="markers+text", name="suggestion",
                    marker={"color": VALID_COLOUR, "size": 12}, text=[f"{suggestion:.1e}"], textposition="top center")
    fig.update_layout(
        height=300, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white", showlegend=False,
        title={"text": "Loss against learning rate", "x": 0.02}, xaxis_title="learning rate (log scale)",
    )
    fig.update_xaxes(type="log", exponentformat="power")
    return fig
