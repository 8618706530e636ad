"""Data tab: pick (or build) a dataset, then read its health report: counts, warnings, skipped files."""
from __future__ import annotations

import threading
from typing import Iterator

import gradio as gr

from core.data.health import HealthReport, check_dataset
from core.data.scan import find_datasets, scan_dataset
from core.errors import DatasetError
from gui import words
from gui.charts import counts_figure
from gui.context import AppContext, OutsideServedFolders
from gui.progress import progress_then_result, status_html
from gui.tabs import audit as audit_tab
from gui.tabs import builder as builder_tab
from gui.tabs import data_map as map_tab

THUMBS_PER_CLASS = 4
EXAMPLES_PER_WARNING = 3
WITH_EXAMPLES = ("leakage", "label_conflict", "duplicates", "near_duplicates", "tiny")  # warnings that name files


def summary_markdown(report: HealthReport) -> str:
    """What was found, in one paragraph."""
    pct = f"{report.valid_fraction:.0%}" if report.valid_fraction else ""
    totals = " · ".join(words.SPLIT_TOTAL.format(split=words.SPLIT_WORDS.get(split, split), images=sum(c.values()))
                        for split, c in report.splits.items())
    return words.FOUND.format(
        layout=words.LAYOUT_WORDS[report.layout].format(pct=pct, seed=report.seed), count=len(report.classes),
        classes=", ".join(report.classes), totals=totals, files=report.files, seconds=report.seconds,
        skipped=words.FILES_SKIPPED.format(count=len(report.skipped)) if report.skipped else words.NO_FILE_SKIPPED,
        remembered=words.REMEMBERED.format(count=report.from_cache) if report.from_cache else "",
    )


def error_markdown(err: Exception) -> str:
    """The first line as a sentence, the rest (the expected tree) as a code block."""
    first, _, rest = str(err).partition("\n")
    return words.WARN.format(first) + (f"\n\n```text\n{rest}\n```" if rest else "")


def _example(paths) -> str:
    shown = [" ↔ ".join(f"`{p}`" for p in item) if isinstance(item, list) else f"`{item}`"
             for item in paths[:EXAMPLES_PER_WARNING]]
    return ", ".join(shown) + (", …" if len(paths) > EXAMPLES_PER_WARNING else "")


def warnings_markdown(report: HealthReport) -> str:
    """Each warning as a titled line that says what is wrong and what to do, with a few of the files."""
    if not report.warnings:
        return words.NO_PROBLEMS
    lines = [words.WARNINGS_HEADING.format(count=len(report.warnings))]
    for w in report.warnings:
        lines.append(words.WARNING_LINE.format(title=words.WARNING_TITLES.get(w["kind"], w["kind"]),
                                               message=w["message"]))
        if w.get("paths") and w["kind"] in WITH_EXAMPLES:
            lines.append(words.WARNING_EXAMPLES.format(examples=_example(w["paths"])))
    return "\n".join(lines)


def _thumbnails(index, skipped: set[str]) -> list[tuple[str, str]]:
    thumbs = []
    for label, name in enumerate(index.classes):
        paths = [p for p, y in index.splits["train"]
                 if y == label and p.relative_to(index.root).as_posix() not in skipped]
        thumbs += [(str(p), name) for p in paths[:THUMBS_PER_CLASS]]
    return thumbs


def health_view(ctx: AppContext, text: str, percent: float, stop: threading.Event | None = None) -> Iterator[tuple]:
    """Yield (progress, summary, warnings, chart, skipped rows, thumbnails) while the folder is checked."""
    fraction = float(percent or 20) / 100
    try:
        root = ctx.resolve_dataset(text)
        index = scan_dataset(root, fraction)
        items = check_dataset(root, fraction, cache_dir=ctx.cache_dir, stop=stop, index=index)
        report = yield from progress_then_result(items, HealthReport, others=5)
    except (OutsideServedFolders, DatasetError) as err:
        yield (status_html(words.NOT_CHECKED), error_markdown(err), "", None,
               gr.Dataframe(None, label=words.SKIPPED_FILES), [])
        return
    if report is None or (stop is not None and stop.is_set()):
        return
    # Always shown: a table appearing would narrow the chart after Plotly has drawn it at full width.
    rows = gr.Dataframe([[s["path"], s["reason"]] for s in report.skipped],
                        label=words.SKIPPED_FILES_COUNT.format(count=len(report.skipped) or words.SKIPPED_NONE))
    yield (status_html(words.CHECKED.format(files=report.files), done=True), summary_markdown(report),
           warnings_markdown(report), counts_figure(report.splits), rows,
           _thumbnails(index, {s["path"] for s in report.skipped}))


