"""The demo view: what a visitor of a public link may do, and nothing more. It predicts with the runs the owner
shared and shows how good they are, without a picture of the dataset; the endpoints it does not register (train,
build, delete, export, ...) do not exist for a visitor's browser, script or gradio_client. Also: the public link at
the top of the page, and which runs are shared."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from core.errors import CheckpointError
from core.runstore.sharing import set_shared, shared_runs
from core.runstore.table import RunRecord
from gui import i18n_blocks, words
from gui.context import AppContext
from gui.progress import status_html
from gui.tabs import evaluate as evaluate_tab
from gui.tabs import predict as predict_tab

VIEWS = ("full", "demo")
DECODES_AT_ONCE = 2  # visitors' pictures decoded at the same time, by every handler of the demo page together
PROBLEMS = (LookupError, CheckpointError, ValueError)  # CamUnavailable and DatasetError are ValueErrors


@dataclass
class PublicLink:
    """Whether the owner asked for a public link and, once Gradio made it, the link; the page reads it on load."""

    requested: bool = False
    url: str | None = None
    local_url: str = ""
    view: str = "full"


def link_banner(link: PublicLink) -> tuple[gr.Textbox, str]:
    """The link in a box with a copy button and how long it lasts, or the one sentence saying there is none."""
    if not link.requested:
        return gr.Textbox(value="", visible=False), ""
    if not link.url:
        return gr.Textbox(value="", visible=False), words.SHARE_FAILED.format(url=link.local_url)
    return (gr.Textbox(value=link.url, visible=True),
            words.PUBLIC_LINK_LASTS.format(lasts=words.SHARE_LASTS, view=words.VIEW_NAMES[link.view]))


def add_link_banner(link: PublicLink, blocks: gr.Blocks) -> None:
    """The top of the page: the public link (filled in when the page loads, since Gradio makes it after the build)."""
    box = gr.Textbox(label=words.PUBLIC_LINK, buttons=["copy"], interactive=False, visible=False,
                     elem_id="public-link")
    said = gr.Markdown(elem_id="public-link-said")
    blocks.load(lambda: link_banner(link), None, [box, said], api_name="public_link",
                api_visibility="undocumented", show_progress="hidden")


def shared_run(ctx: AppContext, run_id: str | None) -> RunRecord:
    """A run the demo view may use (the first shared one when none is named); LookupError with a sentence else."""
    runs = shared_runs(ctx.runs_dir)
    if not runs:
        raise LookupError(words.DEMO_NO_RUN)
    if not run_id:
        return runs[0]
    for run in runs:
        if run.run_id == run_id:
            return run
    raise LookupError(words.NOT_SHARED.format(run_id=run_id))


def is_shown(ctx: AppContext, run_id: str | None) -> bool:
    """Whether the demo view shows this run now (marked shared, or the default newest finished run)."""
    return bool(run_id) and any(run.run_id == run_id for run in shared_runs(ctx.runs_dir))


def mark_shared(ctx: AppContext, run_id: str | None, shared: bool) -> str:
    """The owner's tick in the Runs tab: show the run in the demo view or stop showing it; a sentence saying so."""
    try:
        set_shared(ctx.run_folder(run_id), shared)
    except (LookupError, OSError) as err:
        return words.WARN.format(err)
    return (words.SHARED_ON if shared else words.SHARED_OFF).format(run_id=run_id)


def _run_id(ctx: AppContext, run_id: str | None) -> str:
    """The shared run's id to predict with, or a gr.Error with the sentence saying why not."""
    try:
        return shared_run(ctx, run_id).run_id
    except LookupError as err:
        raise gr.Error(str(err)) from None


def run_picker(ctx: AppContext) -> gr.Dropdown:
    """The shared runs only, the first chosen."""
    runs = shared_runs(ctx.runs_dir)
    return gr.Dropdown(choices=[(run.label(), run.run_id) for run in runs], value=runs[0].run_id if runs else None)


