"""What the dataset map shows around the figure: its state (the map's points, kept as they change on disk), the
sentences under it, the clicked picture and the selected ones, in words. The Map view (gui.tabs.data_map) wires them.

The state is DataMap.to_dict() with the map's own bookkeeping: "revision" (one per drawing), "keeping" (whether this
app shows kept pictures: a full app shared by a link does not), "clicked" (a point's index), "selected" (indices),
"undo" (the keeps made here, and markers for the changes on disk) and per point "gone" once it was set aside. A
point's index never changes: set-aside points stay in the list, undrawn.
"""
from __future__ import annotations

import html
import time
from collections import Counter
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go

from core.evaluation.map_facts import FLAGS, KEPT_SPLIT  # numpy only: starting the app must not import torch
from gui import words
from gui.context import AppContext
from gui.map_chart import map_figure

SHOWN_SELECTED = 60  # pictures shown of a selection; actions apply to all of it
KEEP_DROPS = ("suspect", "outlier")  # "keep": the picture is fine as it is, so it is no longer marked a problem


def new_state(data_map, keeping: bool = True) -> dict:
    """The view's state of a freshly drawn DataMap; without `keeping` (a full app shared by a link, which has no
    Review tab) its kept pictures are left out."""
    state = data_map.to_dict()
    state["points"] = [p for p in state["points"] if keeping or p["split"] != KEPT_SPLIT]
    for point in state["points"]:
        point["gone"] = False
    return {**state, "revision": f"map-{time.time_ns()}", "keeping": keeping, "clicked": None, "selected": [],
            "undo": []}


def shown_flags(point: dict) -> list[str]:
    """The point's flags as they stand now: moved to the class it looked like (or the class the run answers), it is
    no longer a suspect (or a mistake)."""
    facts, cls = point["facts"], point["class"]
    return [f for f in point["flags"] if not (f == "suspect" and facts.get("suggested") == cls)
            and not (f == "mistake" and facts.get("predicted") == cls)]


def _flag_words(flags: list[str]) -> str:
    return ", ".join(words.MAP_FLAG_LEGEND[f] for f in flags) or words.MAP_NO_FLAG


def live(state: dict, indices: list[int]) -> list[int]:
    """The indices that name points still on the map (not set aside), each once, in order (JSON's true and false
    are no indices)."""
    points = state["points"]
    whole = [i for i in indices if isinstance(i, int) and not isinstance(i, bool)]  # before dedup: True == 1
    return [i for i in dict.fromkeys(whole) if 0 <= i < len(points) and not points[i]["gone"]]


def class_words(point: dict) -> str:
    """The point's class, or for a kept picture whose class is not known, that and what the model answered."""
    facts = point["facts"]
    if point["class"]:
        return point["class"]
    if "predicted" in facts and "confidence" in facts:
        return words.MAP_CLASS_UNKNOWN_ANSWER.format(predicted=facts["predicted"], confidence=facts["confidence"])
    return words.MAP_CLASS_UNKNOWN


def figure(state: dict) -> go.Figure:
    """The map as it stands: every point not set aside, by its class and first flag."""
    drawn = [{"index": i, "x": p["x"], "y": p["y"], "class": p["class"], "flag": (shown_flags(p) or [""])[0],
              "hover": words.MAP_HOVER.format(cls=html.escape(class_words(p)), name=html.escape(Path(p["path"]).name),
                                              flags=html.escape(_flag_words(shown_flags(p))))}
             for i, p in enumerate(state["points"]) if not p["gone"]]
    return map_figure(drawn, state["classes"], state["revision"], live(state, state["selected"]))


def _fact_sentence(fact: dict) -> str:
    if fact["kind"] == "groups":
        sizes = " and ".join(str(s) for s in fact["sizes"])
        return words.MAP_GROUPS.format(cls=fact["cls"], count=len(fact["sizes"]), sizes=sizes)
    return words.MAP_STRAYS.format(count=fact["count"], cls=fact["cls"], among=fact["among"])


def facts_markdown(state: dict) -> str:
    """The plain sentences under the map: what it shows, how it was laid out, how well it keeps classes apart, what
    is marked."""
    from core.evaluation.map_layout import METHODS

    lines = [_fact_sentence(f) for f in state["facts"]]
    if not lines:
        lines.append(words.MAP_NO_FACTS if METHODS[state["method"]].keeps_neighbours else words.MAP_PCA_FACTS)
    on_map = [p for p in state["points"] if not p["gone"]]
    if state.get("sampled"):
        lines.append(words.MAP_SAMPLED.format(laid_out=state["laid_out"], total=len(state["points"])))
    agreement = state.get("agreement") or {}
    if agreement.get("map") is not None and agreement.get("features") is not None:
        lines.append(words.MAP_AGREEMENT.format(**agreement))
    counts = Counter(f for p in on_map for f in shown_flags(p))
    if counts:
        lines.append(words.MAP_FLAG_COUNTS.format(counts=", ".join(
            words.MAP_FLAG_COUNT_WORDS[f].format(count=counts[f]) for f in FLAGS if counts[f])))
    if state.get("skipped"):
        lines.append(words.MAP_SKIPPED.format(count=len(state["skipped"])))
    return "\n".join(f"- {line}" for line in lines)


