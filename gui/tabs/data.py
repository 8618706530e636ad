"""Data tab: pick (or build) a dataset, then read its health report: counts, warnings, skipped files."""
from __future__ import annotations

import threading
from typing import Iterator

import gradio as gr

from core.data.health import HealthReport, check_dataset
from core.data.scan import find_datasets, scan_dataset
from core.errors import DatasetError
from core.events import CheckProgress
from gui.charts import counts_figure, progress_html
from gui.context import AppContext, OutsideServedFolders
from gui.tabs import builder as builder_tab

THUMBS_PER_CLASS = 4
EXAMPLES_PER_WARNING = 3
LAYOUT_WORDS = {
    "split": "**train/ and valid/ folders**",
    "train-only": "a **train/ folder without valid/**: {pct} of each class is held out for validation "
                  "(the same images every time, seed {seed})",
    "flat": "**one folder per class**: {pct} of each class is held out for validation "
            "(the same images every time, seed {seed})",
}
WARNING_TITLES = {
    "leakage": "Same picture in training and validation",
    "label_conflict": "Same picture in two classes",
    "duplicates": "Identical copies",
    "near_duplicates": "Nearly identical pictures",
    "missing_in_valid": "Classes without validation images",
    "empty_class": "Empty class folders",
    "unknown_class": "Classes only in valid/ or test/",
    "unsplit_class": "Classes too small to split",
    "few_images": "Few images",
    "imbalance": "Unbalanced classes",
    "tiny": "Tiny images",
}


def summary_markdown(report: HealthReport) -> str:
    """What was found, in one paragraph."""
    pct = f"{report.valid_fraction:.0%}" if report.valid_fraction else ""
    layout = LAYOUT_WORDS[report.layout].format(pct=pct, seed=report.seed)
    totals = " · ".join(f"{split}: {sum(c.values())} images" for split, c in report.splits.items())
    remembered = f", {report.from_cache} remembered from an earlier check" if report.from_cache else ""
    skipped = f"**{len(report.skipped)} files skipped** (listed below)" if report.skipped else "no file skipped"
    return (f"Found {layout}. **{len(report.classes)} classes**: {', '.join(report.classes)}.\n\n"
            f"{totals} · {skipped} · checked {report.files} files in {report.seconds:.1f} s{remembered}.")


def error_markdown(err: Exception) -> str:
    """The first line as a sentence, the rest (the expected tree) as a code block."""
    first, _, rest = str(err).partition("\n")
    return f"⚠️ {first}" + (f"\n\n```text\n{rest}\n```" if rest else "")


def _example(paths) -> str:
    shown = [" ↔ ".join(f"`{p}`" for p in item) if isinstance(item, list) else f"`{item}`" for item in paths[:EXAMPLES_PER_WARNING]]
    return ", ".join(shown) + (", …" if len(paths) > EXAMPLES_PER_WARNING else "")


def warnings_markdown(report: HealthReport) -> str:
    """Each warning as a titled line that says what is wrong and what to do, with a few of the files."""
    if not report.warnings:
        return "✅ **No problems found.** The data looks ready to train."
    lines = [f"### ⚠️ {len(report.warnings)} thing(s) worth a look"]
    for w in report.warnings:
        lines.append(f"- **{WARNING_TITLES.get(w['kind'], w['kind'])}**: {w['message']}")
        if w.get("paths") and w["kind"] in ("leakage", "label_conflict", "duplicates", "near_duplicates", "tiny"):
            lines.append(f"  e.g. {_example(w['paths'])}")
    return "\n".join(lines)


def _thumbnails(index, skipped: set[str]) -> list[tuple[str, str]]:
    thumbs = []
    for label, name in enumerate(index.classes):
        paths = [p for p, y in index.splits["train"] if y == label and p.relative_to(index.root).as_posix() not in skipped]
        thumbs += [(str(p), name) for p in paths[:THUMBS_PER_CLASS]]
    return thumbs


