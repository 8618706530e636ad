"""Data tab, "Find problems": the dataset audit in words and pictures, and fixing labels without a file manager.

The audit (core.evaluation.audit) finds likely mislabelled pictures, shortcuts, outliers, repeats and how many
more pictures each class needs; the review buttons move or set aside pictures through core.data.relabel, which
journals every change so that it can be undone. What the gallery shows is always re-read from disk.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from core.errors import BackboneUnavailable, DatasetError
from core.events import Message
from gui import words
from gui.charts import learning_curves_figure
from gui.context import AppContext, OutsideServedFolders
from gui.progress import DRAWN, progress_then_result, status_html

SHOWN_SUSPECTS = 24  # the top of the ranking: enough to fix in a sitting, few enough to look at each
SHOWN_OUTLIERS = 12
SHOWN_GROUPS = 8
SHOWN_PROPERTIES = 3  # the properties that give the class away most
SHOWN_CHANGES = 20  # the newest ones; the journal keeps them all


def _absolute(root: Path, path: str) -> Path:
    """A path of the audit (relative to the dataset, or absolute) as an absolute one."""
    path = Path(path)
    return path if path.is_absolute() else root / path


def _pictures(ctx: AppContext, items: list[tuple[Path, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """The (path, caption) items the app may show, and the names of those it may not."""
    shown = [(str(p), caption) for p, caption in items if ctx.is_served(p)]
    hidden = [p.name for p, _ in items if not ctx.is_served(p)]
    return shown, hidden


def _sentence(err: Exception) -> str:
    """An error as a warning sentence, capitalised (core's messages may start in lower case)."""
    text = str(err)
    return words.WARN.format(text[:1].upper() + text[1:])


def _not_shown(hidden: list[str]) -> str:
    return words.NOT_SHOWN.format(names=", ".join(f"`{n}`" for n in hidden)) if hidden else ""


def shown_suspects(state: dict) -> list[dict]:
    """The suspects still to review: not kept, and still where the audit found them (not moved or set aside)."""
    root = Path(state["root"])
    return [s for s in state["suspects"] if s["path"] not in state["kept"]
            and _absolute(root, s["path"]).is_file()][:SHOWN_SUSPECTS]


def suspects_gallery(ctx: AppContext, state: dict | None) -> gr.Gallery:
    """The suspects gallery, captioned "in <given>, looks like <suggested> (87 %)"."""
    if not state:
        return gr.Gallery(value=[], label=words.SUSPECTS.format(count=0))
    root = Path(state["root"])
    served = [s for s in shown_suspects(state) if ctx.is_served(_absolute(root, s["path"]))]
    items = [(_absolute(root, s["path"]), words.SUSPECT_CAPTION.format(
        given=s["given"], suggested=s["suggested"], probability=s["probability"])) for s in served]
    shown, _ = _pictures(ctx, items)
    state["shown"] = [s["path"] for s in served]  # what a click's index points at: the gallery as drawn
    return gr.Gallery(value=shown, label=words.SUSPECTS.format(count=len(shown)), selected_index=None)


def changes_markdown(root: Path) -> str:
    """Every change made to the dataset's folders, newest first, from its journal."""
    from core.data.relabel import list_changes

    try:
        changes = list_changes(root)
    except DatasetError as err:  # a damaged list of changes is said, not raised
        return _sentence(err)
    if not changes:
        return words.NO_CHANGES
    lines = [words.CHANGES.format(count=len(changes))]
    lines += [(words.CHANGE_UNDONE if c.undone else words.CHANGE_LINE).format(what=_change_words(c))
              for c in reversed(changes[-SHOWN_CHANGES:])]
    return "\n".join(lines)


def _change_words(change) -> str:
    """One change in words: what moved where (paths relative to the dataset)."""
    template = words.CHANGE_KINDS.get(change.kind, words.CHANGE_KINDS["move"])
    return template.format(name=Path(change.source).name, source=change.source, target=change.target)


def _shortcut_view(ctx: AppContext, report: dict) -> tuple[str, list[tuple[str, str]]]:
    """The shortcut warning as a sentence with the properties that give the class away, and example pictures."""
    if not report or not report.get("warning"):
        return words.NO_SHORTCUT, []
    lines = [words.SHORTCUT_HEADING, words.WARN.format(report["warning"]), ""]
    lines += [words.SHORTCUT_PROPERTY.format(name=p["label"], accuracy=p["accuracy"])
              for p in report.get("properties", [])[:SHOWN_PROPERTIES]]
    items = [(Path(path), cls) for cls, paths in (report.get("examples") or {}).items() for path in paths]
    shown, hidden = _pictures(ctx, items)
    return "\n".join(lines + [_not_shown(hidden)]), shown


def _outliers(ctx: AppContext, root: Path, outliers: list[dict]) -> gr.Gallery:
    items = [(_absolute(root, o["path"]), words.OUTLIER_CAPTION.format(given=o["given"]))
             for o in outliers[:SHOWN_OUTLIERS]]
    shown, _ = _pictures(ctx, items)
    return gr.Gallery(value=shown, label=words.OUTLIERS.format(count=len(outliers)))


def _duplicates(ctx: AppContext, root: Path, groups: list[dict]) -> gr.Gallery:
    items = [(_absolute(root, p), words.DUPLICATE_CAPTION.format(group=g, name=cls))
             for g, group in enumerate(groups[:SHOWN_GROUPS], start=1)
             for p, cls in zip(group["paths"], group["classes"], strict=True)]
    shown, _ = _pictures(ctx, items)
    return gr.Gallery(value=shown, label=words.DUPLICATES.format(count=len(groups)))


OUTPUTS = 12  # what audit_view yields: progress, shortcut text and pictures, suspects, review note, changes,
# move-to classes, curves chart, advice, outliers, near-duplicates, review state


def audit_view(ctx: AppContext, text: str, percent: float, stop: threading.Event | None = None) -> Iterator[tuple]:
    """Yield the view's outputs while the dataset is audited: the bar first, then every part of the report."""
    from core.evaluation.audit import Audit, audit_dataset

    skip = (gr.skip(),) * (OUTPUTS - 1)
    said = words.NOT_AUDITED

    def told(message: Message) -> str:  # a phase of the audit, or why it ends early: in the bar, and kept
        nonlocal said
        said = message.text
        return status_html(said)

    try:
        root = ctx.resolve_dataset(text)
        items = audit_dataset(root, valid_fraction=float(percent or 20) / 100, stop=stop, cache_dir=ctx.cache_dir)
        audit = yield from progress_then_result(items, Audit, OUTPUTS - 1, {**DRAWN, Message: told})
    except (OutsideServedFolders, DatasetError, BackboneUnavailable, ValueError) as err:
        yield status_html(words.NOT_AUDITED), _sentence(err), *skip[1:]
        return
    if audit is None:  # stopped by a newer audit, or too few pictures to audit
        stopped = stop is not None and stop.is_set()
        yield status_html(words.AUDIT_STOPPED if stopped else words.NOT_AUDITED), _sentence(said), *skip[1:]
        return
    report = audit.to_dict()
    state = {"root": str(root), "classes": list(report["classes"]), "suspects": report["suspects"], "kept": []}
    shortcut_text, shortcut_pictures = _shortcut_view(ctx, report.get("shortcuts") or {})
    review_note = words.REVIEW_READY.format(found=report["labels_sentence"])
    yield (status_html(words.AUDITED.format(files=report["pictures"], seconds=report["timings"].get("total_s", 0)),
                       done=True),
           shortcut_text, shortcut_pictures, suspects_gallery(ctx, state),
           review_note if shown_suspects(state) else words.NO_SUSPECTS, changes_markdown(root),
           gr.Dropdown(choices=state["classes"], value=None), learning_curves_figure(report["curves"]),
           words.ADVICE.format(advice=report["advice"]) if report["advice"] else words.NO_ADVICE,
           _outliers(ctx, root, report["outliers"]), _duplicates(ctx, root, report["near_duplicates"]), state)


def _suspect(state: dict, path: str | None) -> dict:
    """The shown suspect at this path, or a sentence saying to click one."""
    for s in shown_suspects(state) if state else []:
        if s["path"] == path:
            return s
    raise DatasetError(words.CLICK_A_SUSPECT)


def _dataset_root(ctx: AppContext, state: dict) -> Path:
    """The audited dataset, checked again against the served folders before anything on disk changes."""
    return ctx.resolve_dataset(state["root"])


def _keep(root: Path, state: dict, suspect: dict, to_class: str | None) -> tuple[dict, str]:
    name = Path(suspect["path"]).name
    return {**state, "kept": [*state["kept"], suspect["path"]]}, words.KEPT.format(name=name, given=suspect["given"])


def _set_aside(root: Path, state: dict, suspect: dict, to_class: str | None) -> tuple[dict, str]:
    from core.data.relabel import set_aside

    set_aside(root, _absolute(root, suspect["path"]))
    return state, words.SET_ASIDE_DONE.format(name=Path(suspect["path"]).name, given=suspect["given"])


def _move(root: Path, state: dict, suspect: dict, to_class: str | None) -> tuple[dict, str]:
    from core.data.relabel import move_picture

    if to_class not in state["classes"]:  # only a class of the audited dataset, never a typed path
        raise DatasetError(words.PICK_A_CLASS)
    move_picture(root, _absolute(root, suspect["path"]), to_class)
    return state, words.MOVED.format(name=Path(suspect["path"]).name, given=suspect["given"], to=to_class)


def _move_suggested(root: Path, state: dict, suspect: dict, to_class: str | None) -> tuple[dict, str]:
    return _move(root, state, suspect, suspect["suggested"])


ACTIONS = {"keep": _keep, "suggested": _move_suggested, "move": _move, "set_aside": _set_aside}


def review(ctx: AppContext, state: dict | None, path: str | None, action: str,
           to_class: str | None = None) -> tuple[dict | None, gr.Gallery, str, str, None]:
    """Act on the selected suspect (keep it, move it to the suggested or a chosen class, or set it aside); returns
    the state, the gallery re-read from disk, a sentence saying what happened, the changes and no selection."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {sorted(ACTIONS)}, not {action!r}")
    try:
        suspect = _suspect(state, path)
        state, said = ACTIONS[action](_dataset_root(ctx, state), state, suspect, to_class)
    except (OutsideServedFolders, DatasetError) as err:
        said = _sentence(err)
    changes = changes_markdown(Path(state["root"])) if state else words.NO_CHANGES
    return state, suspects_gallery(ctx, state), said, changes, None


def undo_change(ctx: AppContext, state: dict | None) -> tuple[dict | None, gr.Gallery, str, str, None]:
    """Undo the dataset's last change (all of it when the map moved or set aside a selection together): the pictures
    go back, and back into the gallery if the audit listed them."""
    from core.data.relabel import undo_last_batch

    if not state:
        return state, suspects_gallery(ctx, state), words.NOTHING_TO_UNDO, words.NO_CHANGES, None
    try:
        undone = undo_last_batch(_dataset_root(ctx, state))
        said = (words.UNDONE.format(what=_change_words(undone[0])) if len(undone) == 1
                else words.UNDONE_BATCH.format(count=len(undone)))
    except (OutsideServedFolders, DatasetError) as err:
        said = _sentence(err)
    return state, suspects_gallery(ctx, state), said, changes_markdown(Path(state["root"])), None


def select(state: dict | None, evt: gr.SelectData) -> tuple[str | None, str, gr.Button, gr.Dropdown]:
    """A click on the gallery: remember that picture, say what it is, offer its suggested class."""
    drawn = state.get("shown", []) if state else []
    if not isinstance(evt.index, int) or not 0 <= evt.index < len(drawn):
        return None, words.CLICK_A_SUSPECT, gr.Button(value=words.MOVE_SUGGESTED_NONE), gr.Dropdown(value=None)
    s = next((s for s in shown_suspects(state) if s["path"] == drawn[evt.index]), None)
    if s is None:  # moved since the gallery was drawn (another session, the file manager)
        return None, words.CLICK_A_SUSPECT, gr.Button(value=words.MOVE_SUGGESTED_NONE), gr.Dropdown(value=None)
    return (s["path"], words.SELECTED.format(name=Path(s["path"]).name, given=s["given"], suggested=s["suggested"],
                                             probability=s["probability"]),
            gr.Button(value=words.MOVE_SUGGESTED.format(suggested=s["suggested"])),
            gr.Dropdown(choices=state["classes"], value=s["suggested"]))


def _acting(ctx: AppContext, action: str):
    """A button's handler: the review, then the suggested-class button back to its plain words (nothing selected)."""
    def act(state, path, to_class=None):
        return *review(ctx, state, path, action, to_class), gr.Button(value=words.MOVE_SUGGESTED_NONE)
    return act


def build(ctx: AppContext, dataset: gr.Textbox, percent: gr.Slider) -> None:
    """Lay out the sub-tab; it audits the folder in the Data tab's dataset box."""
    gr.Markdown(words.AUDIT_INTRO)
    with gr.Row():
        start = gr.Button(words.AUDIT_BUTTON, variant="primary", elem_id="audit-button", scale=0, min_width=220)
        progress = gr.HTML(status_html(words.NOT_AUDITED), elem_id="audit-progress")
    shortcut = gr.Markdown(elem_id="audit-shortcut")
    thumbs = {"columns": 8, "fit_columns": False}  # a few pictures stay thumbnails instead of filling the row
    shortcut_pictures = gr.Gallery(label=words.SHORTCUT_EXAMPLES, height=180, elem_id="audit-shortcut-pics", **thumbs)
    gr.Markdown(words.REVIEW_HEADING)
    suspects = gr.Gallery(label=words.SUSPECTS.format(count=0), height=300, allow_preview=False,
                          elem_id="audit-suspects", **thumbs)
    note = gr.Markdown(elem_id="audit-note")
    with gr.Row():
        keep = gr.Button(words.KEEP, size="sm", elem_id="audit-keep")
        suggested = gr.Button(words.MOVE_SUGGESTED_NONE, size="sm", elem_id="audit-move-suggested")
        to_class = gr.Dropdown(label=words.MOVE_TO, choices=[], elem_id="audit-move-to", scale=2)
        move = gr.Button(words.MOVE_BUTTON, size="sm", elem_id="audit-move")
        aside = gr.Button(words.SET_ASIDE, size="sm", elem_id="audit-set-aside")
    with gr.Row():
        changes = gr.Markdown(words.NO_CHANGES, elem_id="audit-changes")
        undo = gr.Button(words.UNDO_LAST, size="sm", elem_id="audit-undo", scale=0, min_width=200)
    gr.Markdown(words.CURVES_HEADING)
    curves = gr.Plot(label=words.CURVES_TITLE, elem_id="audit-curves")
    advice = gr.Markdown(elem_id="audit-advice")
    outliers = gr.Gallery(label=words.OUTLIERS.format(count=0), height=200, elem_id="audit-outliers", **thumbs)
    duplicates = gr.Gallery(label=words.DUPLICATES.format(count=0), height=200, elem_id="audit-duplicates", **thumbs)
    state, selected = gr.State(None), gr.State(None)  # the review (dataset, suspects, kept), the clicked picture

    def audit(text, pct, request: gr.Request):
        with ctx.job("audit", request.session_hash) as stop:  # a newer audit stops an unfinished one
            yield from audit_view(ctx, text, pct, stop)

    start.click(audit, [dataset, percent], [progress, shortcut, shortcut_pictures, suspects, note, changes, to_class,
                                            curves, advice, outliers, duplicates, state],
                api_name="audit", show_progress="hidden", concurrency_limit=1)
    private = {"api_visibility": "private", "show_progress": "hidden"}
    suspects.select(select, state, [selected, note, suggested, to_class], **private)
    reviewed = [state, suspects, note, changes, selected, suggested]
    for button, action in ((keep, "keep"), (suggested, "suggested"), (aside, "set_aside"), (move, "move")):
        button.click(_acting(ctx, action), [state, selected, to_class], reviewed, **private)
    undo.click(lambda s: (*undo_change(ctx, s), gr.Button(value=words.MOVE_SUGGESTED_NONE)), state, reviewed,
               **private)
