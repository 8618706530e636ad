"""The exported web page in headless Debian Chromium, served by a plain static server: it loads from its own folder
only, classifies every validation picture of the run in the browser like the app does, says "not sure" when the
app does, and makes no request once ready."""
from __future__ import annotations

import base64
import functools
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.export.parity import PARITY_BAR
from core.inference.predict import load_predictor
from core.runstore.folder import RunFolder

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
# Builds a Blob from base64 bytes in the page, then calls window.transferStudio[how] on it.
CALL = """async ([how, encoded, type]) => {
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    return await window.transferStudio[how](new Blob([bytes], {type}));
}"""


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 (the standard library's name)
        pass


@pytest.fixture
def served(web_export):
    """The unzipped page's folder on a static server at 127.0.0.1 and a free port: its URL."""
    handler = functools.partial(QuietHandler, directory=str(web_export.folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _call(page, how: str, data: bytes, type_: str = "image/jpeg"):
    return page.evaluate(CALL, [how, base64.b64encode(data).decode(), type_])


def test_the_page_classifies_every_validation_picture_like_the_app_offline(web_export, served, browser, tmp_path):
    page = browser.new_page()
    requests, blocked = [], []
    page.on("request", lambda request: requests.append(request.url))

    def only_the_folder(route) -> None:
        if route.request.url.startswith(served):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()
    page.route("**/*", only_the_folder)
    page.goto(served + "index.html")
    labels = page.evaluate("window.transferStudio.ready")
    loaded = len(requests)
    predictor = load_predictor(web_export.run_dir, engine="pytorch")
    assert labels["classes"] == predictor.classes and labels["not_sure_below"] == predictor.threshold
    assert not blocked, blocked

    paths = [path for path, _ in RunFolder(web_export.run_dir).split_items("valid")[1]]
    app = predictor.predict(paths, k=len(predictor.classes))
    agreed, largest = 0, 0.0
    for path, want in zip(paths, app, strict=True):
        got = _call(page, "classify", path.read_bytes())
        assert [g["confidence"] for g in got] == sorted((g["confidence"] for g in got), reverse=True)
        assert abs(sum(g["confidence"] for g in got) - 1) < 1e-4
        agreed += got[0]["label"] == want[0][0]
        wanted = dict(want)
        largest = max(largest, max(abs(g["confidence"] - wanted[g["label"]]) for g in got))
    agreement = agreed / len(paths)
    print(f"browser against the app: top-1 agreement {agreement:.2%} on {len(paths)} pictures, "
          f"largest confidence difference {largest:.4f}")
    assert agreement >= PARITY_BAR, (agreement, largest)
    assert largest < 0.03, largest

    # "not sure" exactly when the app is not sure, on a grey picture, noise and a validation picture
    rng = np.random.default_rng(0)
    odd = {"grey.png": Image.new("RGB", (200, 150), (128, 128, 128)),
           "noise.png": Image.fromarray(rng.integers(0, 256, (160, 120, 3), dtype=np.uint8))}
    for name, picture in odd.items():
        picture.save(tmp_path / name)
    for path in [tmp_path / "grey.png", tmp_path / "noise.png", paths[0]]:
        (answer,) = predictor.answer([path])
        if abs(answer.top[0][1] - predictor.threshold) < 0.02:  # too close to call: decoders differ a little
            continue
        ranked = _call(page, "show", path.read_bytes(), "image/png" if path.suffix == ".png" else "image/jpeg")
        verdict = page.locator("#verdict").inner_text()
        assert verdict.startswith("Not sure") == (not answer.sure), (path.name, verdict, answer)
        assert ranked[0]["label"] in verdict
    assert page.locator("#top li").count() == 3
    assert "pictures per second" in page.locator("#speed").inner_text()
    assert page.evaluate("window.transferStudio.picturesPerSecond()") > 0
    assert requests[loaded:] == [], "the page made requests after it was ready"
    assert not blocked, blocked
