"""The "Start here" line at the top of the full app: the three steps of a first training and where the demo data is,
until the owner hides it. That is remembered in the app's cache folder, beside the owner's other settings (the
password, keeping pictures), in a small JSON file written atomically."""
from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr

from core.system import read_json_object, write_json_atomic
from gui import words
from gui.context import AppContext

FILE_NAME = "start_here.json"
DEMO_FOLDER = "shapes"  # where launch.py's demo data lives under the data folder (core.data.demo.ensure_demo_dataset)
log = logging.getLogger(__name__)


def store_path(cache_dir: str | Path) -> Path:
    """The file that remembers the line was hidden."""
    return Path(cache_dir) / FILE_NAME


def dismissed(cache_dir: str | Path) -> bool:
    """Whether the owner hid the line (a missing or unreadable file: not yet)."""
    return read_json_object(store_path(cache_dir)).get("dismissed") is True


def dismiss(cache_dir: str | Path) -> None:
    """Remember, for every later start, that the owner hid the line."""
    write_json_atomic(store_path(cache_dir), {"dismissed": True})


def line(ctx: AppContext) -> str:
    """The three steps, pointing at the folder the app starts on: the demo shapes, or the owner's own."""
    demo = ctx.initial_dataset == ctx.data_root / DEMO_FOLDER
    data = words.START_HERE_DATA[demo].format(name=ctx.initial_dataset.name)
    return words.START_HERE.format(data=data, data_tab=words.TAB_DATA, train_tab=words.TAB_TRAIN,
                                   predict_tab=words.TAB_PREDICT, model_tab=words.TAB_MODEL,
                                   start=words.START_TRAINING)


def hide(ctx: AppContext, remember: bool = True) -> gr.Row:
    """The button's handler: hide the line on this page and, on the owner's own page, for good (a file that cannot
    be written only costs showing it again at the next start)."""
    if remember:
        try:
            dismiss(ctx.cache_dir)
        except OSError as err:
            log.warning("the Start here line will show again: %s", err)
    return gr.Row(visible=False)


def build(ctx: AppContext, demo: gr.Blocks, remember: bool = True) -> gr.Row:
    """The line and its button, shown until hidden; `remember` is False on a full app shared with visitors, whose
    click hides it on their page only."""
    with gr.Row(visible=not dismissed(ctx.cache_dir), equal_height=True, elem_id="start-here") as row:
        gr.Markdown(line(ctx), elem_id="start-here-text")
        button = gr.Button(words.START_HERE_HIDE, size="sm", scale=0, min_width=160, elem_id="start-here-hide")
    button.click(lambda: hide(ctx, remember), None, row, api_visibility="private", show_progress="hidden")
    # a page opened after the owner hid it, in this same start, does not show it either
    demo.load(lambda: gr.Row(visible=not dismissed(ctx.cache_dir)), None, row, api_visibility="private",
              show_progress="hidden")
    return row
