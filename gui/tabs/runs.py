"""Runs tab: every run in one table, one run opened (curves, settings, evaluation, name and note, delete), several
side by side, and (from its sibling modules) two compared picture by picture, one trained further, runs shared."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pandas as pd

from core.runstore.folder import EVALUATION_SPLITS, RunFolder
from core.runstore.log import read_curves
from core.runstore.table import RunRecord, delete_run, read_record, run_records, set_label
from gui import demo as demo_view
from gui import words
from gui.charts import epoch_figure, overlay_figure
from gui.context import AppContext
from gui.tabs import runs_compare, runs_continue, runs_share

ALL = ""  # the dataset filter's standing choice: every dataset


def _accuracy(record: RunRecord) -> float | None:
    return None if record.best_valid_acc is None else round(100 * record.best_valid_acc, 1)


def table_rows(records: list[RunRecord], dataset: str | None = ALL) -> list[list]:
    """One row per run (columns as words.RUNS_COLUMNS), only those of `dataset` (a dataset path) unless ALL."""
    return [[r.started, r.name, r.dataset, r.backbone, r.recipe, r.epochs_run, _accuracy(r),
             None if r.wall_s is None else round(r.wall_s), r.status, r.note, r.field_pictures, r.run_id]
            for r in records if not dataset or r.dataset_path == dataset]


def table_frame(records: list[RunRecord], dataset: str | None = ALL) -> pd.DataFrame:
    """The rows as the table shows them, with their headers (also when there is no run)."""
    return pd.DataFrame(table_rows(records, dataset), columns=words.RUNS_COLUMNS)


def dataset_choices(records: list[RunRecord]) -> list[tuple[str, str]]:
    """All datasets first, then each dataset by name (its path too where two share a name)."""
    paths = sorted({r.dataset_path: r.dataset for r in records}.items(), key=lambda item: (item[1], item[0]))
    names = [name for _, name in paths]
    return [(words.ALL_DATASETS, ALL)] + [(name if names.count(name) == 1 else f"{name} ({path})", path)
                                         for path, name in paths]


def shown_name(record: RunRecord) -> str:
    """What a run is called on the page: the user's name for it, else its id."""
    return record.name or record.run_id


def run_choices(records: list[RunRecord]) -> list[tuple[str, str]]:
    """Every run for a picker, newest first: its name, dataset and best validation accuracy."""
    def acc(r: RunRecord) -> str:
        return words.NOT_VALIDATED if r.best_valid_acc is None else f"{r.best_valid_acc:.0%}"

    return [(words.RUN_CHOICE.format(name=shown_name(r), dataset=r.dataset, acc=acc(r), status=r.status), r.run_id)
            for r in records]


def refreshed(ctx: AppContext, dataset: str | None, opened: str | None, several: list[str] | None,
              run_a: str | None, run_b: str | None) -> tuple:
    """Every picker and the table re-read from the runs folder, keeping the choices that still exist (Compare's
    A and B start on the second newest and the newest run)."""
    records = run_records(ctx.runs_dir)
    ids = [r.run_id for r in records]
    datasets = dataset_choices(records)
    dataset = dataset if dataset in [value for _, value in datasets] else ALL
    runs = run_choices(records)
    def keep(value, fallback=None):
        return value if value in ids else fallback

    return (gr.Dropdown(choices=datasets, value=dataset), table_frame(records, dataset),
            gr.Dropdown(choices=runs, value=keep(opened, ids[0] if ids else None)),
            gr.Dropdown(choices=runs, value=[i for i in several or [] if i in ids], multiselect=True),
            # Compare starts on the two newest runs (A the older), so one click compares the latest change
            gr.Dropdown(choices=runs, value=keep(run_a, ids[1] if len(ids) > 1 else None)),
            gr.Dropdown(choices=runs, value=keep(run_b, ids[0] if len(ids) > 1 else None)))


