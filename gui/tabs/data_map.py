"""Data tab, "Map": every picture of the dataset as a dot placed by what a model sees in it (core.evaluation.data_map),
coloured by class and shaped by what is known of it; a click shows a picture, a lasso a gallery, and both can be fixed
from here (gui.tabs.map_actions). Plotly's clicks and selections reach Python through the hidden box "map-picked",
which the page's script (gui/map_bridge.js) fills."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import gradio as gr

from core.errors import BackboneUnavailable, CheckpointError, DatasetError
from core.events import Message
from gui import words
from gui.context import AppContext, OutsideServedFolders
from gui.progress import DRAWN, progress_then_result, status_html
from gui.tabs.map_actions import act_on_clicked, act_on_selected, sentence, undo_on_map
from gui.tabs.map_views import clicked_view, facts_markdown, figure, live, new_state, selection_view

NO_RUN = ""  # the run picker's choice of no run: the map of what the pretrained backbone sees
PROBLEMS = (OutsideServedFolders, DatasetError, BackboneUnavailable, CheckpointError, LookupError, ValueError)
DRAW_OUTPUTS = ("progress", "plot", "facts", "state", "picture", "picture_facts", "move_to", "gallery",
                "selection_note", "all_to", "said")
PICK_OUTPUTS = ("state", "picture", "picture_facts", "move_to", "gallery", "selection_note")
CHANGED_OUTPUTS = ("state", "plot", "facts", "picture", "picture_facts", "move_to", "gallery", "selection_note", "said")


class MapLink(NamedTuple):
    """What another tab needs to open the map on a run: the Data tab's sub-tabs and the map's run picker."""

    tabs: gr.Tabs
    run: gr.Dropdown


def ordered(names: tuple[str, ...], values: dict) -> tuple:
    """A handler's outputs in the order of `names`; those it did not set are left as they are."""
    return tuple(values.get(name, gr.skip()) for name in names)


def _trained_on(run, root: Path) -> bool:
    try:
        return bool(run.dataset_path) and Path(run.dataset_path).expanduser().resolve() == root
    except OSError:
        return False


def run_choices(ctx: AppContext, text: str, current: str | None = NO_RUN) -> gr.Dropdown:
    """No run, then the runs trained on the dataset in the box (with a model to answer), and `current` kept picked
    when it is a run of this app (the Evaluate tab's link may pick one of another dataset)."""
    try:
        root = ctx.resolve_dataset(text)
    except OutsideServedFolders:
        root = None
    runs = [r for r in ctx.runs() if r.has_checkpoint and (r.run_id == current or (root and _trained_on(r, root)))]
    choices = [(words.MAP_NO_RUN, NO_RUN)] + [(r.label(), r.run_id) for r in runs]
    return gr.Dropdown(choices=choices, value=current if current in {r.run_id for r in runs} else NO_RUN)


def show_run(ctx: AppContext, text: str, run_id: str | None) -> gr.Dropdown:
    """The run picker with this run picked (the newest for the Evaluate tab's standing choice)."""
    try:
        return run_choices(ctx, text, ctx.run_by_id(run_id).run_id)
    except LookupError:
        return run_choices(ctx, text)


