"""Evaluate tab: how good a run is and where it fails, on its own validation images or the test/ folder."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
import plotly.graph_objects as go

from core.errors import CheckpointError, DatasetError
from gui import words
from gui.charts import TRAIN_COLOUR, VALID_COLOUR
from gui.context import AppContext
from gui.progress import progress_then_result, status_html
from gui.tabs.predict import NEWEST, looked_at, refresh, run_choices

if TYPE_CHECKING:
    from core.evaluation.metrics import Evaluation

SHOWN = 12  # pictures in the mistakes gallery
PROBLEMS = (LookupError, DatasetError, CheckpointError, ValueError)


def evaluate_stream(ctx: AppContext, run_id: str | None, split: str, others: int = 1,
                    shown: Callable[[Evaluation], tuple] = lambda evaluation: (evaluation,)):
    """Yield the bar while the run is evaluated (the `others` outputs after it left as they are), then the full bar
    and `shown(evaluation)`, the tab's other outputs (by default the evaluation itself)."""
    from core.evaluation.metrics import Evaluation, evaluate_run

    run = ctx.run_by_id(run_id)
    evaluation = yield from progress_then_result(evaluate_run(run.path, split), Evaluation, others)
    if evaluation is not None:
        yield status_html(words.FINISHED, done=True), *shown(evaluation)


def summary_markdown(evaluation) -> str:
    """The headline figures and the calibration, in a paragraph."""
    m, c = evaluation.metrics(), evaluation.calibration
    topk = next(((int(k[3:-9]), v) for k, v in m.items() if k.startswith("top") and v is not None), None)
    skipped = evaluation.predictions.skipped
    return words.EVALUATE_SUMMARY.format(
        split=words.SPLIT_NAMES[evaluation.predictions.split], images=m["images"], accuracy=m["accuracy"],
        balanced=m["balanced_accuracy"], topk=words.TOPK_PART.format(k=topk[0], value=topk[1]) if topk else "",
        temperature=c.temperature, ece_before=c.ece_before, ece_after=c.ece_after, threshold=c.threshold,
        skipped=words.SKIPPED_PART.format(count=len(skipped)) if skipped else "")


def per_class_rows(evaluation) -> list[list]:
    return [[name, round(v["precision"], 3), round(v["recall"], 3), round(v["f1"], 3), v["support"]]
            for name, v in evaluation.metrics()["per_class"].items()]


def per_class_figure(evaluation) -> go.Figure:
    """Precision and recall per class as bars."""
    per = evaluation.metrics()["per_class"]
    fig = go.Figure()
    fig.add_bar(x=list(per), y=[v["precision"] for v in per.values()], name="precision", marker_color=TRAIN_COLOUR)
    fig.add_bar(x=list(per), y=[v["recall"] for v in per.values()], name="recall", marker_color=VALID_COLOUR)
    fig.update_layout(barmode="group", height=260, template="plotly_white", margin={"l": 40, "r": 10, "t": 30, "b": 30},
                      yaxis={"range": [0, 1.02], "tickformat": ".0%"}, legend={"orientation": "h", "y": 1.15})
    return fig


def reliability_figure(evaluation) -> go.Figure:
    """Accuracy against confidence per bin, with the diagonal a calibrated model follows."""
    bins = [b for b in evaluation.calibration.reliability if b["count"]]
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#868e96"}, showlegend=False)
    fig.add_scatter(x=[b["confidence"] for b in bins], y=[b["accuracy"] for b in bins], mode="lines+markers",
                    marker={"size": [6 + 2 * b["count"] ** 0.5 for b in bins], "color": TRAIN_COLOUR},
                    showlegend=False)
    fig.update_layout(height=260, template="plotly_white", margin={"l": 40, "r": 10, "t": 30, "b": 40},
                      xaxis={"title": words.CONFIDENCE_AXIS, "range": [0, 1.02], "tickformat": ".0%"},
                      yaxis={"title": words.ACCURACY, "range": [0, 1.02], "tickformat": ".0%"})
    return fig


