"""A plain HTTP endpoint for scripts and other programs: POST an image's bytes, get the top-k classes as JSON.

    curl --data-binary @photo.jpg "http://127.0.0.1:7860/api/v1/predict?k=3[&run=<run id>]"

It skips Gradio's queue and file cache, and FastAPI's parameter machinery (a plain Starlette route, matched first),
so a round trip costs little more than decoding and the model, far less than through gradio_client (the README
gives the measured figures). It reads nothing but the bytes it is sent, so it is as safe behind a public link as
the rest of the app: behind a password it answers only a logged-in browser or script (Gradio's login cookie), and in
the demo view only for the runs the owner shared.
"""
from __future__ import annotations

import anyio
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.errors import CheckpointError
from core.runstore.table import RunRecord
from gui import words
from gui.context import AppContext

PATH = "/api/v1/predict"
MAX_BYTES = 20 * 1024 * 1024
AT_ONCE = 2  # requests decoded and predicted at the same time (a large PNG within the pixel limit: ~1.6 s, 600 MB)


def _run_for(ctx: AppContext, view: str, run_id: str | None) -> RunRecord:
    """The run to answer with: any run of the app, or in the demo view only a shared one (LookupError else)."""
    if view == "demo":
        from gui.demo import shared_run

        return shared_run(ctx, run_id)
    return ctx.run_by_id(run_id)


def _logged_in(app: FastAPI, request: Request) -> bool:
    """Whether the request may be answered: the app has no login, or it carries a token Gradio's login gave."""
    if getattr(app, "auth", None) is None and getattr(app, "auth_dependency", None) is None:
        return True
    cookie_id = getattr(app, "cookie_id", "")
    token = (request.cookies.get(f"access-token-{cookie_id}")
             or request.cookies.get(f"access-token-unsecure-{cookie_id}"))
    return token is not None and token in getattr(app, "tokens", {})


def _predict(ctx: AppContext, data: bytes, run_id: str | None, k: int, view: str = "full") -> JSONResponse:
    from core.data.images import UnreadableImage

    try:
        run = _run_for(ctx, view, run_id)
        answer = ctx.predictors.get(run.path).answer([data], k=k)[0]
        ctx.keeper.keep(data, run.run_id, answer.top, answer.sure, "api")
    except LookupError as err:
        return JSONResponse({"error": str(err)}, status_code=404)
    except CheckpointError as err:  # the run's model file on this server cannot be used
        return JSONResponse({"error": str(err)}, status_code=500)
    except UnreadableImage as err:
        return JSONResponse({"error": words.REST_UNUSABLE.format(reason=err.reason)}, status_code=422)
    return JSONResponse({"run": run.run_id, "not_sure": not answer.sure,
                         "top": [{"label": label, "confidence": p} for label, p in answer.top]})


def _too_large() -> JSONResponse:
    return JSONResponse({"error": words.REST_TOO_LARGE.format(mb=MAX_BYTES // 2**20)}, status_code=413)


def add_routes(app: FastAPI, ctx: AppContext, view: str = "full") -> None:
    """Register the endpoint on the running app's server, ahead of Gradio's hundred routes (so Gradio's login does
    not guard it: it checks the login itself)."""

    slots: list = []

    async def predict(request: Request) -> JSONResponse:
        if not _logged_in(app, request):
            return JSONResponse({"error": words.REST_LOGIN}, status_code=401)
        try:
            k = int(request.query_params.get("k", 3))
        except ValueError:
            return JSONResponse({"error": words.REST_BAD_K}, status_code=400)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BYTES:
            return _too_large()  # refused before reading it
        chunks, size = [], 0
        async for chunk in request.stream():  # a chunked upload stops being read once it is over the limit
            size += len(chunk)
            if size > MAX_BYTES:
                return _too_large()
            chunks.append(chunk)
        data = b"".join(chunks)
        if not slots:  # made in the server's event loop, on the first request
            slots.append(anyio.CapacityLimiter(AT_ONCE))
        return await anyio.to_thread.run_sync(_predict, ctx, data, request.query_params.get("run"),
                                              max(1, min(k, 100)), view, limiter=slots[0])

    app.router.routes.insert(0, Route(PATH, predict, methods=["POST"]))