def draw_view(ctx: AppContext, text: str, percent: float, run_id: str | None, features: str, method: str,
              stop: threading.Event | None = None, keeping: bool = True) -> Iterator[tuple]:
    """Yield the bar while the map is made, then the map, its sentences and empty panels (DRAW_OUTPUTS); kept
    pictures only with `keeping` (a full app shared by a link hides them, and has no Review tab to file them in)."""
    from core.evaluation.data_map import DataMap, build_map

    warned: list[str] = []

    def told(message: Message) -> str:  # a phase of the work, or a warning kept for the line under the map
        if message.level == "warning":
            warned.append(message.text)
        return status_html(message.text)

    try:
        run = ctx.run_by_id(run_id).path if run_id else None
        data = _dataset(ctx, text, needed=run is None)
        items = build_map(data, run=run, features=features, method=method, valid_fraction=float(percent or 20) / 100,
                          cache_dir=ctx.cache_dir, kept_dir=ctx.keeper.folder if keeping else None, stop=stop)
        data_map = yield from progress_then_result(items, DataMap, len(DRAW_OUTPUTS) - 1, {**DRAWN, Message: told})
    except PROBLEMS as err:
        yield ordered(DRAW_OUTPUTS, {"progress": status_html(words.MAP_NOT_MADE), "said": sentence(err)})
        return
    if data_map is None:  # stopped by a newer map, or too few pictures
        stopped = stop is not None and stop.is_set()
        said = " ".join(words.WARN.format(w) for w in warned)
        yield ordered(DRAW_OUTPUTS, {"progress": status_html(words.MAP_STOPPED if stopped else words.MAP_NOT_MADE),
                                     "said": said})
        return
    state = new_state(data_map, keeping)  # with a run, core finds the kept pictures itself: left out here
    yield ordered(DRAW_OUTPUTS, {
        "progress": status_html(words.MAP_DRAWN.format(count=len(state["points"]),
                                                       seconds=data_map.timings.get("total_s", 0)), done=True),
        "plot": figure(state), "facts": facts_markdown(state), "state": state, **clicked_view(ctx, None),
        **selection_view(ctx, None), "all_to": gr.Dropdown(choices=state["classes"], value=None),
        "said": " ".join(words.WARN.format(w) for w in warned)})


def _dataset(ctx: AppContext, text: str, needed: bool) -> Path | None:
    """The dataset in the box; with a run it may be missing (the run's own pictures are mapped)."""
    try:
        return ctx.resolve_dataset(text)
    except OutsideServedFolders:
        if needed:
            raise
        return None


def pick(ctx: AppContext, state: dict | None, payload: str) -> dict:
    """A click or a selection on the map, as the page's script wrote it: show that picture, or those pictures. A
    payload of another drawing of the map (its "revision", the figure's uirevision) is ignored: its indices may name
    other pictures."""
    try:
        picked = json.loads(payload or "{}")
        kind, points, revision = picked.get("kind"), picked.get("points"), picked.get("revision")
    except (json.JSONDecodeError, AttributeError):
        return {}
    if not state or revision != state["revision"] or kind not in ("click", "select") or not isinstance(points, list):
        return {}
    if kind == "click":
        index = live(state, points[:1])
        if not index:
            return {}
        state["clicked"] = index[0]
        return {"state": state, **clicked_view(ctx, state)}
    state["selected"] = live(state, points)
    return {"state": state, **selection_view(ctx, state)}


def _acting(ctx: AppContext, act, action: str):
    """A button's handler: the action on the clicked or the selected pictures, its outputs in order."""
    def handler(state, to_class):
        return ordered(CHANGED_OUTPUTS, act(ctx, state, action, to_class))
    return handler


