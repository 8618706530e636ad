"""Data tab: pick a dataset folder, see its classes, counts per split and a few images of each class."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from core.errors import DatasetError

from .context import AppContext, OutsideServedFolders

THUMBS_PER_CLASS = 4


def _subfolders(path: Path) -> list[Path]:
    try:
        return sorted(c for c in path.iterdir() if c.is_dir() and not c.name.startswith("."))
    except OSError:
        return []


def find_datasets(root: Path, depth: int = 3) -> list[Path]:
    """Folders under `root` (itself included) that hold train/ and a validation folder, nearest first."""
    found, level = [], [root]
    for _ in range(depth + 1):
        hits = [p for p in level if (p / "train").is_dir() and any((p / v).is_dir() for v in ("valid", "val", "validation"))]
        found += hits
        level = [child for p in level if p not in hits for child in _subfolders(p)]
    return found


def describe_dataset(ctx: AppContext, text: str) -> tuple[str, list[list], list[tuple[str, str]]]:
    """Summary sentence, counts table (class x split) and thumbnails for the folder typed in."""
    from core.data import scan_dataset

    try:
        index = scan_dataset(ctx.resolve_dataset(text))
    except (OutsideServedFolders, DatasetError) as err:
        return f"⚠️ {err}", [], []
    counts = index.counts()
    splits = list(counts)
    rows = [[name] + [counts[s][name] for s in splits] for name in index.classes]
    rows.append(["total"] + [sum(counts[s].values()) for s in splits])
    summary = (f"**{len(index.classes)} classes** found in `{index.root.name}`: {', '.join(index.classes)}. "
               + " · ".join(f"{s}: {sum(counts[s].values())} images" for s in splits))
    thumbs = []
    for label, name in enumerate(index.classes):
        paths = [p for p, y in index.splits["train"] if y == label][:THUMBS_PER_CLASS]
        thumbs += [(str(p), name) for p in paths]
    return summary, [["class"] + splits] + rows, thumbs


def build(ctx: AppContext, demo: gr.Blocks) -> gr.Textbox:
    """Lay out the tab; returns the dataset textbox the Train tab reads."""
    gr.Markdown("Pick the folder of images to learn from: `train/` and `valid/` inside, one subfolder per class.")
    with gr.Row():
        with gr.Column(scale=1):
            dataset = gr.Textbox(label="Dataset folder", value=str(ctx.initial_dataset), elem_id="dataset-path")
            found = gr.Radio(label=f"Datasets found in {ctx.data_root}", elem_id="dataset-browser")
            rescan = gr.Button("Look again", size="sm")
        with gr.Column(scale=2):
            summary = gr.Markdown(elem_id="dataset-summary")
            counts = gr.Dataframe(label="Images per class and split", interactive=False, elem_id="dataset-counts")
    thumbs = gr.Gallery(label="A few training images per class", columns=8, height=260, elem_id="dataset-thumbs")

    def show(text):
        text_summary, table, pictures = describe_dataset(ctx, text)
        frame = gr.Dataframe(value=table[1:], headers=table[0]) if table else gr.Dataframe(value=None)
        return text_summary, frame, pictures

    def browse():
        paths = find_datasets(ctx.data_root)
        current = str(ctx.initial_dataset) if ctx.initial_dataset in paths else None
        return gr.Radio(choices=[(str(p.relative_to(ctx.data_root)), str(p)) for p in paths], value=current)

    found.input(lambda path: path, found, dataset, api_visibility="private")
    rescan.click(browse, None, found, api_visibility="private")
    dataset.change(show, dataset, [summary, counts, thumbs], api_name="describe_dataset")
    demo.load(show, dataset, [summary, counts, thumbs], api_visibility="private")
    demo.load(browse, None, found, api_visibility="private")
    return dataset