def evaluation_summary(run_dir: Path) -> str:
    """The run's saved evaluations in a line each (saying when the model or its pictures changed since, as core's
    rule for a current evaluation says), or a hint to evaluate."""
    run, lines = RunFolder(run_dir), []
    for split in EVALUATION_SPLITS:
        try:
            metrics = json.loads(run.evaluation(split).results.read_text(encoding="utf-8"))["metrics"]
            line = words.RUN_EVALUATED.format(split=words.SPLIT_NAMES[split], images=metrics["images"],
                                              accuracy=metrics["accuracy"], balanced=metrics["balanced_accuracy"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not run.evaluation_current(split):
            line += words.RUN_EVALUATED_OLD
        lines.append(line)
    return "\n".join(lines) if lines else words.RUN_NOT_EVALUATED


def open_run(ctx: AppContext, run_id: str | None) -> tuple:
    """(headline, loss figure, accuracy figure, configuration, evaluation summary, name, note) of one run."""
    path = ctx.run_folder(run_id)
    record, curves = read_record(path), read_curves(path)
    config = RunFolder(path).read_config()
    return (headline(record), epoch_figure(curves.points, "loss", curves.stages),
            epoch_figure(curves.points, "accuracy", curves.stages), config, evaluation_summary(path), record.name,
            record.note)


def headline(record: RunRecord) -> str:
    """The run in a line: its name (and id), data, status, epochs and best accuracy; a failed one is told to Resume."""
    acc = words.NOT_VALIDATED if record.best_valid_acc is None else f"{record.best_valid_acc:.1%}"
    line = words.RUN_HEADLINE.format(name=shown_name(record), dataset=record.dataset, status=record.status,
                                     run_id=words.RUN_ID_PART.format(run_id=record.run_id) if record.name else "",
                                     epochs=record.epochs_run, acc=acc)
    field = words.RUN_FIELD_PART.format(count=record.field_pictures) if record.field_pictures else ""
    return line + field + (words.RUN_FAILED_HINT if record.status == "failed" else "")


def _summary(ctx: AppContext, run_id: str | None) -> tuple:
    """The opened run's headline, configuration and evaluation, re-read (its curves left as drawn)."""
    try:
        line, _, _, config, evaluation, _, _ = open_run(ctx, run_id)
    except (LookupError, OSError, ValueError):
        return gr.skip(), gr.skip(), gr.skip()
    return line, config, evaluation


def overlay(ctx: AppContext, run_ids: list[str] | None) -> tuple:
    """(accuracy, loss) figures with one validation trace per chosen run, named by its name (or id)."""
    records = {r.run_id: r for r in run_records(ctx.runs_dir)}
    chosen = [records[i] for i in run_ids or [] if i in records]
    names = [shown_name(r) for r in chosen]
    series = {(name if names.count(name) == 1 else f"{name} ({r.run_id})"): read_curves(r.path).points
              for name, r in zip(names, chosen)}
    return overlay_figure(series, "accuracy"), overlay_figure(series, "loss")


def save_label(ctx: AppContext, run_id: str | None, name: str, note: str) -> str:
    """Keep the user's name and note for a run; a sentence saying so, or why not."""
    try:
        set_label(ctx.run_folder(run_id), name, note)
    except (LookupError, ValueError, TypeError) as err:
        return words.WARN.format(err)
    return words.LABEL_SAVED.format(run_id=run_id)


def _refusal(ctx: AppContext, run_id: str | None) -> str | None:
    """Why a run may not be deleted now (it does not exist, or it trains), or None."""
    try:
        record = read_record(ctx.run_folder(run_id))
    except LookupError as err:
        return str(err)
    if run_id in ctx.training_ids() or record.status == "running":
        return words.DELETE_TRAINING.format(run_id=run_id)
    return None


def ask_delete(ctx: AppContext, run_id: str | None) -> tuple[str, str | None]:
    """First click: (the question, or why not, and the id awaiting a second click); nothing is deleted yet."""
    refusal = _refusal(ctx, run_id)
    if refusal:
        return words.WARN.format(refusal), None
    return words.DELETE_ASK.format(run_id=run_id), run_id


def confirm_delete(ctx: AppContext, pending: str | None) -> str:
    """Second click: delete the run asked about (checked again: it may have started training since)."""
    refusal = _refusal(ctx, pending) if pending else words.DELETE_NOTHING
    if refusal:
        return words.WARN.format(refusal)
    try:
        delete_run(ctx.runs_dir, pending, busy=ctx.training_ids())
    except (ValueError, OSError) as err:
        return words.WARN.format(err)
    return words.DELETED.format(run_id=pending)


def _confirm_button(pending: str | None) -> gr.Button:
    return gr.Button(value=words.DELETE_YES.format(run_id=pending or ""), visible=pending is not None)


def _row_run(evt: gr.SelectData):
    """A click in the table opens that row's run (its id is the last column, whatever the sorting)."""
    return evt.row_value[-1] if evt.row_value else gr.skip()


def _this_run_panel(ctx: AppContext, opened: gr.Dropdown) -> dict:
    """The opened run: headline, name and note, sharing, curves (and training it further), evaluation, settings,
    delete. Returns its components by name, and under "continued" the events of training it further."""
    c: dict = {"heading": gr.Markdown(elem_id="runs-headline")}
    with gr.Row():
        c["name"] = gr.Textbox(label=words.RUN_NAME, max_lines=1, elem_id="runs-name", scale=1)
        c["note"] = gr.Textbox(label=words.RUN_NOTE, lines=2, elem_id="runs-note", scale=2)
        c["save"] = gr.Button(words.SAVE_LABEL, elem_id="runs-save-label", scale=0, min_width=120)
    c["said"] = gr.Markdown(elem_id="runs-said")
    c["shared"] = gr.Checkbox(False, label=words.SHARE_IN_DEMO, info=words.SHARE_IN_DEMO_INFO, elem_id="runs-shared")
    with gr.Row():
        c["loss_plot"] = gr.Plot(label=words.LOSS, elem_id="runs-loss")
        c["acc_plot"] = gr.Plot(label=words.ACCURACY, elem_id="runs-acc")
    c["continued"] = runs_continue.build(ctx, opened, c["loss_plot"], c["acc_plot"])
    c["evaluation"] = gr.Markdown(elem_id="runs-evaluation")
    with gr.Accordion(words.RUN_CONFIG, open=False):
        c["config"] = gr.JSON(elem_id="runs-config")
    with gr.Row():
        c["delete"] = gr.Button(words.DELETE, variant="stop", elem_id="runs-delete", scale=0, min_width=160)
        c["confirm"] = gr.Button(words.DELETE_YES.format(run_id=""), variant="stop", visible=False,
                                 elem_id="runs-delete-yes", scale=0, min_width=260)
    c["pending"] = gr.State(None)
    return c


def _show(ctx: AppContext, run_id: str | None) -> tuple:
    """The opened run on the page; a pending deletion is forgotten when another run is opened."""
    if not run_id:
        return ("", *[gr.skip()] * 6, None, _confirm_button(None))
    try:
        return (*open_run(ctx, run_id), None, _confirm_button(None))
    except (LookupError, OSError, ValueError) as err:
        return (words.WARN.format(err), *[gr.skip()] * 6, None, _confirm_button(None))


def _asked(ctx: AppContext, run_id: str | None) -> tuple:
    sentence, waiting = ask_delete(ctx, run_id)
    return sentence, waiting, _confirm_button(waiting)


def _wire(ctx: AppContext, tab: gr.Tab, c: dict) -> list:
    """Every handler of the tab; returns the events after which runs changed."""
    quiet = {"api_visibility": "private", "show_progress": "hidden"}
    private = {"api_visibility": "private"}
    pickers = [c[name] for name in ("dataset", "opened", "several", "run_a", "run_b")]
    refreshing = dict(fn=lambda *values: refreshed(ctx, *values), inputs=pickers,
                      outputs=[c["dataset"], c["table"], *pickers[1:]], **quiet)
    showing = dict(fn=lambda run_id: _show(ctx, run_id), inputs=c["opened"],
                   outputs=[c[name] for name in ("heading", "loss_plot", "acc_plot", "config", "evaluation", "name",
                                                 "note", "pending", "confirm")], **quiet)
    tab.select(**refreshing)
    c["reload"].click(**refreshing)
    c["dataset"].change(lambda d: table_frame(run_records(ctx.runs_dir), d), c["dataset"], c["table"], **quiet)
    c["opened"].change(**showing)
    c["opened"].change(lambda r: demo_view.is_shown(ctx, r), c["opened"], c["shared"], **quiet)
    c["shared"].input(lambda r, on: demo_view.mark_shared(ctx, r, on), [c["opened"], c["shared"]], c["said"],
                      **private)
    c["table"].select(_row_run, None, c["opened"], **quiet)
    c["several"].change(lambda ids: overlay(ctx, ids), c["several"], [c["overlay_acc"], c["overlay_loss"]], **quiet)
    c["save"].click(lambda r, n, t: save_label(ctx, r, n, t), [c["opened"], c["name"], c["note"]], c["said"],
                    **private).then(**refreshing).then(**showing)
    c["delete"].click(lambda r: _asked(ctx, r), c["opened"], [c["said"], c["pending"], c["confirm"]], **private)
    deleted = c["confirm"].click(lambda p: (confirm_delete(ctx, p), None, _confirm_button(None)), c["pending"],
                                 [c["said"], c["pending"], c["confirm"]], **private).then(**refreshing)
    # after more epochs the stream's own curves stay (they mark where it continued); the rest is re-read
    after = [event.then(**refreshing).then(lambda r: _summary(ctx, r), c["opened"],
                                           [c["heading"], c["config"], c["evaluation"]], **quiet)
             for event in c["continued"]]
    return [deleted, *after, c["opened_project"].then(**refreshing)]


def build(ctx: AppContext, tab: gr.Tab) -> tuple[list, gr.Dropdown]:
    """Lay out the tab; returns the events after which runs changed (so that other tabs' pickers follow) and the
    opened run's picker."""
    gr.Markdown(words.RUNS_INTRO)
    c: dict = {}
    with gr.Row():
        c["dataset"] = gr.Dropdown(choices=[(words.ALL_DATASETS, ALL)], value=ALL, label=words.DATASET_FILTER,
                                   elem_id="runs-dataset", scale=3)
        c["reload"] = gr.Button(words.RUNS_REFRESH, elem_id="runs-refresh", scale=1)
    c["table"] = gr.Dataframe(value=table_frame([]), headers=words.RUNS_COLUMNS, interactive=False, wrap=True,
                              datatype=["str"] * 5 + ["number"] * 3 + ["str"] * 3, label=words.RUNS_TABLE,
                              elem_id="runs-table")
    with gr.Row():
        # Run ids typed by a script through the API are allowed too: every handler checks them (ctx.run_folder)
        c["opened"] = gr.Dropdown(label=words.OPEN_RUN, elem_id="runs-open", scale=1, allow_custom_value=True)
        c["several"] = gr.Dropdown(multiselect=True, label=words.SEVERAL_RUNS, elem_id="runs-several", scale=1,
                                   allow_custom_value=True)
    with gr.Tabs():
        with gr.Tab(words.SUBTAB_THIS_RUN, id="this-run"):
            c.update(_this_run_panel(ctx, c["opened"]))
        with gr.Tab(words.SUBTAB_SIDE_BY_SIDE, id="side-by-side"), gr.Row():
            c["overlay_acc"] = gr.Plot(label=words.OVERLAY_ACCURACY, elem_id="runs-overlay-acc")
            c["overlay_loss"] = gr.Plot(label=words.OVERLAY_LOSS, elem_id="runs-overlay-loss")
        with gr.Tab(words.SUBTAB_PICTURES, id="pictures"):
            c["run_a"], c["run_b"] = runs_compare.build(ctx)
        with gr.Tab(words.SUBTAB_SHARE, id="share"):
            c["opened_project"] = runs_share.build(ctx, c["opened"], c["several"])
    return _wire(ctx, tab, c), c["opened"]
