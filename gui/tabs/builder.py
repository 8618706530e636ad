"""Build a dataset in the app: name it, add classes, drop pictures or take photos, or upload a .zip."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from core.data.archive import ZipLimits
from core.data.builder import (
    DATASETS_FOLDER,
    Added,
    add_class,
    add_images,
    class_images,
    dataset_folder,
    extract_zip,
    remove_image,
    safe_name,
)
from core.errors import DatasetError
from gui import words
from gui.context import AppContext

SHOWN_PER_CLASS = 60


@dataclass
class BuilderOutputs:
    """What the Data tab wires: the button that hands the built dataset over, and its name box."""

    use: gr.Button
    name: gr.Textbox


def folder_of(ctx: AppContext, name: str) -> str:
    """The folder of the dataset called `name` (created if new), for the Data tab's path box."""
    try:
        return str(dataset_folder(ctx.data_root, name))
    except DatasetError:
        return ""


def _report(added: Added, where: str) -> str:
    text = words.ADDED.format(count=len(added.written), where=where)
    if added.rejected:
        text += words.NOT_ADDED.format(count=len(added.rejected)) + "; ".join(
            words.REFUSED_FILE.format(name=r["name"], reason=r["reason"]) for r in added.rejected[:10]
        ) + (" …" if len(added.rejected) > 10 else "")
    return text


def open_dataset(ctx: AppContext, name: str) -> tuple[str, list[str], str]:
    """(folder, its classes, a sentence) for the dataset called `name`, created if new."""
    folder = dataset_folder(ctx.data_root, name)
    classes = list(class_images(folder))
    where = folder.relative_to(ctx.data_root)
    said = (words.DATASET_OPENED.format(where=where, count=len(classes)) if classes
            else words.DATASET_NEW.format(where=where))
    return str(folder), classes, said


def add_pictures(ctx: AppContext, name: str, class_name: str | None, pictures: list) -> str:
    """Files or webcam frames into one class; every refused file is named with its reason."""
    if not class_name:
        raise DatasetError(words.CLASS_FIRST)
    if len(pictures) > ctx.max_files:
        raise DatasetError(words.TOO_MANY_FILES.format(count=len(pictures), most=ctx.max_files))
    folder = dataset_folder(ctx.data_root, name)
    added = add_images(folder, class_name, pictures, **_room(ctx))
    return _report(added, words.IN_CLASS.format(name=class_name))


def _room(ctx: AppContext) -> dict:
    """The builder's folder and how far it may grow (the app's --max-data-mb)."""
    return {"room": ctx.data_root / DATASETS_FOLDER, "max_bytes": ctx.max_data_mb * 2**20}


def zip_limits(ctx: AppContext) -> ZipLimits:
    """The app's limits on an uploaded .zip (a dataset's or a project's): pictures and the datasets folder's budget."""
    return ZipLimits(picture_bytes=ctx.max_file_mb * 2**20, data_bytes=ctx.max_data_mb * 2**20)


def add_zip(ctx: AppContext, name: str, archive: str) -> str:
    """Unpack a .zip of class folders (or train/ valid/) into the dataset."""
    folder = dataset_folder(ctx.data_root, name)
    added = extract_zip(archive, folder, zip_limits(ctx), room=_room(ctx)["room"])
    return _report(added,
                   words.FROM_ZIP.format(folder=folder.relative_to(ctx.data_root), archive=Path(archive).name))


def _refresh(ctx: AppContext, dataset_name: str, pick: str | None = None) -> tuple:
    """(folder, class picker, sentence, re-render token) of the dataset re-read from disk; `pick` is selected."""
    try:
        path, classes, said = open_dataset(ctx, dataset_name)
    except DatasetError as err:
        return "", gr.Radio(choices=[]), words.WARN.format(err), gr.skip()
    pick = _saved_name(pick)  # a class just typed is selected under the name it was saved as
    value = pick if pick in classes else (classes[0] if classes else None)
    return path, gr.Radio(choices=classes, value=value), said, time.monotonic_ns()  # new token: re-render


def _guarded(ctx: AppContext, action: Callable[..., str]) -> Callable[..., tuple]:
    """A builder action as a handler: its DatasetError becomes a sentence, then everything is re-read from disk."""
    def handler(dataset_name, cls, *args):
        try:
            said = action(dataset_name, cls, *args)
        except DatasetError as err:
            said = words.WARN.format(err)
        path, radio, _, token = _refresh(ctx, dataset_name, cls)
        return path, radio, said, token
    return handler