def health_view(ctx: AppContext, text: str, percent: float, stop: threading.Event | None = None) -> Iterator[tuple]:
    """Yield (progress, summary, warnings, chart, skipped rows, thumbnails) while the folder is checked."""
    fraction = float(percent or 20) / 100
    try:
        root = ctx.resolve_dataset(text)
        index = scan_dataset(root, fraction)
        items = check_dataset(root, fraction, cache_dir=ctx.cache_dir, stop=stop, index=index)
        for item in items:
            if isinstance(item, CheckProgress):
                yield progress_html(item, None), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            else:
                report = item
    except (OutsideServedFolders, DatasetError) as err:
        yield progress_html(None, None, "Not checked"), error_markdown(err), "", None, gr.Dataframe(None, label="Skipped files"), []
        return
    if stop is not None and stop.is_set():
        return
    # Always shown: a table appearing would narrow the chart after Plotly has drawn it at full width.
    rows = gr.Dataframe([[s["path"], s["reason"]] for s in report.skipped],
                        label=f"Skipped files ({len(report.skipped) or 'none'})")
    yield (progress_html(None, None, f"Checked {report.files} files"), summary_markdown(report), warnings_markdown(report),
           counts_figure(report.splits), rows, _thumbnails(index, {s["path"] for s in report.skipped}))


def build(ctx: AppContext, demo: gr.Blocks) -> tuple[gr.Textbox, gr.Slider]:
    """Lay out the tab; returns the dataset box and the validation share that the Train tab reads."""
    with gr.Tabs() as tabs:
        with gr.Tab("Check a folder", id="check"):
            gr.Markdown("Pick a folder of images: one subfolder per class (the app holds some out for validation), "
                        "or `train/` and `valid/` folders with one subfolder per class inside each.")
            with gr.Row():
                with gr.Column(scale=1):
                    dataset = gr.Textbox(label="Dataset folder", value=str(ctx.initial_dataset), elem_id="dataset-path")
                    found = gr.Radio(label=f"Datasets found in {ctx.data_root}", elem_id="dataset-browser")
                    rescan = gr.Button("Look again", size="sm")
                    percent = gr.Slider(5, 50, value=20, step=5, label="Validation share (%)", elem_id="valid-percent",
                                        info="Only for folders without valid/: this share of each class is held out "
                                             "to measure accuracy, the same images every time.")
                with gr.Column(scale=2):
                    progress = gr.HTML(progress_html(None, None, "Not checked"), elem_id="check-progress")
                    summary = gr.Markdown(elem_id="dataset-summary")
                    warnings = gr.Markdown(elem_id="dataset-warnings")
            with gr.Row():
                chart = gr.Plot(label="Images per class", elem_id="dataset-counts")
                skipped = gr.Dataframe(headers=["file", "why it is skipped"], label="Skipped files", interactive=False,
                                       wrap=True, max_height=280, column_widths=["35%", "65%"], elem_id="dataset-skipped")
            thumbs = gr.Gallery(label="A few training images per class", columns=8, height=220, elem_id="dataset-thumbs")
        with gr.Tab("Build a dataset", id="build"):
            built = builder_tab.build(ctx)

    outputs = [progress, summary, warnings, chart, skipped, thumbs]

    def check(text, pct, request: gr.Request):
        previous = ctx.checks.get(request.session_hash)
        if previous is not None:
            previous.set()  # a newer check replaces an unfinished one
        stop = ctx.checks[request.session_hash] = threading.Event()
        try:
            yield from health_view(ctx, text, pct, stop)
        finally:
            if ctx.checks.get(request.session_hash) is stop:
                del ctx.checks[request.session_hash]

    def browse():
        paths = find_datasets(ctx.data_root)
        current = str(ctx.initial_dataset) if ctx.initial_dataset in paths else None
        return gr.Radio(choices=[(str(p.relative_to(ctx.data_root)), str(p)) for p in paths], value=current)

    checking = {"fn": check, "inputs": [dataset, percent], "outputs": outputs, "show_progress": "hidden"}
    gr.on([dataset.submit, dataset.blur, percent.release], **checking, trigger_mode="always_last", api_name="check_dataset")
    found.input(lambda path: path, found, dataset, api_visibility="private").then(**checking, api_visibility="private")
    built.use.click(lambda name: (builder_tab.folder_of(ctx, name), gr.Tabs(selected="check")), built.name, [dataset, tabs],
                    api_visibility="private").then(browse, None, found, api_visibility="private").then(
                    **checking, api_visibility="private")
    rescan.click(browse, None, found, api_visibility="private")
    demo.load(**checking, api_visibility="private")
    demo.load(browse, None, found, api_visibility="private")
    return dataset, percent

