"""Runs tab, two runs picture by picture: which pictures B gets right that A got wrong, the reverse, each class's
accuracy under both, and the settings that differ."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from core.errors import CheckpointError, DatasetError
from gui import words
from gui.context import AppContext
from gui.progress import progress_then_result, status_html

SHOWN = 48  # pictures per gallery; the sentence gives the full counts
PROBLEMS = (LookupError, ValueError, DatasetError, CheckpointError, FileNotFoundError)


def _percent(value: float | None) -> str:
    return words.NO_PICTURES if value is None else f"{value:.1%}"


def _name(path: Path) -> str:
    from core.runstore.table import read_record

    record = read_record(path)
    return (record.name if record else "") or path.name


def diff_sentence(diff, name_a: str | None = None, name_b: str | None = None) -> str:
    """A 85 % -> B 90 %: 3 pictures now right, 1 now wrong (and how many both still get wrong)."""
    return words.COMPARE_SENTENCE.format(run_a=name_a or diff.run_a, run_b=name_b or diff.run_b,
                                         acc_a=_percent(diff.accuracy_a),
                                         acc_b=_percent(diff.accuracy_b), fixed=len(diff.fixed),
                                         broken=len(diff.broken), both_wrong=diff.both_wrong, images=diff.images,
                                         split=words.SPLIT_NAMES[diff.split].lower())


def per_class_rows(diff) -> list[list]:
    """Class, pictures, accuracy under A and B (in %), and the change in points."""
    def pct(value: float | None) -> float | None:
        return None if value is None else round(100 * value, 1)

    return [[c.name, c.n, pct(c.accuracy_a), pct(c.accuracy_b), pct(c.change)] for c in diff.per_class]


def config_rows(diff) -> list[list]:
    """Each setting the two runs used differently, with both values as text."""
    return [[c.field, str(c.value_a), str(c.value_b)] for c in diff.config_diff]


def change_pictures(ctx: AppContext, changes: list) -> tuple[list, list[str]]:
    """The pictures the app may show, with what both runs said, and the names of those it may not."""
    shown = [(c.path, words.CHANGE_CAPTION.format(true=c.true, a=c.predicted_a, pa=c.probability_a,
                                                  b=c.predicted_b, pb=c.probability_b))
             for c in changes if ctx.is_served(c.path)][:SHOWN]
    hidden = [Path(c.path).name for c in changes if not ctx.is_served(c.path)]
    return shown, hidden


def compare_stream(ctx: AppContext, run_a: str | None, run_b: str | None, split: str = "valid") -> Iterator[tuple]:
    """Yield (progress, sentence, per-class rows, setting rows, now-right gallery, now-wrong gallery, note) while
    both runs are evaluated (read back when cached), the last with the comparison filled in."""
    from core.evaluation.compare import RunDiff, compare_runs

    try:
        if run_a and run_a == run_b:
            raise ValueError(words.COMPARE_SAME)
        path_a, path_b = ctx.run_folder(run_a), ctx.run_folder(run_b)
        diff = yield from progress_then_result(compare_runs(path_a, path_b, split), RunDiff, others=6)
        if diff is not None:
            fixed, hidden_fixed = change_pictures(ctx, diff.fixed)
            broken, hidden_broken = change_pictures(ctx, diff.broken)
            hidden = hidden_fixed + hidden_broken
            note = words.COMPARE_HIDDEN.format(count=len(hidden), names=", ".join(hidden[:20])) if hidden else ""
            yield (status_html(words.FINISHED, done=True), diff_sentence(diff, _name(path_a), _name(path_b)),
                   per_class_rows(diff), config_rows(diff) or [[words.SAME_SETTINGS, "", ""]], fixed, broken, note)
    except PROBLEMS as err:
        yield status_html(words.NOT_STARTED), words.WARN.format(err), [], [], [], [], ""


def build(ctx: AppContext) -> tuple[gr.Dropdown, gr.Dropdown]:
    """Lay out the comparison; returns its two run pickers, which the tab refreshes with its own."""
    gr.Markdown(words.COMPARE_INTRO)
    with gr.Row():
        run_a = gr.Dropdown(label=words.RUN_A, elem_id="compare-a", scale=2, allow_custom_value=True)  # API ids
        run_b = gr.Dropdown(label=words.RUN_B, elem_id="compare-b", scale=2, allow_custom_value=True)
        split = gr.Radio(words.SPLIT_CHOICES, value="valid", label=words.EVALUATE_SPLIT, elem_id="compare-split",
                         scale=2)
        go_button = gr.Button(words.COMPARE_BUTTON, variant="primary", elem_id="compare-button", scale=1)
    progress = gr.HTML(status_html(), elem_id="compare-progress")
    sentence = gr.Markdown(elem_id="compare-sentence")
    with gr.Row():
        per_class = gr.Dataframe(headers=words.COMPARE_CLASS_COLUMNS, label=words.PER_CLASS, interactive=False,
                                 elem_id="compare-per-class")
        settings = gr.Dataframe(headers=words.COMPARE_CONFIG_COLUMNS, label=words.COMPARE_SETTINGS,
                                interactive=False, elem_id="compare-settings")
    fixed = gr.Gallery(label=words.NOW_RIGHT, columns=6, height=260, elem_id="compare-fixed")
    broken = gr.Gallery(label=words.NOW_WRONG, columns=6, height=260, elem_id="compare-broken")
    note = gr.Markdown(elem_id="compare-note")
    def compare(a, b, split_name):
        yield from compare_stream(ctx, a, b, split_name)

    go_button.click(compare, [run_a, run_b, split], [progress, sentence, per_class, settings, fixed, broken, note],
                    api_name="compare_runs", concurrency_limit=1)
    return run_a, run_b
