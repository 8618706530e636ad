"""Runs tab, sharing: one run exported as a .zip a colleague runs without this app (proven to give its answers),
and chosen runs with their pictures saved as a project .zip that another copy of the app opens as they were."""
from __future__ import annotations

import time

import gradio as gr

from core.errors import CheckpointError, DatasetError
from gui import words
from gui.context import AppContext
from gui.tabs.builder import zip_limits

PROBLEMS = (LookupError, ValueError, DatasetError, CheckpointError, FileNotFoundError)
DEFAULT_FORMATS = ["onnx", "torchscript"]


def _megabytes(size: int) -> str:
    return words.MEGABYTES.format(mb=size / 1e6)


def parity_sentence(parity) -> str:
    """ONNX Runtime and TorchScript agree with the app on 20 of 20 validation pictures; largest difference …"""
    figures = {name: (p.agreed, p.images) for name, p in parity.formats.items()}
    largest = max((p.max_abs_prob_diff for p in parity.formats.values()), default=0.0)
    def engines(names) -> str:
        return words.AND.join(words.EXPORT_ENGINES.get(n, n) for n in names)

    if len(set(figures.values())) == 1:
        agreed, images = next(iter(figures.values()))
        return words.PARITY.format(engines=engines(figures), agreed=agreed, images=images, diff=largest)
    return " ".join(words.PARITY.format(engines=engines([name]), agreed=agreed, images=images,
                                        diff=parity.formats[name].max_abs_prob_diff)
                    for name, (agreed, images) in figures.items())


def export(ctx: AppContext, run_id: str | None, formats: list[str] | None) -> tuple[str | None, str]:
    """(the bundle's path, or None, and a sentence: its size and the parity it was proven with, or why not)."""
    from core.export.bundle import export_run

    try:
        path = ctx.run_folder(run_id)
        if not formats:
            raise ValueError(words.EXPORT_NO_FORMAT)
        result = export_run(path, ctx.download_path(f"{path.name}.zip"), list(formats))
    except PROBLEMS as err:  # ExportRefused is a ValueError: the export disagreed with the app
        return None, words.WARN.format(err)
    return str(result.path), words.EXPORTED.format(name=result.path.name, size=_megabytes(result.bytes),
                                                   parity=parity_sentence(result.parity))


def save(ctx: AppContext, run_ids: list[str] | None) -> tuple[str | None, str]:
    """(the project's path, or None, and a sentence of what it holds, or why nothing was saved)."""
    from core.runstore.project import save_project

    try:
        if not run_ids:
            raise ValueError(words.PROJECT_NO_RUNS)
        for run_id in run_ids:
            ctx.run_folder(run_id)
        out = ctx.download_path(f"transfer-studio-project-{time.strftime('%Y%m%d-%H%M%S')}.zip")
        saved = save_project(ctx.runs_dir, list(run_ids), out)
    except PROBLEMS as err:  # ProjectError is a ValueError
        return None, words.WARN.format(err)
    missing = words.PROJECT_MISSING.format(count=len(saved.missing)) if saved.missing else ""
    return str(saved.path), words.PROJECT_SAVED.format(runs=len(saved.runs), images=saved.images,
                                                       size=_megabytes(saved.bytes), missing=missing)


def open_zip(ctx: AppContext, upload: str | None) -> str:
    """Unpack a project .zip into this app's runs and data folders; a sentence of what came back and what not."""
    from core.runstore.project_open import open_project

    if not upload:
        return words.WARN.format(words.PROJECT_NO_FILE)
    try:
        opened = open_project(upload, ctx.runs_dir, ctx.data_root, zip_limits(ctx))
    except (ValueError, DatasetError, CheckpointError, OSError) as err:  # ProjectError is a ValueError
        return words.WARN.format(err)
    runs = ", ".join(path.name for path in opened.runs.values())
    datasets = ", ".join(str(path) for path in opened.datasets.values())
    refused = opened.refused
    left_out = words.PROJECT_LEFT_OUT.format(count=len(refused), examples="; ".join(
        f"{item['name']}: {item['reason']}" for item in refused[:5])) if refused else ""
    return words.PROJECT_OPENED.format(count=len(opened.runs), runs=runs, datasets=datasets, left_out=left_out)


def build(ctx: AppContext, opened: gr.Dropdown, several: gr.Dropdown):
    """Lay out Export (the opened run) and Project (the runs chosen above); returns the event that opens a project,
    after which the tab re-reads its runs."""
    gr.Markdown(words.EXPORT_INTRO)
    with gr.Row():
        formats = gr.CheckboxGroup(words.EXPORT_FORMATS, value=DEFAULT_FORMATS, label=words.EXPORT_FORMATS_LABEL,
                                   elem_id="export-formats", scale=2)
        export_button = gr.Button(words.EXPORT_BUTTON, variant="primary", elem_id="export-button", scale=1)
    export_file = gr.File(label=words.EXPORT_FILE, interactive=False, elem_id="export-file")
    export_said = gr.Markdown(elem_id="export-said")
    gr.Markdown(words.PROJECT_INTRO)
    with gr.Row():
        save_button = gr.Button(words.PROJECT_SAVE, elem_id="project-save")
        project_file = gr.File(label=words.PROJECT_FILE, interactive=False, elem_id="project-file")
    with gr.Row():
        upload = gr.File(label=words.PROJECT_UPLOAD, file_types=[".zip"], type="filepath", elem_id="project-upload")
        open_button = gr.Button(words.PROJECT_OPEN, elem_id="project-open")
    project_said = gr.Markdown(elem_id="project-said")

    export_button.click(lambda r, f: export(ctx, r, f), [opened, formats], [export_file, export_said],
                        api_name="export_run", concurrency_limit=1)
    save_button.click(lambda ids: save(ctx, ids), several, [project_file, project_said], api_name="save_project",
                      concurrency_limit=1)
    return open_button.click(lambda f: open_zip(ctx, f), upload, project_said, api_name="open_project",
                             concurrency_limit=1)
