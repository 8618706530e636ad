"""Build the Transfer Studio Blocks app and the arguments it must be launched with."""
from __future__ import annotations

import gradio as gr

from gui import rest, words
from gui.context import AppContext
from gui.tabs import data as data_tab
from gui.tabs import evaluate as evaluate_tab
from gui.tabs import model as model_tab
from gui.tabs import model_tools
from gui.tabs import predict as predict_tab
from gui.tabs import runs as runs_tab
from gui.tabs import train as train_tab

CSS = """
.ts-progress {position: relative; height: 28px; border-radius: 6px; background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); overflow: hidden;}
.ts-progress .ts-bar {position: absolute; inset: 0 auto 0 0; background: var(--color-accent-soft);
  transition: width .3s;}
.ts-progress span {position: relative; padding: 0 10px; line-height: 28px; font-size: 14px;}
"""


def build_app(ctx: AppContext) -> gr.Blocks:
    """The six tabs, wired together: Data -> Model -> Train -> Evaluate -> Predict, and every run in Runs."""
    with gr.Blocks(title=words.APP_TITLE) as demo:
        gr.Markdown(words.APP_INTRO)
        with gr.Tab(words.TAB_DATA, id="data"):
            dataset, valid_percent = data_tab.build(ctx, demo)
        with gr.Tab(words.TAB_MODEL, id="model") as model_page:
            model = model_tab.build(ctx, dataset, valid_percent)
        with gr.Tab(words.TAB_TRAIN, id="train"):
            training = train_tab.build(ctx, dataset, valid_percent, model)
        with gr.Tab(words.TAB_EVALUATE, id="evaluate"):
            evaluate_picker = evaluate_tab.build(ctx, demo)
        with gr.Tab(words.TAB_PREDICT, id="predict"):
            run_picker = predict_tab.build(ctx, demo)
        with gr.Tab(words.TAB_RUNS, id="runs") as runs_page:
            runs_changed = runs_tab.build(ctx, runs_page)
        for event in [training, *runs_changed]:  # trained, continued, deleted or opened: the pickers follow
            event.then(lambda: (predict_tab.refresh(ctx),) * 2, None, [run_picker, evaluate_picker],
                       api_visibility="private")
        model_page.select(lambda *values: model_tools.recipe_markdown(ctx, *values),
                          [dataset, valid_percent, *model.as_list()], model.recipe, api_visibility="private",
                          show_progress="hidden")
    demo.queue(default_concurrency_limit=4)
    return demo


def start(ctx: AppContext, host: str, port: int, share: bool = False) -> gr.Blocks:
    """Build the app and serve it in the background; the caller closes it (or blocks on it)."""
    demo = build_app(ctx)
    demo.launch(server_name=host, server_port=port, share=share, quiet=True, prevent_thread_lock=True,
                **launch_kwargs(ctx))
    rest.add_routes(demo.app, ctx)
    return demo


def launch_kwargs(ctx: AppContext) -> dict:
    """Theme, CSS and the only folders whose files may be served (also through a public link)."""
    return {
        "theme": gr.themes.Soft(primary_hue="indigo"),
        "css": CSS,
        "allowed_paths": [str(p) for p in ctx.served_roots],
        "footer_links": ["api"],
    }
