"""Build the Transfer Studio Blocks app and the arguments it must be launched with."""
from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from core.runstore.folder import KEPT
from gui import i18n_blocks, limits, rest, start_here, words
from gui.context import AppContext
from gui.demo import VIEWS, PublicLink, add_link_banner, build_demo
from gui.map_chart import BRIDGE_CSS, BRIDGE_JS
from gui.tabs import data as data_tab
from gui.tabs import data_map as data_map_tab
from gui.tabs import evaluate as evaluate_tab
from gui.tabs import model as model_tab
from gui.tabs import model_tools
from gui.tabs import predict as predict_tab
from gui.tabs import review as review_tab
from gui.tabs import runs as runs_tab
from gui.tabs import settings as settings_tab
from gui.tabs import share as share_tab_module
from gui.tabs import train as train_tab

CSS = """
.ts-progress {position: relative; height: 28px; border-radius: 6px; background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); overflow: hidden;}
.ts-progress .ts-bar {position: absolute; inset: 0 auto 0 0; background: var(--color-accent-soft);
  transition: width .3s;}
.ts-progress span {position: relative; padding: 0 10px; line-height: 28px; font-size: 14px;}
"""


def _share_button(elem_id: str) -> gr.Button:
    """"Share this model..." under a tab: opens the Share tab."""
    return gr.Button(words.SHARE_THIS, size="sm", elem_id=elem_id)


def build_app(ctx: AppContext, view: str = "full", link: PublicLink | None = None, share_tab: bool = True) -> gr.Blocks:
    """The full app's tabs, wired together: Data -> Model -> Train -> Evaluate -> Predict -> Share, every run in
    Runs, and Settings; or, for view="demo", the demo view (gui.demo), which registers none of the others'
    endpoints. A full app served through the Share tab has no Share tab: its visitors may not start, stop or
    publish the owner's shares."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
    link = link or PublicLink(view=view)
    if view == "demo":  # visitors' pictures come through a link, unless the owner serves the demo view here
        return build_demo(ctx, link, "link" if link.requested or not share_tab else "demo")
    # Gradio's copies of what the page showed (kept pictures among them) go a day after, checked every hour: a
    # picture deleted in the Review tab does not linger in Gradio's cache folder.
    with i18n_blocks.Blocks(title=words.APP_TITLE, delete_cache=(3600, 86400)) as demo:
        gr.Markdown(words.APP_INTRO)
        start_here.build(ctx, demo, remember=share_tab)  # visitors of a shared full app: hidden on their page only
        add_link_banner(link, demo)
        with gr.Tabs() as tabs:
            with gr.Tab(words.TAB_DATA, id="data"):
                dataset, valid_percent, map_link = data_tab.build(ctx, demo, keeping=share_tab)
            with gr.Tab(words.TAB_MODEL, id="model") as model_page:
                model = model_tab.build(ctx, dataset, valid_percent)
            with gr.Tab(words.TAB_TRAIN, id="train"):
                training = train_tab.build(ctx, dataset, valid_percent, model)
            with gr.Tab(words.TAB_EVALUATE, id="evaluate"):
                evaluate_picker = evaluate_tab.build(ctx, demo)
                to_map = gr.Button(words.MAP_THIS_RUN, size="sm", elem_id="evaluate-map")
            with gr.Tab(words.TAB_PREDICT, id="predict"):
                run_picker = predict_tab.build(ctx, demo)
                to_share = [(_share_button("predict-share"), run_picker)] if share_tab else []
            if share_tab:  # the owner's own page: visitors of a shared full app get neither
                with gr.Tab(words.TAB_SHARE, id="share"):
                    share_picker = share_tab_module.build(ctx, demo)
                with gr.Tab(words.TAB_REVIEW, id="review"):
                    retrained = review_tab.build(ctx, demo)
            with gr.Tab(words.TAB_RUNS, id="runs") as runs_page:
                runs_changed, opened_run = runs_tab.build(ctx, runs_page)
                to_share += [(_share_button("runs-share"), opened_run)] if share_tab else []
            with gr.Tab(words.TAB_SETTINGS, id="settings"):
                settings_tab.build(ctx, demo, keeping=share_tab)
        pickers = [run_picker, evaluate_picker, *([share_picker] if share_tab else [])]
        for button, picker in to_share:  # the Share tab opens on the run that tab showed
            button.click(lambda run_id: (gr.Tabs(selected="share"), run_id or predict_tab.NEWEST), picker,
                         [tabs, share_picker], api_visibility="private", show_progress="hidden")
        to_map.click(lambda text, run_id: (gr.Tabs(selected="data"), gr.Tabs(selected="map"),
                                           data_map_tab.show_run(ctx, text, run_id)),
                     [dataset, evaluate_picker], [tabs, map_link.tabs, map_link.run], api_visibility="private",
                     show_progress="hidden")
        # trained, continued, trained again, deleted or opened: the pickers follow
        for event in [training, *runs_changed, *(retrained if share_tab else [])]:
            event.then(lambda: (predict_tab.refresh(ctx),) * len(pickers), None, pickers,
                       api_visibility="private")
        model_page.select(lambda *values: model_tools.recipe_markdown(ctx, *values),
                          [dataset, valid_percent, *model.as_list()], model.recipe, api_visibility="private",
                          show_progress="hidden")
    demo.queue(default_concurrency_limit=4)
    return demo


def start(ctx: AppContext, host: str, port: int | None, share: bool = False, view: str = "full",
          auth: Callable[[str, str], bool] | None = None, share_tab: bool = True) -> gr.Blocks:
    """Build the app (full or demo view) and serve it in the background, behind Gradio's login when `auth` is given;
    the caller closes it (or blocks on it). The page shows the public link once Gradio has made it."""
    link = PublicLink(requested=share, view=view)
    demo = build_app(ctx, view, link, share_tab)
    demo.launch(server_name=host, server_port=port, share=share, quiet=True, prevent_thread_lock=True, auth=auth,
                auth_message=words.LOGIN_MESSAGE if auth else None, **launch_kwargs(ctx, view))
    link.url, link.local_url = demo.share_url, demo.local_url
    rest.add_routes(demo.app, ctx, view=view)
    return demo


def launch_kwargs(ctx: AppContext, view: str = "full") -> dict:
    """Theme, CSS and the only folders whose files may be served (also through a public link): the data folders in
    the full app; in the demo view none (it shows only what Gradio made for the page), and those folders, the runs
    and the cache are refused outright."""
    demo = view == "demo"
    kept = [str(ctx.runs_dir / KEPT)]  # the Review tab shows them (wherever the runs folder is)
    return {
        "theme": gr.themes.Soft(primary_hue="indigo"),
        "css": CSS + BRIDGE_CSS,
        "js": None if demo else BRIDGE_JS,  # the dataset map's clicks and lasso selections, sent to Python
        "allowed_paths": [] if demo else [str(p) for p in ctx.served_roots] + kept,
        "blocked_paths": [str(p) for p in [*ctx.served_roots, ctx.runs_dir, ctx.cache_dir]] if demo else None,
        "footer_links": ["api"],
        # a visitor of the demo drops pictures; the owner also uploads dataset and project zips
        "max_file_size": limits.max_file_size(limits.DEMO_UPLOAD_MB if demo else limits.FULL_UPLOAD_MB),
    }