def may_show(ctx: AppContext, point: dict, keeping: bool = True) -> bool:
    """Whether the app may show this picture: inside the served folders, or a kept picture in the kept folder when
    this app shows kept pictures at all (`keeping`)."""
    path = Path(point["path"])
    if point["split"] == KEPT_SPLIT:
        return keeping and path.resolve().parent == ctx.keeper.folder.resolve()
    return ctx.is_served(path)


def may_change(ctx: AppContext, point: dict) -> bool:
    """Whether a picture can be moved or set aside from the map: a dataset picture the app serves, still there."""
    return point["split"] != KEPT_SPLIT and not point["gone"] and ctx.is_served(point["path"])


def _meaning(flag: str, facts: dict) -> str:
    try:
        return words.MAP_FLAG_MEANINGS[flag].format(**facts)
    except (KeyError, ValueError):  # a fact the sentence needs is missing: the flag's short name
        return words.MAP_FLAG_LEGEND[flag].capitalize() + "."


def picture_facts(ctx: AppContext, point: dict, keeping: bool = True) -> str:
    """A clicked picture in words: its class (or that it is not known, and the model's answer), file, split, what
    its flags mean, the run's answer."""
    name, facts = Path(point["path"]).name, point["facts"]
    picked = words.MAP_PICKED if point["class"] else words.MAP_PICKED_UNKNOWN
    lines = [picked.format(name=name, cls=class_words(point), split=words.MAP_SPLIT_WORDS[point["split"]])]
    lines += [_meaning(f, facts) for f in shown_flags(point)] or [words.MAP_NO_FLAGS]
    if point["class"] and "predicted" in facts and "confidence" in facts:  # else said on the first line
        lines.append(words.MAP_RUN_ANSWER.format(predicted=facts["predicted"], confidence=facts["confidence"]))
    if point["split"] == KEPT_SPLIT:
        lines.append(words.MAP_KEPT_ELSEWHERE if keeping else words.MAP_KEPT_NOT_HERE)
    elif not may_show(ctx, point):
        lines.append(words.MAP_HIDDEN.format(name=name))
    return "\n\n".join(lines)


def clicked_view(ctx: AppContext, state: dict | None) -> dict:
    """The clicked picture's panel: the picture, its facts, and the classes it can be moved to."""
    index = live(state, [state["clicked"]]) if state and state.get("clicked") is not None else []
    if not index:
        return {"picture": None, "picture_facts": words.MAP_CLICK_FIRST, "move_to": gr.Dropdown(choices=[], value=None)}
    point = state["points"][index[0]]
    others = [c for c in state["classes"] if c != point["class"]] if may_change(ctx, point) else []
    suggested = point["facts"].get("suggested") if "suspect" in shown_flags(point) else None
    keeping = state.get("keeping", True)
    return {"picture": point["path"] if may_show(ctx, point, keeping) else None,
            "picture_facts": picture_facts(ctx, point, keeping),
            "move_to": gr.Dropdown(choices=others, value=suggested if suggested in others else None)}


def selection_view(ctx: AppContext, state: dict | None) -> dict:
    """The selection's gallery (the first SHOWN_SELECTED pictures the app may show) and a sentence about it."""
    chosen = [state["points"][i] for i in live(state, state["selected"])] if state else []
    if not chosen:
        return {"gallery": [], "selection_note": words.MAP_SELECT_FIRST}
    keeping = state.get("keeping", True)
    visible = [p for p in chosen if may_show(ctx, p, keeping)]
    items = [(p["path"], words.MAP_CAPTION.format(cls=p["class"] or words.MAP_CLASS_UNKNOWN, name=Path(p["path"]).name))
             for p in visible[:SHOWN_SELECTED]]
    shown = words.MAP_SHOWN_FIRST.format(shown=len(items)) if len(items) < len(chosen) else ""
    note = words.MAP_SELECTED.format(count=len(chosen), shown=shown)
    kept = sum(p["split"] == KEPT_SPLIT for p in chosen)
    hidden = sum(p["split"] != KEPT_SPLIT and not ctx.is_served(p["path"]) for p in chosen)
    note += (words.MAP_SELECTED_KEPT if keeping else words.MAP_SELECTED_KEPT_NOT_HERE).format(count=kept) if kept else ""
    note += words.MAP_SELECTED_HIDDEN.format(count=hidden) if hidden else ""
    return {"gallery": items, "selection_note": note}
