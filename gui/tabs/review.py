"""Review tab: the pictures the model was shown (kept when the owner turned keeping on), the ones most worth a look
first; say what each really is (filed into the dataset, undoable), train the run again with them, and see how it
does in real use. The demo view never has this tab."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from core.errors import CheckpointError, DatasetError
from gui import words
from gui.context import AppContext
from gui.tabs import review_learn
from gui.tabs.predict import NEWEST, run_choices

SHOWN = 60  # pictures in the gallery at once, the most worth a look
PROBLEMS = (LookupError, ValueError, DatasetError, CheckpointError, OSError)
ALL = ""


def _ordered(ctx: AppContext, run_filter: str | None) -> list:
    """The kept pictures (of one run, or all) in review order: distances from the training pictures per run."""
    from core.evaluation.field import feature_distances, review_order

    pictures = [p for p in ctx.keeper.store().list() if not run_filter or p.run == run_filter]
    distances: dict[str, float] = {}
    for run_id in sorted({p.run for p in pictures if p.verdict is None}):
        try:
            path = ctx.run_by_id(run_id).path
            distances |= feature_distances(path, [p for p in pictures if p.run == run_id and p.verdict is None])
        except PROBLEMS:  # a run deleted since: its pictures are ordered without it
            continue
    return review_order(pictures, distances)


def caption(picture) -> str:
    """Under a picture: its answer, whether the model was sure, where it came from and what the owner said."""
    verdict = words.REVIEW_VERDICT_MARKS.get(picture.verdict or "", "").format(truth=picture.truth)
    return words.REVIEW_CAPTION.format(
        mark=words.REVIEW_NOT_SURE_MARK if picture.not_sure else "", label=picture.predicted,
        confidence=picture.confidence, source=words.REVIEW_SOURCES.get(picture.source, picture.source),
        verdict=verdict)


def status(ctx: AppContext) -> str:
    """Whether keeping is on, and how much is kept."""
    settings, store = ctx.keeper.settings(), ctx.keeper.store()
    if not settings.on:
        return words.REVIEW_OFF
    return words.REVIEW_ON.format(count=len(store.list()), mb=store.total_bytes() / 1e6, cap=settings.cap_mb)


def refresh(ctx: AppContext, run_filter: str | None, ticked: list[str] | None = None) -> tuple:
    """(status, gallery, the ticked pictures' box, the order shown) for the run filter."""
    pictures = _ordered(ctx, run_filter)[:SHOWN]
    choices = [(caption(p), p.id) for p in pictures]
    kept = [i for i in ticked or [] if i in {p.id for p in pictures}]
    return (status(ctx), [(str(p.path), caption(p)) for p in pictures],
            gr.CheckboxGroup(choices=choices, value=kept), [p.id for p in pictures])


def facts(picture) -> str:
    """One picture's answer, origin and verdict, in a sentence."""
    others = ", ".join(f"{label} {p:.0%}" for label, p in picture.top[1:]) or words.REVIEW_NO_OTHERS
    verdict = words.REVIEW_FACTS_VERDICT.format(verdict=words.REVIEW_VERDICT_WORDS[picture.verdict].format(
        truth=picture.truth)) if picture.verdict else ""
    return words.REVIEW_FACTS.format(
        label=picture.predicted, confidence=picture.confidence, others=others,
        not_sure=words.REVIEW_FACTS_NOT_SURE if picture.not_sure else "",
        source=words.REVIEW_SOURCES.get(picture.source, picture.source), when=picture.time[:16].replace("T", " "),
        run=picture.run, verdict=verdict)


def select(ctx: AppContext, index: int, order: list[str], ticked: list[str] | None) -> tuple:
    """A click on a picture: tick it (or untick it) and show it with its facts and its run's classes."""
    if index is None or not 0 <= index < len(order):
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    try:
        picture = ctx.keeper.store().get(order[index])
    except LookupError:  # deleted (or made room for a newer one) since the gallery was drawn
        return gr.skip(), None, words.REVIEW_GONE, gr.skip()
    ticked = list(ticked or [])
    ticked = [i for i in ticked if i != picture.id] if picture.id in ticked else [*ticked, picture.id]
    try:
        classes = ctx.run_by_id(picture.run).classes
    except LookupError:
        classes = [label for label, _ in picture.top]
    return ticked, str(picture.path), facts(picture), gr.Dropdown(choices=classes, value=None)


def _ticked(ctx: AppContext, ticked: list[str] | None) -> list:
    """The ticked pictures; ValueError when none is, or when one is filed (its copy in the dataset would be left
    behind without a way back: undo the filing first)."""
    if not ticked:
        raise ValueError(words.REVIEW_PICK_FIRST)
    store = ctx.keeper.store()
    pictures = [store.get(i) for i in ticked]
    filed = [p for p in pictures if p.verdict == "labelled"]
    if filed:
        raise ValueError(words.REVIEW_FILED_FIRST.format(count=len(filed)))
    return pictures


def mark(ctx: AppContext, ticked: list[str] | None, verdict: str | None) -> str:
    """Right, not any of these, or (verdict None) delete, for every ticked picture; a sentence saying so."""
    try:
        pictures, store = _ticked(ctx, ticked), ctx.keeper.store()
        for picture in pictures:
            if verdict is None:
                store.delete(picture.id)
            else:
                store.update(picture.id, verdict=verdict, truth=None)
    except PROBLEMS as err:
        return words.WARN.format(err)
    done = {"right": words.REVIEW_DONE_RIGHT, "unknown": words.REVIEW_DONE_UNKNOWN, None: words.REVIEW_DONE_DELETE}
    return done[verdict].format(count=len(pictures))


def _dataset(ctx: AppContext, run_id: str) -> Path:
    """The folder the run trained on, when this app may change it (inside its served folders)."""
    data = Path(ctx.run_by_id(run_id).dataset_path)
    if not ctx.is_served(data) or not data.is_dir():
        raise ValueError(words.REVIEW_NO_DATASET.format(run=run_id, data=data))
    return data


def file_as(ctx: AppContext, ticked: list[str] | None, chosen: str | None, new_class: str | None) -> tuple[str, str]:
    """"It is <class>": copy every ticked picture into that class's training folder of its run's dataset; (the
    sentence, the emptied new-class box)."""
    return _file_as(ctx, ticked, chosen, new_class), ""


def _file_as(ctx: AppContext, ticked: list[str] | None, chosen: str | None, new_class: str | None) -> str:
    from core.data.relabel import add_picture
    from core.training.field import FIELD_PREFIX

    truth = (new_class or "").strip() or (chosen or "").strip()
    try:
        pictures = _ticked(ctx, ticked)
        if not truth:
            raise ValueError(words.REVIEW_PICK_CLASS)
        store, folders = ctx.keeper.store(), set()
        for picture in pictures:
            dataset = _dataset(ctx, picture.run)
            change = add_picture(dataset, picture.path, truth, name=f"{FIELD_PREFIX}{picture.id}{picture.path.suffix}")
            store.update(picture.id, verdict="labelled", truth=truth, change_id=change.id, dataset=str(dataset))
            folders.add(str(Path(change.target).parent))
    except PROBLEMS as err:
        return words.WARN.format(err)
    return words.REVIEW_DONE_FILED.format(count=len(pictures), truth=truth, folder=", ".join(sorted(folders)))


def _learned_by(ctx: AppContext, dataset: str) -> list:
    """The runs trained on this dataset (their splits may list a filed picture); ValueError while one trains."""
    runs = [run for run in ctx.runs() if Path(run.dataset_path).resolve() == Path(dataset).resolve()]
    busy = [run.run_id for run in runs if run.status == "running" or run.run_id in ctx.training_ids()]
    if busy:
        raise ValueError(words.REVIEW_UNDO_TRAINING.format(run=busy[0]))
    return runs


def undo_filing(ctx: AppContext) -> str:
    """Take the latest filing back: the copy leaves the dataset (and the training split of every run that learned
    from it, so that they can still be continued), the picture waits for review again."""
    from core.data.relabel import list_changes, undo
    from core.training.field import remove_from_split

    store = ctx.keeper.store()
    when = {}
    for picture in store.list():
        if picture.verdict != "labelled" or not picture.dataset or picture.change_id is None:
            continue
        try:
            change = {c.id: c for c in list_changes(picture.dataset)}.get(picture.change_id)
        except PROBLEMS:  # its dataset is gone or damaged: nothing there to take back
            continue
        if change is not None and change.undone is None:
            when[picture.id] = (change.when, change.id, change.target)
    if not when:
        return words.REVIEW_NOTHING_TO_UNDO
    latest = store.get(max(when, key=when.get))
    try:
        runs = _learned_by(ctx, latest.dataset)
        undo(latest.dataset, latest.change_id)
        for run in runs:
            remove_from_split(run.path, [Path(latest.dataset) / when[latest.id][2]])
    except PROBLEMS as err:
        return words.WARN.format(err)
    store.update(latest.id, verdict=None, truth=None, change_id=None, dataset=None)
    return words.REVIEW_UNDONE.format(name=latest.path.name)

def build(ctx: AppContext, demo: gr.Blocks) -> list:
    """Lay out the tab; returns the events after which a run was trained again (the other tabs' pickers follow)."""
    gr.Markdown(words.REVIEW_INTRO)
    state = gr.Markdown(elem_id="review-status")
    with gr.Row():
        run_filter = gr.Dropdown(label=words.REVIEW_RUN, elem_id="review-run", scale=3)
        again = gr.Button(words.REVIEW_REFRESH, elem_id="review-refresh", scale=1)
    gallery = gr.Gallery(label=words.REVIEW_GALLERY, columns=6, height=420, allow_preview=False,
                         elem_id="review-gallery")
    order = gr.State([])
    ticked = gr.CheckboxGroup(label=words.REVIEW_TICKED, elem_id="review-ticked")
    with gr.Row():
        picture = gr.Image(label=words.REVIEW_PICTURE, interactive=False, height=240, elem_id="review-picture")
        with gr.Column():
            details = gr.Markdown(elem_id="review-facts")
            with gr.Row():
                right = gr.Button(words.REVIEW_RIGHT, elem_id="review-right")
                unknown = gr.Button(words.REVIEW_UNKNOWN, elem_id="review-unknown")
                delete = gr.Button(words.REVIEW_DELETE, variant="stop", elem_id="review-delete")
            with gr.Row():
                chosen = gr.Dropdown(label=words.REVIEW_IT_IS, elem_id="review-class")
                new_class = gr.Textbox(label=words.REVIEW_NEW_CLASS, max_lines=1, elem_id="review-new-class")
                file_button = gr.Button(words.REVIEW_FILE, variant="primary", elem_id="review-file")
            undo_button = gr.Button(words.REVIEW_UNDO, elem_id="review-undo")
    said = gr.Markdown(elem_id="review-said")
    train_run = gr.Dropdown(label=words.REVIEW_TRAIN_RUN, allow_custom_value=True, elem_id="review-train-run")
    trained, show_learning, learning = review_learn.build(ctx, train_run)

    def pickers():
        runs = [(run.label(), run.run_id) for run in ctx.runs()]
        return (gr.Dropdown(choices=[(words.REVIEW_ALL_RUNS, ALL), *runs], value=ALL),
                gr.Dropdown(choices=run_choices(ctx), value=NEWEST))

    def pick(evt: gr.SelectData, shown, now):
        return select(ctx, evt.index, shown, now)

    listing = [state, gallery, ticked, order]
    page = demo.load(pickers, None, [run_filter, train_run], api_visibility="private", show_progress="hidden")
    page.then(lambda f: refresh(ctx, f), run_filter, listing, api_visibility="private", show_progress="hidden")
    gr.on([again.click, run_filter.input], lambda f, t: refresh(ctx, f, t), [run_filter, ticked], listing,
          api_visibility="private", show_progress="hidden")
    again.click(lambda run_id: run_id, train_run, train_run, api_visibility="private",  # runs trained since load
                show_progress="hidden").then(show_learning, train_run, learning, api_visibility="private",
                                             show_progress="hidden")
    gallery.select(pick, [order, ticked], [ticked, picture, details, chosen], api_visibility="private",
                   show_progress="hidden")
    actions = [right.click(lambda t: mark(ctx, t, "right"), ticked, said, api_visibility="private"),
               unknown.click(lambda t: mark(ctx, t, "unknown"), ticked, said, api_visibility="private"),
               delete.click(lambda t: mark(ctx, t, None), ticked, said, api_visibility="private"),
               file_button.click(lambda t, c, n: file_as(ctx, t, c, n), [ticked, chosen, new_class],
                                 [said, new_class], api_visibility="private"),
               undo_button.click(lambda: undo_filing(ctx), None, said, api_visibility="private")]
    for action in actions:  # the gallery, the waiting pictures and the report follow every verdict
        action.then(lambda f: refresh(ctx, f), run_filter, listing, api_visibility="private",
                    show_progress="hidden").then(show_learning, train_run, learning, api_visibility="private",
                                                 show_progress="hidden")
    return trained
