"""Review tab, what comes of the reviewed pictures: train the run again with the filed ones, and how it does in the
field (the share it had right over time and per class, next to its validation figures)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go

from core.errors import CheckpointError, DatasetError
from gui import words
from gui.context import AppContext
from gui.progress import status_html
from gui.queue import TRAINING_HANDLERS
from gui.tabs.runs_continue import EndedPage
from gui.training_job import train_in_line

MORE_EPOCHS = 3
PROBLEMS = (LookupError, ValueError, DatasetError, CheckpointError, OSError)


def waiting(ctx: AppContext, run_id: str | None, new_classes: list | None = None) -> list[tuple[Path, str]]:
    """The pictures filed for this run (It is <class>) that its training set does not hold yet: (file, class), of
    the classes it knows; those of classes it does not know (a new run learns them) go to `new_classes`."""
    from core.data.relabel import list_changes
    from core.runstore.folder import RunFolder

    run = ctx.run_by_id(run_id)
    try:
        known = {Path(path).resolve() for path, _ in RunFolder(run.path).dataset_index().splits.get("train", [])}
    except DatasetError:
        known = set()
    found = []
    for picture in ctx.keeper.store().list():
        if picture.run != run.run_id or picture.verdict != "labelled" or not picture.dataset:
            continue
        change = {c.id: c for c in list_changes(picture.dataset)}.get(picture.change_id)
        if change is None or change.undone is not None:
            continue
        path = (Path(picture.dataset) / change.target).resolve()
        if path.is_file() and path not in known:
            (found if picture.truth in run.classes else new_classes if new_classes is not None else []).append(
                (path, picture.truth))
    return found


def waiting_sentence(ctx: AppContext, run_id: str | None) -> str:
    """How many filed pictures wait to be learned by the run."""
    new: list = []
    try:
        count, run = len(waiting(ctx, run_id, new)), ctx.run_by_id(run_id).run_id
    except PROBLEMS as err:
        return words.WARN.format(err)
    others = words.REVIEW_TRAIN_NEW_CLASSES.format(count=len(new), run=run, classes=", ".join(
        sorted({name for _, name in new}))) if new else ""
    return (words.REVIEW_TRAIN_WAITING if count else words.REVIEW_TRAIN_NONE).format(count=count, run=run) + others


class RetrainPage(EndedPage):
    """The bar and the status line of a run trained again with pictures from use."""

    problems = PROBLEMS


def train_again_stream(ctx: AppContext, run_id: str | None, epochs: float | None,
                       request: gr.Request) -> Iterator[tuple]:
    """Add the filed pictures to the run's training set and continue it `epochs` more; yields (bar, status)."""
    from core.training.field import train_again

    try:
        run = ctx.run_by_id(run_id)
        pictures = waiting(ctx, run.run_id)
        if not pictures:
            raise ValueError(words.REVIEW_TRAIN_NONE.format(run=run.run_id))
        more = int(epochs or MORE_EPOCHS)
    except PROBLEMS as err:
        yield status_html(words.NOT_STARTED), words.WARN.format(err)
        return
    yield from train_in_line(ctx, request.session_hash, lambda stop: train_again(run.path, pictures, more, stop),
                             RetrainPage())


def report_parts(ctx: AppContext, run_id: str | None) -> tuple[str, go.Figure | None, list[list]]:
    """(sentences, chart of the share right by day against validation, rows per class) for one run."""
    from core.evaluation.field import field_report

    try:
        run = ctx.run_by_id(run_id)
        pictures = [p for p in ctx.keeper.store().list() if p.run == run.run_id]
        if not any(p.verdict for p in pictures):  # nothing to report: no model loaded for it
            return words.REVIEW_REPORT_NONE, None, []
        report = field_report(pictures, run.path)
    except PROBLEMS as err:
        return words.WARN.format(err), None, []
    unknown = words.REVIEW_REPORT_UNKNOWN.format(count=report.unknown) if report.unknown else ""
    head = (words.REVIEW_REPORT.format(reviewed=report.reviewed, right=report.right, accuracy=report.accuracy,
                                       valid=report.validation_accuracy, unknown=unknown)
            if report.validation_accuracy is not None else
            words.REVIEW_REPORT_NO_VALID.format(reviewed=report.reviewed, right=report.right,
                                                accuracy=report.accuracy, unknown=unknown))
    lines = [head]
    if report.recent_not_sure_rate is not None and report.validation_not_sure_rate is not None:
        lines.append(words.REVIEW_NOT_SURE_RATES.format(recent=report.recent_not_sure_rate,
                                                        valid=report.validation_not_sure_rate))
    if report.unlike:
        lines.append(words.REVIEW_UNLIKE)
    rows = [[name, reviewed, right, f"{right / reviewed:.0%}" if reviewed else words.REVIEW_NO_SHARE]
            for name, (right, reviewed) in sorted(report.by_class.items())]
    return "\n\n".join(lines), _chart(report), rows


def _chart(report) -> go.Figure:
    """The share of reviewed pictures it had right, per day (or week), with its validation accuracy as a line."""
    labels = [label for label, _, _ in report.by_period]
    shares = [right / reviewed if reviewed else None for _, right, reviewed in report.by_period]
    figure = go.Figure(go.Scatter(x=labels, y=shares, mode="lines+markers", name=words.REVIEW_CHART_FIELD))
    if report.validation_accuracy is not None:
        figure.add_hline(y=report.validation_accuracy, line_dash="dash", annotation_text=words.REVIEW_CHART_VALID)
    figure.update_layout(title=words.REVIEW_CHART_TITLE, yaxis={"range": [0, 1.05], "title": words.REVIEW_CHART_AXIS,
                                                                "tickformat": ".0%"},
                         xaxis={"type": "category"},  # one label a day or week, not a time axis
                         height=300, margin={"l": 50, "r": 20, "t": 40, "b": 40})
    return figure


def build(ctx: AppContext, run: gr.Dropdown) -> list:
    """Lay out Train again and the field report for the run chosen in `run`; returns the training events."""
    gr.Markdown(words.REVIEW_TRAIN_HEADING)
    with gr.Row():
        epochs = gr.Number(MORE_EPOCHS, precision=0, minimum=1, maximum=100, label=words.REVIEW_TRAIN_EPOCHS,
                           elem_id="review-epochs", scale=1)
        go_button = gr.Button(words.REVIEW_TRAIN, variant="primary", elem_id="review-train", scale=1)
    waiting_said = gr.Markdown(elem_id="review-waiting")
    progress = gr.HTML(status_html(), elem_id="review-progress")
    said = gr.Markdown(elem_id="review-train-said")
    gr.Markdown(words.REVIEW_REPORT_HEADING)
    report = gr.Markdown(elem_id="review-report")
    chart = gr.Plot(elem_id="review-chart")
    table = gr.Dataframe(headers=words.REVIEW_CLASS_COLUMNS, interactive=False, elem_id="review-classes")

    def again(request: gr.Request, run_id, more):
        yield from train_again_stream(ctx, run_id, more, request)

    def show(run_id):
        return (waiting_sentence(ctx, run_id), *report_parts(ctx, run_id))

    trained = go_button.click(again, [run, epochs], [progress, said], api_name="train_again",
                              concurrency_limit=TRAINING_HANDLERS, concurrency_id="training", show_progress="hidden")
    outputs = [waiting_said, report, chart, table]
    run.change(show, run, outputs, api_visibility="private", show_progress="hidden")
    trained.then(show, run, outputs, api_visibility="private", show_progress="hidden")
    return [trained], show, outputs
