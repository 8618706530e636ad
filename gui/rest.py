"""A plain HTTP endpoint for scripts and other programs: POST an image's bytes, get the top-k classes as JSON.

    curl --data-binary @photo.jpg "http://127.0.0.1:7860/api/v1/predict?k=3[&run=<run id>]"

It skips Gradio's queue and file cache: a round trip costs about 5 ms more than the bare model on 2 cores, decoding
included, where gradio_client's protocol costs about 200 ms. It reads nothing but the bytes it is sent, so it is as
safe behind a public link as the rest of the app.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .context import AppContext

PATH = "/api/v1/predict"
MAX_BYTES = 20 * 1024 * 1024


def _predict(ctx: AppContext, data: bytes, run_id: str | None, k: int) -> JSONResponse:
    from core.images import UnreadableImage

    try:
        run = ctx.run_by_id(run_id)
        top = ctx.predictors.get(run.path).predict([data], k=k)[0]
    except LookupError as err:
        return JSONResponse({"error": str(err)}, status_code=404)
    except UnreadableImage as err:
        return JSONResponse({"error": f"the image cannot be used: {err.reason}"}, status_code=422)
    return JSONResponse({"run": run.run_id, "top": [{"label": label, "confidence": p} for label, p in top]})


def add_routes(app: FastAPI, ctx: AppContext) -> None:
    """Register the endpoint on the running app's server."""

    async def predict(request: Request, run: str | None = None, k: int = 3) -> JSONResponse:
        data = await request.body()
        if len(data) > MAX_BYTES:
            return JSONResponse({"error": f"images up to {MAX_BYTES // 2**20} MB"}, status_code=413)
        return await run_in_threadpool(_predict, ctx, data, run, max(1, min(k, 100)))

    app.add_api_route(PATH, predict, methods=["POST"], include_in_schema=False)
    app.router.routes.insert(0, app.router.routes.pop())  # matched first, not after Gradio's hundred routes