def _new_class(ctx: AppContext, dataset_name: str, cls: str) -> str:
    folder = add_class(dataset_folder(ctx.data_root, dataset_name), cls)
    return words.CLASS_READY.format(name=folder.name)


def _forget(ctx: AppContext, dataset_name: str, path: str | None) -> str:
    if not path:
        return words.CLICK_FIRST
    remove_image(dataset_folder(ctx.data_root, dataset_name), path)
    return words.REMOVED.format(name=Path(path).name)


def _wire(ctx: AppContext, c: dict) -> None:
    """Every action of the sub-tab; each ends by re-reading the dataset (folder, classes, sentence, galleries)."""
    shown = [c["folder"], c["target"], c["status"], c["version"]]
    quiet = {"api_visibility": "private", "show_progress": "hidden"}
    name, target = c["name"], c["target"]
    c["add"].click(_guarded(ctx, lambda n, _, cls: _new_class(ctx, n, cls)), [name, c["class_name"], c["class_name"]],
                   shown, **quiet).then(lambda: "", None, c["class_name"], **quiet)
    c["upload"].upload(_guarded(ctx, lambda n, cls, files: add_pictures(ctx, n, cls, files or [])),
                       [name, target, c["upload"]], shown, **quiet).then(lambda: None, None, c["upload"], **quiet)
    c["camera"].input(_guarded(ctx, lambda n, cls, frame: add_pictures(ctx, n, cls, [frame]) if frame is not None
                               else ""), [name, target, c["camera"]], shown, **quiet)
    c["archive"].upload(_guarded(ctx, lambda n, cls, z: add_zip(ctx, n, z)), [name, target, c["archive"]], shown,
                        **quiet).then(lambda: None, None, c["archive"], **quiet)
    c["remove"].click(_guarded(ctx, lambda n, _, path: _forget(ctx, n, path)), [name, target, c["selected"]], shown,
                      **quiet)
    gr.on([name.submit, name.blur], lambda n: _refresh(ctx, n), name, shown, **quiet)


def build(ctx: AppContext) -> BuilderOutputs:
    """Lay out the sub-tab; every action re-reads the dataset from disk, so what is shown is what is saved."""
    gr.Markdown(words.BUILDER_INTRO.format(root=ctx.data_root))
    c: dict = {"folder": gr.State(""), "version": gr.State(0), "selected": gr.State(None)}
    with gr.Row():
        c["name"] = gr.Textbox(label=words.DATASET_NAME, value=words.NEW_DATASET_NAME, elem_id="builder-name")
        c["class_name"] = gr.Textbox(label=words.NEW_CLASS, placeholder=words.NEW_CLASS_EXAMPLE,
                                     elem_id="builder-class-name")
        c["add"] = gr.Button(words.ADD_CLASS, elem_id="builder-add-class", scale=0, min_width=120)
    c["target"] = gr.Radio(label=words.ADD_TO_CLASS, elem_id="builder-target")
    with gr.Row():
        c["upload"] = gr.File(file_count="multiple", file_types=["image"], type="filepath",
                              label=words.DROP_PICTURES, elem_id="builder-upload")
        c["camera"] = gr.Image(sources=["webcam"], type="pil", label=words.TAKE_PHOTO, elem_id="builder-camera")
        c["archive"] = gr.File(file_types=[".zip"], type="filepath", label=words.UPLOAD_ZIP, elem_id="builder-zip")
    c["status"] = gr.Markdown(elem_id="builder-status")

    @gr.render(inputs=[c["folder"], c["version"]])
    def galleries(path, _):
        images = class_images(Path(path)) if path else {}
        for cls, files in images.items():
            shown = [str(p) for p in files[:SHOWN_PER_CLASS]]
            more = words.FIRST_SHOWN.format(count=SHOWN_PER_CLASS) if len(files) > SHOWN_PER_CLASS else ""
            gallery = gr.Gallery(shown, label=words.CLASS_GALLERY.format(name=cls, count=len(files), more=more),
                                 columns=10, height=150, allow_preview=False, elem_classes=["builder-class"])
            gallery.select(_picker(shown), None, c["selected"], api_visibility="private")

    with gr.Row():
        c["remove"] = gr.Button(words.REMOVE_PICTURE, size="sm", elem_id="builder-remove")
        use = gr.Button(words.USE_DATASET, variant="primary", elem_id="builder-use")
    _wire(ctx, c)
    return BuilderOutputs(use=use, name=c["name"])


def _saved_name(text: str | None) -> str | None:
    try:
        return safe_name(text or "")
    except DatasetError:
        return None


def _picker(paths: list[str]):
    def pick(evt: gr.SelectData) -> str:
        return paths[evt.index]
    return pick