def build(ctx: AppContext, dataset: gr.Textbox, percent: gr.Slider, tabs: gr.Tabs, page: gr.Tab,
          keeping: bool = True) -> MapLink:
    """Lay out the view (the sub-tab `page` of the Data tab's `tabs`); it maps the folder in the Data tab's dataset
    box, with kept pictures when `keeping` (not in a full app shared by a link). Returns what opens it on a run."""
    gr.Markdown(words.MAP_INTRO)
    with gr.Row():
        run = gr.Dropdown(choices=[(words.MAP_NO_RUN, NO_RUN)], value=NO_RUN, label=words.MAP_RUN,
                          info=words.MAP_RUN_INFO, elem_id="map-run", scale=3)
        features = gr.Radio(words.MAP_FEATURE_CHOICES, value="backbone", label=words.MAP_FEATURES,
                            elem_id="map-features", scale=2)
        method = gr.Radio(words.MAP_METHOD_CHOICES, value="tsne", label=words.MAP_METHOD, info=words.MAP_METHOD_INFO,
                          elem_id="map-method", scale=2)
    with gr.Row():
        start = gr.Button(words.MAP_DRAW, variant="primary", elem_id="map-draw", scale=0, min_width=220)
        progress = gr.HTML(status_html(words.MAP_NOT_DRAWN), elem_id="map-progress")
    c = {"progress": progress, "plot": gr.Plot(label=words.MAP_LABEL, show_label=False, elem_id="data-map"),
         "facts": gr.Markdown(elem_id="map-facts"),
         "said": gr.Markdown(elem_id="map-said"),  # under the map: a sentence appearing never moves the dots
         "picked": gr.Textbox(elem_id="map-picked", container=False, show_label=False)}
    with gr.Row():
        c["picture"] = gr.Image(label=words.MAP_PICTURE, type="filepath", interactive=False, height=260,
                                elem_id="map-picture", scale=1)
        with gr.Column(scale=2):
            c["picture_facts"] = gr.Markdown(words.MAP_CLICK_FIRST, elem_id="map-picture-facts")
            with gr.Row():
                c["move_to"] = gr.Dropdown(label=words.MAP_MOVE_TO, choices=[], elem_id="map-move-to", scale=2)
                move = gr.Button(words.MAP_MOVE, size="sm", elem_id="map-move")
                aside = gr.Button(words.MAP_SET_ASIDE, size="sm", elem_id="map-set-aside")
                keep = gr.Button(words.MAP_KEEP, size="sm", elem_id="map-keep")
    c["selection_note"] = gr.Markdown(words.MAP_SELECT_FIRST, elem_id="map-selection-note")
    c["gallery"] = gr.Gallery(label=words.MAP_SELECTION, columns=10, fit_columns=False, height=240,
                              allow_preview=False, elem_id="map-gallery")
    with gr.Row():
        c["all_to"] = gr.Dropdown(label=words.MAP_ALL_TO, choices=[], elem_id="map-all-to", scale=2)
        move_all = gr.Button(words.MAP_MOVE_ALL_NONE, size="sm", elem_id="map-move-all")
        aside_all = gr.Button(words.MAP_SET_ASIDE_ALL, size="sm", elem_id="map-set-aside-all")
        undo = gr.Button(words.MAP_UNDO, size="sm", elem_id="map-undo")
    c["state"] = gr.State(None)
    _wire(ctx, c, dataset, percent, run, features, method, start, page, keeping)
    private = {"api_visibility": "private", "show_progress": "hidden"}
    # one change at a time on the map's folder: a double click, or Undo pressed during a move, waits its turn
    once = {"concurrency_limit": 1, "concurrency_id": "map-change", "trigger_mode": "once", **private}
    changed = [c[n] for n in CHANGED_OUTPUTS]
    for button, act, action, to_class in ((move, act_on_clicked, "move", c["move_to"]),
                                          (aside, act_on_clicked, "set_aside", c["move_to"]),
                                          (keep, act_on_clicked, "keep", c["move_to"]),
                                          (move_all, act_on_selected, "move", c["all_to"]),
                                          (aside_all, act_on_selected, "set_aside", c["all_to"])):
        button.click(_acting(ctx, act, action), [c["state"], to_class], changed, **once)
    undo.click(lambda s: ordered(CHANGED_OUTPUTS, undo_on_map(ctx, s)), c["state"], changed, **once)
    c["all_to"].change(lambda cls: gr.Button(value=words.MAP_MOVE_ALL.format(cls=cls) if cls
                                             else words.MAP_MOVE_ALL_NONE), c["all_to"], move_all, **private)
    return MapLink(tabs, run)


def _wire(ctx: AppContext, c: dict, dataset: gr.Textbox, percent: gr.Slider, run: gr.Dropdown, features: gr.Radio,
          method: gr.Radio, start: gr.Button, page: gr.Tab, keeping: bool) -> None:
    """Drawing (one map at a time per session), the run picker's choices, and the page script's clicks."""
    private = {"api_visibility": "private", "show_progress": "hidden"}

    def draw(text, pct, run_id, feature, how, request: gr.Request):
        with ctx.job("map", request.session_hash) as stop:  # a newer map stops an unfinished one
            yield from draw_view(ctx, text, pct, run_id, feature, how, stop, keeping)

    start.click(draw, [dataset, percent, run, features, method], [c[n] for n in DRAW_OUTPUTS], api_name="draw_map",
                show_progress="hidden", concurrency_limit=1)
    gr.on([dataset.submit, dataset.blur, page.select], lambda text, current: run_choices(ctx, text, current),
          [dataset, run], run, **private)
    c["picked"].change(lambda s, payload: ordered(PICK_OUTPUTS, pick(ctx, s, payload)), [c["state"], c["picked"]],
                      [c[n] for n in PICK_OUTPUTS], trigger_mode="always_last", **private)