def coverage_figure(evaluation, threshold: float) -> go.Figure:
    """Share answered against the accuracy of those answers, as the threshold rises; the chosen one marked."""
    rows = evaluation.calibration.coverage
    fig = go.Figure()
    fig.add_scatter(x=[r["coverage"] for r in rows], y=[r["accuracy"] for r in rows], mode="lines",
                    line={"color": VALID_COLOUR}, showlegend=False)
    at = threshold_effect(evaluation, threshold)
    fig.add_scatter(x=[at["coverage"]], y=[at["accuracy"]], mode="markers", marker={"size": 12, "color": TRAIN_COLOUR},
                    showlegend=False)
    fig.update_layout(height=260, template="plotly_white", margin={"l": 40, "r": 10, "t": 30, "b": 40},
                      xaxis={"title": words.SHARE_AXIS, "tickformat": ".0%"},
                      yaxis={"title": words.ACCURACY, "tickformat": ".1%"})  # answers often differ by < 1 %
    return fig


def threshold_effect(evaluation, threshold: float) -> dict:
    """Coverage and accuracy of the answers at a threshold (the curve's point at or just above it)."""
    rows = evaluation.calibration.coverage
    above = [r for r in rows if r["threshold"] >= threshold - 1e-9]
    return above[0] if above else {"threshold": threshold, "coverage": 0.0, "accuracy": 1.0}


def save_threshold(ctx: AppContext, evaluation, threshold: float) -> str:
    """Store the user's threshold with the run's calibration; prediction reads it from now on."""
    from core.runstore.folder import RunFolder

    RunFolder(ctx.run_by_id(evaluation.run_id).path).write_calibration(evaluation.calibration.temperature, float(threshold))
    return words.THRESHOLD_SAVED.format(threshold=threshold)


def confusion_figure(evaluation, normalise: bool) -> go.Figure:
    """The matrix as a heatmap: true class down, what the model said across; counts or each row's shares."""
    matrix, classes = evaluation.confusion(normalize=normalise), evaluation.predictions.classes
    text = [[f"{v:.0%}" if normalise else str(int(v)) for v in row] for row in matrix.tolist()]
    fig = go.Figure(go.Heatmap(z=matrix, x=classes, y=classes, text=text, texttemplate="%{text}", colorscale="Blues",
                               showscale=False))
    fig.update_layout(height=80 + 40 * len(classes), template="plotly_white",
                      margin={"l": 80, "r": 10, "t": 10, "b": 60}, xaxis={"title": words.SAID_AXIS},
                      yaxis={"title": words.TRUE_AXIS, "autorange": "reversed"})
    return fig


def confusion_table(evaluation, normalise: bool) -> list[list]:
    """The matrix with the true class as the first column, for a table whose cells can be clicked."""
    matrix, classes = evaluation.confusion(normalize=normalise), evaluation.predictions.classes
    fmt = (lambda v: f"{v:.0%}") if normalise else int
    return [[name, *[fmt(v) for v in row]] for name, row in zip(classes, matrix.tolist())]


def cell_pictures(ctx: AppContext, evaluation, row: int, column: int) -> tuple[list, str]:
    """The pictures behind one cell (only those inside the served folders), captions, and a sentence."""
    if evaluation is None or column < 1:
        return [], ""
    classes = evaluation.predictions.classes
    files = evaluation.cell(row, column - 1)
    shown = [(p, words.CELL_CAPTION.format(true=classes[row], predicted=classes[column - 1], confidence=c))
             for p, c in files if ctx.is_served(p)]
    hidden = [Path(p).name for p, _ in files if not ctx.is_served(p)]
    said = words.CELL_HIDDEN.format(count=len(hidden), names=", ".join(hidden[:20])) if hidden else ""
    return shown, said if files else words.CELL_EMPTY


def mistake_pictures(ctx: AppContext, evaluation, with_cam: bool) -> list:
    """The worst pictures with their verdicts; with Grad-CAM, each drawn with where the model looked."""
    rows = [m for m in evaluation.mistakes(SHOWN) if ctx.is_served(m["path"])]
    items = []
    for m in rows:
        caption = words.MISTAKE_CAPTION.format(verdict=words.WRONG if m["wrong"] else words.RIGHT, true=m["true"],
                                               predicted=m["predicted"], confidence=m["confidence"])
        items.append((_with_cam(ctx, evaluation, m["path"]) if with_cam else m["path"], caption))
    return items


