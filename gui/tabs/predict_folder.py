"""Predict tab, a whole folder: every picture inside the served folders predicted into one CSV to download (kept for
review when the owner keeps pictures, except those of the run's own dataset); the `predict_folder` endpoint."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from core.errors import CheckpointError
from gui import words
from gui.context import AppContext, OutsideServedFolders
from gui.limits import TOP_K
from gui.progress import progress_then_result, status_html


def folder_stream(ctx: AppContext, text: str, run_id: str | None):
    """Predict every picture of a folder inside the served roots; yield (progress, CSV file, sentence)."""
    from core.inference.folder import FolderTable, predict_folder

    try:
        folder = ctx.resolve_dataset(text)
        run = ctx.run_by_id(run_id)
        predictor = ctx.predictors.get(run.path)

        trained_on = Path(run.dataset_path).resolve()

        def keep(path, answer):  # not the run's own dataset: filing its validation pictures would leak them
            if trained_on not in Path(path).resolve().parents:
                ctx.keeper.keep(path, run.run_id, answer.top, answer.sure, "folder")

        table = yield from progress_then_result(predict_folder(predictor, folder, k=TOP_K, on_answer=keep),
                                                FolderTable, others=2)
        if table is not None:
            out = ctx.download_path(f"{folder.name}-predictions.csv")
            out.write_text(table.csv)
            unreadable = words.FOLDER_UNREADABLE.format(count=table.unreadable) if table.unreadable else ""
            yield (status_html(words.FINISHED, done=True), str(out),
                   words.FOLDER_DONE.format(predicted=table.predicted, unreadable=unreadable))
    except (OutsideServedFolders, LookupError, CheckpointError, FileNotFoundError) as err:
        yield status_html(words.NOT_STARTED), None, words.WARN.format(err)


def build(ctx: AppContext, run: gr.Dropdown) -> None:
    """A whole folder predicted into a CSV to download; the `predict_folder` endpoint."""
    with gr.Accordion(words.FOLDER_ACCORDION, open=False):
        with gr.Row():
            folder = gr.Textbox(label=words.FOLDER_BOX, elem_id="predict-folder", scale=3)
            folder_go = gr.Button(words.FOLDER_BUTTON, elem_id="predict-folder-button", scale=1)
        folder_progress = gr.HTML(status_html(), elem_id="predict-folder-progress")
        folder_said = gr.Markdown(elem_id="predict-folder-said")
        folder_csv = gr.File(label=words.FOLDER_CSV, interactive=False, elem_id="predict-folder-csv")

    def whole_folder(text, run_id):
        yield from folder_stream(ctx, text, run_id)

    folder_go.click(whole_folder, [folder, run], [folder_progress, folder_csv, folder_said],
                    api_name="predict_folder", concurrency_limit=1)


