"""Fixing the dataset from its map: move or set aside the clicked picture or every selected one (through
core.data.relabel, journaled and undoable, a selection as one batch), keep a picture as it is, and undo. The map's
state follows each change (a moved point gets its new class and path, a set-aside one leaves the map) without
drawing the map again from the features."""
from __future__ import annotations

from pathlib import Path

from core.errors import DatasetError
from gui import words
from gui.context import AppContext, OutsideServedFolders
from gui.tabs.map_views import (
    KEEP_DROPS,
    KEPT_SPLIT,
    clicked_view,
    facts_markdown,
    figure,
    live,
    may_change,
    selection_view,
)

PROBLEMS = (OutsideServedFolders, DatasetError)


def sentence(err: Exception) -> str:
    """An error as a warning sentence, capitalised (core's messages may start in lower case)."""
    text = str(err)
    return words.WARN.format(text[:1].upper() + text[1:])


def changed_view(ctx: AppContext, state: dict, said: str) -> dict:
    """Everything a change touches: the map redrawn from the state, its sentences, both panels, what happened."""
    return {"state": state, "plot": figure(state), "facts": facts_markdown(state), **clicked_view(ctx, state),
            **selection_view(ctx, state), "said": said}


def _root(ctx: AppContext, state: dict) -> Path:
    """The map's dataset, checked again against the served folders before anything on disk changes."""
    return ctx.resolve_dataset(state["data"])


def follow(state: dict, root: Path, changes: list, undone: bool = False) -> None:
    """Make the state's points follow changes on disk (or their undoing): new path, new class, set aside or back."""
    where = {str(Path(p["path"]).resolve()): i for i, p in enumerate(state["points"])}
    for change in changes:
        before, after = (change.target, change.source) if undone else (change.source, change.target)
        index = where.get(str((root / before).resolve()))
        if index is None:  # a picture the map does not hold (changed elsewhere since it was drawn)
            continue
        point = state["points"][index]
        point["path"] = str(root / after)
        if change.kind == "move":
            point["class"] = change.from_class if undone else change.to_class
        elif change.kind == "set_aside":
            point["gone"] = not undone


def _pick_class(state: dict, to_class: str | None) -> str:
    if to_class not in state["classes"]:  # only a class of the dataset, never a typed path
        raise DatasetError(words.MAP_PICK_CLASS)
    return to_class


def act_on_clicked(ctx: AppContext, state: dict | None, action: str, to_class: str | None = None) -> dict:
    """Move the clicked picture to a class, set it aside, or keep it as it is (no longer marked a problem)."""
    from core.data.relabel import move_picture, set_aside

    index = live(state, [state.get("clicked")]) if state else []
    if not index:
        return {"said": words.MAP_CLICK_FIRST}
    point, name = state["points"][index[0]], Path(state["points"][index[0]]["path"]).name
    if not may_change(ctx, point):
        if point["split"] != KEPT_SPLIT:
            return {"said": words.MAP_HIDDEN.format(name=name)}
        return {"said": words.MAP_KEPT_ELSEWHERE if state.get("keeping", True) else words.MAP_KEPT_NOT_HERE}
    source = point["class"]
    try:
        if action == "keep":
            state["undo"].append({"keep": index[0], "flags": list(point["flags"])})
            point["flags"] = [f for f in point["flags"] if f not in KEEP_DROPS]
            return changed_view(ctx, state, words.MAP_KEPT.format(name=name))
        root = _root(ctx, state)
        if action == "move":
            to_class = _pick_class(state, to_class)
            if to_class == source:
                return {"said": words.MAP_ALREADY.format(name=name, to=to_class)}
            follow(state, root, [move_picture(root, point["path"], to_class)])
            said = words.MAP_MOVED.format(name=name, source=source, to=to_class)
        else:
            follow(state, root, [set_aside(root, point["path"])])
            said = words.MAP_SET_ASIDE_DONE.format(name=name, source=source)
    except PROBLEMS as err:
        return {"said": sentence(err)}
    state["undo"].append({"disk": True})
    return changed_view(ctx, state, said)


def act_on_selected(ctx: AppContext, state: dict | None, action: str, to_class: str | None = None) -> dict:
    """Move every selected picture to a class, or set them all aside, as one batch (undone together); kept pictures
    and pictures outside the served folders are left alone."""
    from core.data.relabel import BatchStopped, move_pictures, set_aside_pictures

    chosen = [state["points"][i] for i in live(state, state["selected"])] if state else []
    if not chosen:
        return {"said": words.MAP_SELECT_FIRST}
    changeable = [p for p in chosen if may_change(ctx, p)]
    try:
        root = _root(ctx, state)
        if action == "move":
            to_class = _pick_class(state, to_class)
            moving = [p for p in changeable if p["class"] != to_class]
            already = len(changeable) - len(moving)
            if not moving:
                return {"said": words.MAP_ALL_ALREADY.format(to=to_class) if changeable
                        else words.MAP_NOTHING_TO_CHANGE}
            changes = move_pictures(root, [p["path"] for p in moving], to_class)
            said = words.MAP_MOVED_ALL.format(count=len(changes), to=to_class, already=words.MAP_ALREADY_ALL.format(
                count=already, to=to_class) if already else "")
        else:
            if not changeable:
                return {"said": words.MAP_NOTHING_TO_CHANGE}
            changes = set_aside_pictures(root, [p["path"] for p in changeable])
            said = words.MAP_SET_ASIDE_ALL_DONE.format(count=len(changes))
    except BatchStopped as err:  # the pictures before the one that stopped it moved: the map follows them
        changes, said = err.changes, sentence(err)
    except PROBLEMS as err:
        return {"said": sentence(err)}
    follow(state, root, changes)
    if changes:
        state["undo"].append({"disk": True})
    return changed_view(ctx, state, said)


def undo_on_map(ctx: AppContext, state: dict | None) -> dict:
    """Undo the last change: a keep made here, else the dataset's last change on disk or the whole last batch."""
    from core.data.relabel import BatchStopped, undo_last_batch

    if not state:
        return {"said": sentence(DatasetError(words.NOTHING_TO_UNDO))}
    last = state["undo"][-1] if state["undo"] else {}
    if "keep" in last:
        state["undo"].pop()
        point = state["points"][last["keep"]]
        point["flags"] = last["flags"]
        return changed_view(ctx, state, words.MAP_UNDONE_KEEP.format(name=Path(point["path"]).name))
    try:
        root = _root(ctx, state)
        undone = undo_last_batch(root)
        said = words.MAP_UNDONE.format(count=len(undone))
    except BatchStopped as err:
        undone, said = err.changes, sentence(err)
    except PROBLEMS as err:
        return {"said": sentence(err)}
    if state["undo"]:
        state["undo"].pop()
    follow(state, root, undone, undone=True)
    return changed_view(ctx, state, said)