def _with_cam(ctx: AppContext, evaluation, path: str):
    """The picture with its Grad-CAM heatmap over it (the picture alone when the backbone has none)."""
    from core.evaluation.gradcam import CamUnavailable

    try:
        return looked_at(ctx, path, evaluation.run_id)
    except CamUnavailable:
        return path


def diagnosis_markdown(evaluation, run_dir: Path) -> str:
    """The findings as sentences, each with its next step."""
    from core.evaluation.diagnosis import diagnose

    templates = {"low_recall": words.LOW_RECALL, "confused_both": words.CONFUSED_BOTH,
                 "confused_one": words.CONFUSED_ONE, "overfit": words.OVERFIT, "overconfident": words.OVERCONFIDENT,
                 "data_check": words.FROM_DATA_CHECK, "deeper": words.DEEPER}
    lines = [templates[f.kind].format(**f.values) for f in diagnose(evaluation, run_dir)]
    return "\n".join(lines) if lines else words.ALL_WELL


def per_class_widgets() -> tuple[gr.Dataframe, gr.Plot]:
    """The per-class table and chart, side by side (this tab and the demo view's Evaluate)."""
    with gr.Row():
        table = gr.Dataframe(headers=words.PER_CLASS_COLUMNS, label=words.PER_CLASS, interactive=False,
                             elem_id="per-class")
        chart = gr.Plot(label=words.PER_CLASS, elem_id="per-class-chart")
    return table, chart


def finished_outputs(ctx: AppContext, evaluation) -> tuple:
    """What the tab shows of a finished evaluation, in the order of its outputs after the bar (OUTPUTS)."""
    headers = ["true ↓ / said →", *evaluation.predictions.classes]
    chosen = evaluation.calibration.threshold
    return (summary_markdown(evaluation), diagnosis_markdown(evaluation, ctx.run_by_id(evaluation.run_id).path),
            per_class_rows(evaluation), per_class_figure(evaluation),
            gr.Dataframe(value=confusion_table(evaluation, False), headers=headers),
            mistake_pictures(ctx, evaluation, False), evaluation, reliability_figure(evaluation),
            coverage_figure(evaluation, chosen), round(chosen, 2),
            words.THRESHOLD_EFFECT.format(**threshold_effect(evaluation, chosen)), confusion_figure(evaluation, False))


OUTPUTS = ("progress", "summary", "diagnosis", "table", "chart", "matrix", "mistakes", "state", "reliability",
           "coverage", "threshold", "threshold_said", "heatmap")  # what the Evaluate button fills, in order


def _calibration_panel() -> dict[str, gr.components.Component]:
    """Reliability and coverage side by side, with the "not sure" threshold under them."""
    c = {}
    with gr.Row():
        c["reliability"] = gr.Plot(label=words.RELIABILITY, elem_id="reliability")
        c["coverage"] = gr.Plot(label=words.COVERAGE, elem_id="coverage")
    with gr.Row():
        c["threshold"] = gr.Slider(0, 1, value=0.5, step=0.01, label=words.THRESHOLD_SLIDER, elem_id="threshold")
        c["keep"] = gr.Button(words.THRESHOLD_BUTTON, elem_id="threshold-save", scale=0, min_width=200)
    c["threshold_said"] = gr.Markdown(elem_id="threshold-said")
    return c


