"""Start Transfer Studio: `python launch.py [--data DIR] [--share] [--no-browser] [--host H] [--port P]`."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import logging
import os
import sys
import threading
import webbrowser
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

HERE = Path(__file__).resolve().parent
SHARE_FAILED = ("The public link could not be created because Gradio's share server cannot be reached "
                "from this computer (no internet connection), so the app is only available at {url}.")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Transfer Studio: train an image classifier by clicking.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for your network)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    parser.add_argument("--share", action="store_true", help="also create a temporary public link")
    parser.add_argument("--data", help="dataset folder to start with (default: the bundled shapes demo)")
    parser.add_argument("--data-root", default=str(HERE / "data"), help="folder the data browser shows")
    parser.add_argument("--runs", default=str(HERE / "runs"), help="folder that holds one folder per run")
    return parser.parse_args(argv)


def _warm_up() -> None:
    from core.system import configure_torch

    configure_torch()
    for module in ("core.training.trainer", "core.inference.predict"):
        importlib.import_module(module)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from core.system import compute_threads

    # Before torch loads: every thread that ever runs a torch op (Gradio's workers too) gets this many threads.
    os.environ.setdefault("OMP_NUM_THREADS", str(compute_threads()))
    from core.data.demo import ensure_demo_dataset
    from gui import AppContext, start

    data_root = Path(args.data_root)
    dataset = Path(args.data) if args.data else ensure_demo_dataset(data_root)
    ctx = AppContext(data_root=data_root, runs_dir=Path(args.runs), initial_dataset=dataset)
    gradio_said = io.StringIO()
    try:
        with contextlib.redirect_stdout(gradio_said):  # Gradio's own share-failure text is several lines long
            demo = start(ctx, args.host, args.port, share=args.share)
    except Exception:
        sys.stdout.write(gradio_said.getvalue())
        raise
    # The page is served before torch is imported; load it now (and set torch's threads, once for the whole app)
    # so that the first click does not wait for it.
    threading.Thread(target=_warm_up, daemon=True).start()
    url = demo.local_url
    print(f"Transfer Studio is running at {url} (press Ctrl+C to quit).", flush=True)
    if args.share:
        print(f"Public link (temporary): {demo.share_url}" if demo.share_url else SHARE_FAILED.format(url=url),
              flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        demo.close()


if __name__ == "__main__":
    main()
