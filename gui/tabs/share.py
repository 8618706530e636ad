"""Share tab: the three ways to hand a model out, from the quickest to the longest-lasting: a link while this app
runs (public, or on this network with a QR code for phones), a web page that classifies in the visitor's browser,
and a Hugging Face Space folder (made here, or published with a token that is used once and never kept)."""
from __future__ import annotations

import html
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import gradio as gr

from core.errors import CheckpointError, DatasetError
from core.runstore.sharing import shared_runs
from gui import words
from gui.context import AppContext
from gui.share_servers import Shared, lan_address
from gui.tabs.predict import NEWEST, run_choices

PROBLEMS = (LookupError, ValueError, DatasetError, CheckpointError, FileNotFoundError, OSError)
KIND_WORDS = {"public": words.SHARE_PUBLIC_ON, "network": words.SHARE_NETWORK_ON}


def visitors_sentence(ctx: AppContext) -> str:
    """Which runs a visitor of a link sees (the demo view's rule), and where to change it."""
    runs = shared_runs(ctx.runs_dir)
    if not runs:
        return words.SHARE_VISITORS_NONE
    return words.SHARE_VISITORS_SEE.format(runs=", ".join(run.label() for run in runs))


def qr_html(url: str) -> str:
    """The address as a QR code a phone's camera opens (an inline SVG image: no file, no request)."""
    import segno

    uri = segno.make(url, error="m").svg_data_uri(scale=5, border=2)
    return f'<img src="{uri}" alt="{html.escape(words.SHARE_QR_ALT.format(url=url))}" width="200" height="200">'


def _shown(shared: Shared | None, said: str = "") -> tuple:
    """(the address box, its QR code, the sentence) for a running server, or empty ones with `said`."""
    if shared is None:
        return gr.Textbox(value="", visible=False), "", said
    sentence = KIND_WORDS[shared.kind].format(
        view=words.VIEW_NAMES[shared.view], lasts=words.SHARE_LASTS,
        protection=words.SHARE_WITH_PASSWORD if shared.protected else words.SHARE_WITHOUT_PASSWORD,
        time=time.strftime("%H:%M", time.localtime(shared.started)))
    return gr.Textbox(value=shared.url, visible=True), qr_html(shared.url), sentence


def start(ctx: AppContext, kind: str, password: str | None, full: bool) -> tuple:
    """Start the share server of this kind; what the page shows of it (or the sentence saying why there is none)."""
    if kind == "network" and lan_address() is None:
        return _shown(None, words.WARN.format(words.SHARE_NO_NETWORK))
    try:
        shared = ctx.shares.start(ctx, kind, password, bool(full))
    except (ValueError, OSError) as err:
        return _shown(None, words.WARN.format(err))
    return _shown(shared, "" if shared else words.WARN.format(words.SHARE_PUBLIC_OFFLINE))


def stop(ctx: AppContext, kind: str) -> tuple:
    """Stop the share server of this kind; the page empties its address."""
    return _shown(None, words.SHARE_STOPPED if ctx.shares.stop(kind) else words.SHARE_NOT_RUNNING)


def _parity(parity) -> str:
    """How the export agreed with the app on the validation pictures, in one sentence."""
    total = parity.total()
    agreed = sum(p.agreed for p in parity.formats.values())
    return words.SHARE_PARITY.format(agreed=agreed, images=total["images_compared"], diff=total["max_abs_prob_diff"])


def _megabytes(size: int) -> str:
    """A size in MB, as the app writes it."""
    return words.MEGABYTES.format(mb=size / 1e6)


def make_page(ctx: AppContext, run_id: str | None) -> tuple[str | None, str]:
    """The run as a web page .zip to download, proven first; (None, why not) when it cannot be made."""
    from core.export.web import export_web

    try:
        run = ctx.run_by_id(run_id)
        result = export_web(run.path, ctx.download_path(f"{run.run_id}-web.zip"))
    except PROBLEMS as err:  # ExportRefused is a ValueError
        return None, words.WARN.format(err)
    return str(result.path), words.SHARE_PAGE_MADE.format(
        name=result.path.name, size=_megabytes(result.bytes), unpacked=_megabytes(result.page_bytes),
        parity=_parity(result.parity))


@contextmanager
def _space_folder(ctx: AppContext, run_id: str | None):
    """The run's Space folder, made now in a temporary folder that goes when the block ends (proven first)."""
    from core.export.space import export_space

    run = ctx.run_by_id(run_id)
    with tempfile.TemporaryDirectory(prefix="transfer-studio-space-") as tmp:
        yield export_space(run.path, Path(tmp) / f"{run.run_id}-space")


def make_space(ctx: AppContext, run_id: str | None) -> tuple[str | None, str]:
    """The run's Space folder as one .zip to download; (None, why not) when it cannot be made."""
    from core.export.space import zip_folder

    try:
        with _space_folder(ctx, run_id) as result:
            archive = zip_folder(result.path, ctx.download_path(f"{result.path.name}.zip"))
    except PROBLEMS as err:
        return None, words.WARN.format(err)
    return str(archive), words.SHARE_SPACE_MADE.format(name=archive.name, size=_megabytes(archive.stat().st_size),
                                                       parity=_parity(result.parity))