def _confusion_panel() -> dict[str, gr.components.Component]:
    """The confusion matrix as a picture and as a table whose cells open their pictures, then the mistakes."""
    c = {"normalise": gr.Checkbox(False, label=words.NORMALISE, elem_id="confusion-normalise")}
    with gr.Row():
        c["heatmap"] = gr.Plot(label=words.CONFUSION_PICTURE, elem_id="confusion-heatmap")
        c["matrix"] = gr.Dataframe(label=words.CONFUSION, interactive=False, elem_id="confusion")
    c["cell_note"] = gr.Markdown(elem_id="cell-note")
    c["cell"] = gr.Gallery(label=words.CELL_GALLERY, columns=6, height=220, elem_id="cell-gallery")
    c["cam"] = gr.Checkbox(False, label=words.SHOW_CAM, elem_id="show-cam")
    c["mistakes"] = gr.Gallery(label=words.MISTAKES, columns=6, height=260, elem_id="mistakes")
    return c


def _wire_views(ctx: AppContext, c: dict[str, gr.components.Component]) -> None:
    """What follows a finished evaluation (kept in `state`): a clicked cell, the matrix's normalisation, the
    threshold (moved and saved) and Grad-CAM on the mistakes."""
    private = {"api_visibility": "private"}

    def pick(evaluation, evt: gr.SelectData):
        row, column = evt.index
        return cell_pictures(ctx, evaluation, row, column)

    def only_evaluated(handler: Callable, outputs: int) -> Callable:
        """The handler, or its outputs left as they are before anything was evaluated."""
        skipped = gr.skip() if outputs == 1 else (gr.skip(),) * outputs
        return lambda evaluation, value: handler(evaluation, value) if evaluation is not None else skipped

    state = c["state"]
    c["matrix"].select(pick, state, [c["cell"], c["cell_note"]], **private)
    c["normalise"].change(only_evaluated(lambda e, n: (confusion_table(e, n), confusion_figure(e, n)), 2),
                          [state, c["normalise"]], [c["matrix"], c["heatmap"]], **private)
    c["threshold"].release(only_evaluated(lambda e, v: (coverage_figure(e, v), words.THRESHOLD_EFFECT.format(
        **threshold_effect(e, v))), 2), [state, c["threshold"]], [c["coverage"], c["threshold_said"]], **private)
    c["keep"].click(lambda e, v: save_threshold(ctx, e, v) if e is not None else "", [state, c["threshold"]],
                    c["threshold_said"], **private)
    c["cam"].change(only_evaluated(lambda e, with_cam: mistake_pictures(ctx, e, with_cam), 1), [state, c["cam"]],
                    c["mistakes"], **private)


def build(ctx: AppContext, demo: gr.Blocks) -> gr.Dropdown:
    """Lay out the tab; returns its run picker so that training can refresh it."""
    gr.Markdown(words.EVALUATE_INTRO)
    with gr.Row():
        run = gr.Dropdown(choices=run_choices(ctx), value=NEWEST, label=words.TRAINED_RUN, allow_custom_value=True,
                          elem_id="evaluate-run", scale=3)
        split = gr.Radio(words.SPLIT_CHOICES, value="valid", label=words.EVALUATE_SPLIT, elem_id="evaluate-split",
                         scale=2)
        go_button = gr.Button(words.EVALUATE_BUTTON, variant="primary", elem_id="evaluate-button", scale=1)
    c: dict[str, gr.components.Component] = {
        "progress": gr.HTML(status_html(), elem_id="evaluate-progress"),
        "summary": gr.Markdown(elem_id="evaluate-summary"),
        "diagnosis": gr.Markdown(label=words.DIAGNOSIS, elem_id="evaluate-diagnosis")}
    c["table"], c["chart"] = per_class_widgets()
    c.update(_calibration_panel())
    c.update(_confusion_panel())
    c["state"] = gr.State(None)

    def run_it(run_id, split_name):
        try:
            yield from evaluate_stream(ctx, run_id, split_name, len(OUTPUTS) - 1,
                                       lambda evaluation: finished_outputs(ctx, evaluation))
        except PROBLEMS as err:
            yield status_html(words.NOT_STARTED), words.WARN.format(err), *[gr.skip()] * (len(OUTPUTS) - 2)

    demo.load(lambda: refresh(ctx), None, run, api_visibility="private")
    go_button.click(run_it, [run, split], [c[name] for name in OUTPUTS], api_name="evaluate", concurrency_limit=1)
    _wire_views(ctx, c)
    return run
