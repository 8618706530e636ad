"""Start Transfer Studio: `python launch.py [--data DIR] [--share] [--demo] [--auth-file FILE | --auth USER:PASSWORD]
[--keep-predictions] [--no-browser] [--host H] [--port P]`.

Any Python 3.10+ starts it: unless it is `.venv`'s, core/bootstrap.py first sets `.venv` up as `make run` does (once,
and again when requirements.txt changes), then runs this file in it. So module level imports the standard library only.

Who sees what: the full app, unless --demo, or --share without a password (--auth-file, --auth or one set in
Settings), which serve the demo view (predict and evaluate the shared runs, nothing else). A password puts Gradio's
login in front of either. Passwords are never printed or logged; only a salted hash of the Settings one is kept.
--auth-file is the one to use: a password given with --auth shows in the process list."""
from __future__ import annotations

import argparse
import contextlib
import hmac
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
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Transfer Studio: train an image classifier by clicking.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for your network)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    parser.add_argument("--share", action="store_true",
                        help="also create a temporary public link (the demo view unless a password is set)")
    parser.add_argument("--demo", action="store_true", help="serve the demo view only (predict the shared runs)")
    parser.add_argument("--auth", action="append", default=[], metavar="USER:PASSWORD",
                        help="ask for this user name and password (repeatable); the full app behind a login. "
                             "Prefer --auth-file: a password given here shows in the process list (ps) to anyone "
                             "on this computer")
    parser.add_argument("--auth-file", metavar="FILE", help="like --auth, one user:password a line; the safer way, "
                        "since the passwords stay out of the process list")
    parser.add_argument("--data", help="dataset folder to start with (default: the bundled shapes demo)")
    parser.add_argument("--data-root", default=str(HERE / "data"), help="folder the data browser shows")
    parser.add_argument("--runs", default=str(HERE / "runs"), help="folder that holds one folder per run")
    parser.add_argument("--keep-predictions", action="store_true",
                        help="keep the pictures the model is shown (Predict, the demo view, its links, the HTTP "
                             "endpoint) for review in the Review tab, for this start; Settings turns it on for good")
    parser.add_argument("--max-data-mb", type=int, default=None,
                        help="the datasets built in the app may not grow past this many MB (default 2000)")
    return parser.parse_args(argv)


def _pair(text: str) -> tuple[str, str] | None:
    user, colon, password = text.partition(":")
    return (user.strip(), password) if colon and user.strip() and password else None


def read_auth(pairs: list[str], auth_file: str | None) -> list[tuple[str, str]]:
    """The user:password pairs of --auth and --auth-file; ValueError with a sentence that never repeats a password."""
    from gui import words

    found = []
    for text in pairs:
        if _pair(text) is None:
            raise ValueError(words.AUTH_BAD)
        found.append(_pair(text))
    if auth_file:
        try:
            lines = Path(auth_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(words.AUTH_FILE_MISSING.format(path=auth_file, reason=type(err).__name__)) from None
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                if _pair(line.rstrip("\r\n")) is None:
                    raise ValueError(words.AUTH_FILE_BAD.format(line=number, path=auth_file))
                found.append(_pair(line.rstrip("\r\n")))
    return found


def password_check(pairs: list[tuple[str, str]], stored: Path):
    """What Gradio's login asks: the given pairs, then the owner's stored password (as it was at start); None when
    there is neither. A coroutine, so that a password's hash (tens of ms) runs off the event loop, two at a time:
    a stream of wrong passwords slows logins, not every page."""
    from core.runstore.sharing import check_password, password_record

    record = password_record(stored)
    if not pairs and record is None:
        return None
    slots: list = []  # the limiter is made inside the server's event loop, on the first login

    def matches(user: str, password: str) -> bool:
        given = f"{user}:{password}".encode()
        found = [hmac.compare_digest(given, f"{u}:{p}".encode()) for u, p in pairs]  # each compared, in full
        return any(found) or check_password(record, user, password)

    async def check(user: str, password: str) -> bool:
        import anyio

        if not slots:
            slots.append(anyio.CapacityLimiter(2))
        return await anyio.to_thread.run_sync(matches, user, password, limiter=slots[0])

    return check


def choose_view(demo: bool, share: bool, protected: bool) -> str:
    """The demo view when asked for, or for a public link nobody has to log in to; the full app otherwise."""
    return "demo" if demo or (share and not protected) else "full"


def exposure_message(host: str, view: str, protected: bool) -> str | None:
    """For an address other computers can reach: which view it serves and whether a password protects it."""
    from gui import words

    if host in LOCAL_HOSTS:
        return None
    return words.EXPOSED.format(host=host, view=words.VIEW_NAMES[view],
                                protection=words.PROTECTED if protected else words.UNPROTECTED)


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
    from core.runstore.table import mark_abandoned
    from core.runstore.sharing import password_path
    from gui import AppContext, start, words

    try:
        pairs = read_auth(args.auth, args.auth_file)
    except ValueError as err:
        sys.exit(str(err))
    data_root = Path(args.data_root)
    dataset = Path(args.data) if args.data else ensure_demo_dataset(data_root)
    limits = {} if args.max_data_mb is None else {"max_data_mb": args.max_data_mb}
    ctx = AppContext(data_root=data_root, runs_dir=Path(args.runs), initial_dataset=dataset,
                     keep_predictions=args.keep_predictions, **limits)
    for run_id in mark_abandoned(ctx.runs_dir):  # runs whose process was killed: failed, and can be resumed
        print(words.MARKED_FAILED.format(run_id=run_id), flush=True)
    check = password_check(pairs, password_path(ctx.cache_dir))
    view = choose_view(args.demo, args.share, check is not None)
    gradio_said = io.StringIO()
    try:
        with contextlib.redirect_stdout(gradio_said):  # Gradio's own share-failure text is several lines long
            demo = start(ctx, args.host, args.port, share=args.share, view=view, auth=check)
    except Exception:
        sys.stdout.write(gradio_said.getvalue())
        raise
    # The page is served before torch is imported; load it now (and set torch's threads, once for the whole app)
    # so that the first click does not wait for it.
    threading.Thread(target=_warm_up, daemon=True).start()
    url = demo.local_url
    print(f"Transfer Studio is running at {url} (press Ctrl+C to quit).", flush=True)
    if args.share:
        print(f"Public link (temporary, {words.SHARE_LASTS}): {demo.share_url}" if demo.share_url
              else words.SHARE_FAILED.format(url=url), flush=True)
        if view == "demo" and not args.demo:
            print(words.SHARE_DEMO_NOTE.format(view=words.VIEW_NAMES[view]), flush=True)
    if ctx.keeper.on:
        print(words.KEEPING_ON_START.format(folder=ctx.keeper.folder), flush=True)
    exposed = exposure_message(args.host, view, check is not None)
    if exposed:
        print(exposed, flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    try:
        demo.block_thread()  # returns on Ctrl+C (Gradio catches it)
    finally:
        ctx.shares.stop_all()  # the links made in the Share tab stop answering with the app
        demo.close()


if __name__ == "__main__":
    from core.bootstrap import enter_venv  # standard library only: runs under any Python, even one too old

    enter_venv(HERE, sys.argv[1:])  # unless this is .venv's Python, set .venv up and run this file in it, then exit
    main()