def _predict_part(ctx: AppContext, run: gr.Dropdown, source: str, notice: gr.Markdown) -> None:
    """Drop a picture: its top classes, "not sure", and where the model looked. (No sketchpad here: Gradio decodes
    every layer a visitor sends it before any handler could refuse one, so a public page would decode without
    limit.)"""
    with gr.Row():
        with gr.Column():
            single = predict_tab.with_readable_errors(gr.Image(
                type="filepath", image_mode=None, sources=["upload", "clipboard"], label=words.DEMO_PICTURE,
                height=240, elem_id="predict-single"))
            label = gr.Label(num_top_classes=predict_tab.TOP_K, label=words.PREDICTION, elem_id="single-label")
            note = gr.Markdown(elem_id="single-not-sure")
            answer = gr.JSON(visible=False)
            show_cam = gr.Checkbox(False, label=words.SHOW_CAM_SINGLE, elem_id="single-cam")
            cam = gr.Image(label=words.CAM_IMAGE, interactive=False, visible=False, height=240,
                           elem_id="single-cam-image")

    def predict(image, run):  # the names and order of the full app's endpoints, so that a script works with both
        return predict_tab.predict_one(ctx, image, _run_id(ctx, run), source)

    def answer_it(image, run):
        return predict_tab.answer_one(ctx, image, _run_id(ctx, run), source)

    def sure(image, run_id):
        return predict_tab.sure_note(ctx, image, _run_id(ctx, run_id), source) if image is not None else ""

    def look(image, run_id, wanted):
        if not wanted or image is None:
            return gr.Image(value=None, visible=False)
        try:
            return gr.Image(value=predict_tab.looked_at(ctx, image, shared_run(ctx, run_id).run_id), visible=True)
        except PROBLEMS as err:
            raise gr.Error(str(err)) from None

    # Every handler decodes the visitor's picture: two decodes at a time in all (a large PNG within the pixel limit
    # takes about 1.6 s and 600 MB), whatever the number of visitors.
    decode = {"concurrency_id": "decode", "concurrency_limit": DECODES_AT_ONCE}
    quiet = {"api_visibility": "private", "show_progress": "hidden", **decode}
    single.change(predict, [single, run], label, api_name="predict", **decode)
    single.change(answer_it, [single, run], answer, api_name="answer", show_progress="hidden", **decode)
    # with each answer the line about keeping follows the owner's switch (turned on after the page loaded, say)
    single.change(lambda image, run_id: (sure(image, run_id), keeping_notice(ctx)), [single, run], [note, notice],
                  **quiet)
    gr.on([single.change, show_cam.change, run.input], look, [single, run, show_cam], cam, **quiet)
    run.input(predict, [single, run], label, **quiet)


def _evaluate_part(ctx: AppContext, run: gr.Dropdown) -> None:
    """The shared run's figures, per class and confused classes, read-only: no picture of the dataset, no saving."""
    gr.Markdown(words.DEMO_EVALUATE_INTRO)
    with gr.Row():
        split = gr.Radio(words.SPLIT_CHOICES, value="valid", label=words.EVALUATE_SPLIT, elem_id="evaluate-split")
        button = gr.Button(words.EVALUATE_BUTTON, variant="primary", elem_id="evaluate-button", scale=0)
    progress = gr.HTML(status_html(), elem_id="evaluate-progress")
    summary = gr.Markdown(elem_id="evaluate-summary")
    table, chart = evaluate_tab.per_class_widgets()
    with gr.Row():
        heatmap = gr.Plot(label=words.CONFUSION_PICTURE, elem_id="confusion-heatmap")
        reliability = gr.Plot(label=words.RELIABILITY, elem_id="reliability")

    def shown(evaluation) -> tuple:
        return (evaluate_tab.summary_markdown(evaluation), evaluate_tab.per_class_rows(evaluation),
                evaluate_tab.per_class_figure(evaluation), evaluate_tab.confusion_figure(evaluation, False),
                evaluate_tab.reliability_figure(evaluation))

    def evaluate(run_id, split_name):
        try:
            yield from evaluate_tab.evaluate_stream(ctx, shared_run(ctx, run_id).run_id, split_name, 5, shown)
        except evaluate_tab.PROBLEMS as err:
            raise gr.Error(str(err)) from None

    button.click(evaluate, [run, split], [progress, summary, table, chart, heatmap, reliability],
                 api_name="evaluate", concurrency_limit=1)


def keeping_notice(ctx: AppContext) -> str:
    """The one line visitors read while the owner keeps the pictures they drop (nothing otherwise)."""
    return words.KEEPING_NOTICE if ctx.keeper.on else ""


def build_demo(ctx: AppContext, link: PublicLink | None = None, source: str = "demo") -> gr.Blocks:
    """The demo view's page: the public link, the shared run picker, Predict and a read-only Evaluate. `source`
    says where its pictures come from when the owner keeps them: "demo" (this computer), "link" (a shared link)."""
    # Visitors' uploads are deleted after 15 minutes (checked every 10), so a public page cannot fill the disk.
    with i18n_blocks.Blocks(title=words.DEMO_TITLE, delete_cache=(600, 900)) as demo:
        gr.Markdown(words.DEMO_INTRO)
        add_link_banner(link or PublicLink(view="demo"), demo)
        # any value reaches the handlers, which answer only for a shared run (the choices change as the owner shares)
        notice = gr.Markdown(elem_id="keeping-notice")
        run = gr.Dropdown(label=words.SHARED_RUN, allow_custom_value=True, elem_id="run-picker")
        with gr.Tab(words.DEMO_PREDICT, id="predict"):
            _predict_part(ctx, run, source, notice)
        with gr.Tab(words.DEMO_EVALUATE, id="evaluate"):
            _evaluate_part(ctx, run)
        demo.load(lambda: run_picker(ctx), None, run, api_visibility="private")
        demo.load(lambda: keeping_notice(ctx), None, notice, api_visibility="private", show_progress="hidden")
    demo.queue(default_concurrency_limit=4)
    return demo