def publish(ctx: AppContext, run_id: str | None, token: str | None, space: str | None, api_factory=None) -> tuple:
    """Make the Space folder and publish it with the owner's token; (the emptied token box, the sentence). The token
    is passed on once and is never kept, logged or shown (errors are worded without it)."""
    from core.export.space import publish_space, split_space_id

    if not (token or "").strip():
        return "", words.WARN.format(words.SHARE_NO_TOKEN)
    try:
        split_space_id((space or "").strip())  # a bad name is said before minutes of export, not after
        with _space_folder(ctx, run_id) as result:
            url = publish_space(result.path, (space or "").strip(), token.strip(), api_factory=api_factory)
    except PROBLEMS as err:  # PublishError is a ValueError whose sentence never holds the token
        return "", words.WARN.format(err)
    return "", words.SHARE_PUBLISHED.format(url=url)


def state(ctx: AppContext) -> tuple:
    """What the tab shows when the page loads: who visitors see, and each running share server."""
    return (visitors_sentence(ctx), *_shown(ctx.shares.get("public")), *_shown(ctx.shares.get("network")),
            gr.Dropdown(choices=run_choices(ctx), value=NEWEST))


def _server_row(kind: str, start_word: str, stop_word: str, box_word: str) -> dict:
    """Start and Stop for one kind of share server, its address with a copy button, its QR code and sentence."""
    with gr.Row():
        start_button = gr.Button(start_word, variant="primary", elem_id=f"share-{kind}-start")
        stop_button = gr.Button(stop_word, elem_id=f"share-{kind}-stop")
    with gr.Row():
        box = gr.Textbox(label=box_word, buttons=["copy"], interactive=False, visible=False, scale=3,
                         elem_id=f"share-{kind}-link")
        qr = gr.HTML(elem_id=f"share-{kind}-qr")
    said = gr.Markdown(elem_id=f"share-{kind}-said")
    return {"start": start_button, "stop": stop_button, "shown": [box, qr, said]}


def build(ctx: AppContext, demo: gr.Blocks) -> gr.Dropdown:
    """Lay out the tab; returns its run picker (Predict's "Share this model" sets it)."""
    gr.Markdown(words.SHARE_INTRO)
    gr.Markdown(words.SHARE_LINK_HEADING)
    visitors = gr.Markdown(elem_id="share-visitors")
    with gr.Row():
        password = gr.Textbox(label=words.SHARE_PASSWORD, info=words.SHARE_PASSWORD_INFO, type="password",
                              elem_id="share-password")
        full = gr.Checkbox(False, label=words.SHARE_FULL, info=words.SHARE_FULL_INFO, elem_id="share-full")
    rows = {"public": _server_row("public", words.SHARE_PUBLIC_START, words.SHARE_PUBLIC_STOP, words.SHARE_PUBLIC_BOX),
            "network": _server_row("network", words.SHARE_NETWORK_START, words.SHARE_NETWORK_STOP,
                                   words.SHARE_NETWORK_BOX)}
    run = gr.Dropdown(choices=run_choices(ctx), value=NEWEST, label=words.SHARE_RUN, allow_custom_value=True,
                      elem_id="share-run")
    gr.Markdown(words.SHARE_PAGE_HEADING)
    gr.Markdown(words.SHARE_PAGE_INTRO)
    page_button = gr.Button(words.SHARE_PAGE_BUTTON, variant="primary", elem_id="share-page-button")
    page_file = gr.File(label=words.SHARE_PAGE_FILE, interactive=False, height=90, elem_id="share-page-file")
    page_said = gr.Markdown(elem_id="share-page-said")
    gr.Markdown(words.SHARE_SPACE_HEADING)
    gr.Markdown(words.SHARE_SPACE_INTRO)
    space_button = gr.Button(words.SHARE_SPACE_BUTTON, elem_id="share-space-button")
    space_file = gr.File(label=words.SHARE_SPACE_FILE, interactive=False, height=90, elem_id="share-space-file")
    space_said = gr.Markdown(elem_id="share-space-said")
    with gr.Row():
        token = gr.Textbox(label=words.SHARE_TOKEN, type="password", elem_id="share-token")
        space = gr.Textbox(label=words.SHARE_SPACE_NAME, info=words.SHARE_SPACE_NAME_INFO, elem_id="share-space-name")
    publish_button = gr.Button(words.SHARE_PUBLISH, elem_id="share-publish")
    publish_said = gr.Markdown(elem_id="share-publish-said")

    for kind, row in rows.items():
        row["start"].click(lambda p, f, kind=kind: (*start(ctx, kind, p, f), visitors_sentence(ctx)),
                           [password, full], [*row["shown"], visitors],  # which runs they see, as of now
                           api_name=f"share_{kind}", concurrency_limit=1, concurrency_id="share",
                           api_visibility="private")  # it takes a password: not listed for scripts
        row["stop"].click(lambda kind=kind: stop(ctx, kind), None, row["shown"], api_name=f"stop_share_{kind}",
                          concurrency_id="share", api_visibility="private")
    page_button.click(lambda r: make_page(ctx, r), run, [page_file, page_said], api_name="export_web",
                      concurrency_limit=1, concurrency_id="export")
    space_button.click(lambda r: make_space(ctx, r), run, [space_file, space_said], api_name="export_space",
                       concurrency_id="export")
    publish_button.click(lambda r, t, s: publish(ctx, r, t, s), [run, token, space], [token, publish_said],
                         api_name="publish_space", concurrency_id="export", api_visibility="private")
    demo.load(lambda: state(ctx), None, [visitors, *rows["public"]["shown"], *rows["network"]["shown"], run],
              api_visibility="private", show_progress="hidden")
    return run