def build(ctx: AppContext, demo: gr.Blocks, keeping: bool = True) -> tuple[gr.Textbox, gr.Slider, map_tab.MapLink]:
    """Lay out the tab; returns the dataset box and the validation share that the Train tab reads, and what opens
    the map on a run (the Evaluate tab's link). Without `keeping` (a full app shared by a link) the map shows no
    kept pictures."""
    with gr.Tabs() as tabs:
        with gr.Tab(words.SUBTAB_CHECK, id="check"):
            gr.Markdown(words.CHECK_INTRO)
            with gr.Row():
                with gr.Column(scale=1):
                    dataset = gr.Textbox(label=words.DATASET_FOLDER, value=str(ctx.initial_dataset),
                                         elem_id="dataset-path")
                    found = gr.Radio(label=words.DATASETS_FOUND.format(root=ctx.data_root), elem_id="dataset-browser")
                    rescan = gr.Button(words.LOOK_AGAIN, size="sm")
                    percent = gr.Slider(5, 50, value=20, step=5, label=words.VALID_SHARE, elem_id="valid-percent",
                                        info=words.VALID_SHARE_INFO)
                with gr.Column(scale=2):
                    progress = gr.HTML(status_html(words.NOT_CHECKED), elem_id="check-progress")
                    summary = gr.Markdown(elem_id="dataset-summary")
                    warnings = gr.Markdown(elem_id="dataset-warnings")
            with gr.Row():
                chart = gr.Plot(label=words.IMAGES_PER_CLASS, elem_id="dataset-counts")
                skipped = gr.Dataframe(headers=words.SKIPPED_HEADERS, label=words.SKIPPED_FILES, interactive=False,
                                       wrap=True, max_height=280, column_widths=["35%", "65%"],
                                       elem_id="dataset-skipped")
            thumbs = gr.Gallery(label=words.THUMBNAILS, columns=8, height=220, elem_id="dataset-thumbs")
        with gr.Tab(words.SUBTAB_BUILD, id="build"):
            built = builder_tab.build(ctx)
        with gr.Tab(words.SUBTAB_AUDIT, id="audit"):
            audit_tab.build(ctx, dataset, percent)
        with gr.Tab(words.SUBTAB_MAP, id="map") as map_page:
            map_link = map_tab.build(ctx, dataset, percent, tabs, map_page, keeping)

    outputs = [progress, summary, warnings, chart, skipped, thumbs]

    def check(text, pct, request: gr.Request):
        with ctx.job("check", request.session_hash) as stop:  # a newer check stops an unfinished one
            yield from health_view(ctx, text, pct, stop)

    def browse():
        paths = find_datasets(ctx.data_root)
        current = str(ctx.initial_dataset) if ctx.initial_dataset in paths else None
        return gr.Radio(choices=[(str(p.relative_to(ctx.data_root)), str(p)) for p in paths], value=current)

    checking = {"fn": check, "inputs": [dataset, percent], "outputs": outputs, "show_progress": "hidden"}
    private = {"api_visibility": "private"}
    gr.on([dataset.submit, dataset.blur, percent.release], **checking, trigger_mode="always_last",
          api_name="check_dataset")
    found.input(lambda path: path, found, dataset, **private).then(**checking, **private)
    built.use.click(lambda name: (builder_tab.folder_of(ctx, name), gr.Tabs(selected="check")), built.name,
                    [dataset, tabs], **private).then(browse, None, found, **private).then(**checking, **private)
    rescan.click(browse, None, found, **private)
    demo.load(**checking, **private)
    demo.load(browse, None, found, **private)
    return dataset, percent, map_link
