"""What the web page export costs and how it does in a browser: export time, the zip's and the folder's size (the
model against onnxruntime-web), the page's load time to ready in headless Chromium, its speed, and its agreement
with the app.

    python bench/web_page.py

Trains a small feature-extractor run (the bundled efficientnet_lite0) on the generated shapes demo, exports it as
a web page, serves the unzipped folder on 127.0.0.1 and opens it in /usr/bin/chromium (1 WebAssembly thread: a
plain static server is not cross-origin isolated): the time from navigation to `transferStudio.ready` in 3 fresh
browser contexts (no cache), then every validation picture classified in the page (bytes handed over first, timed
in the page) against the app's PyTorch answers, and a 12-megapixel JPEG (decoded by the page at half size, 2000x1500,
as the app's decoder does with Pillow's JPEG draft). Writes bench/results/web_page.json.
"""
from __future__ import annotations

import base64
import functools
import http.server
import io
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from core import RunFinished, TrainConfig, train  # noqa: E402
from core.data.demo import make_shapes_dataset  # noqa: E402
from core.export.web import export_web  # noqa: E402
from core.export.web_runtime import FILES as RUNTIME_FILES  # noqa: E402
from core.export.web_runtime import TARBALL, VERSION  # noqa: E402
from core.inference.predict import load_predictor  # noqa: E402
from core.system import configure_torch, cpu_threads  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOADS = 3
BIG_REPEATS = 5
# Classifies each base64 picture once, in order, timing the whole loop in the page: [ranked lists, seconds].
CLASSIFY_ALL = """async ([pictures, type]) => {
    const blobs = pictures.map((b64) => new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], {type}));
    const start = performance.now();
    const answers = [];
    for (const blob of blobs) answers.push(await window.transferStudio.classify(blob));
    return [answers, (performance.now() - start) / 1000];
}"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002
        pass


def big_photo() -> bytes:
    """A 4000x3000 JPEG (scikit-image's cat, enlarged), as a phone would take."""
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.chelsea()).resize((4000, 3000), Image.BICUBIC).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def in_browser(folder: Path, pictures: list[Path], photo: bytes) -> dict:
    """Load times to ready, the validation pictures' answers and the speeds, measured in headless Chromium."""
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    encoded = [base64.b64encode(p.read_bytes()).decode() for p in pictures]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            loads = []
            for _ in range(LOADS):
                context = browser.new_context()  # a fresh cache each time: every file downloaded again
                page = context.new_page()
                start = time.perf_counter()
                page.goto(url)
                page.evaluate("window.transferStudio.ready")
                loads.append(time.perf_counter() - start)
                if len(loads) < LOADS:
                    context.close()
            answers, seconds = page.evaluate(CLASSIFY_ALL, [encoded, "image/jpeg"])
            shown = page.evaluate("window.transferStudio.picturesPerSecond()")  # its last 50 pictures
            _, big_seconds = page.evaluate(CLASSIFY_ALL, [[base64.b64encode(photo).decode()] * BIG_REPEATS,
                                                          "image/jpeg"])
            threads = page.evaluate("ort.env.wasm.numThreads")
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return {"load_s": loads, "answers": answers, "seconds": seconds, "big_seconds": big_seconds,
            "shown_pictures_per_s": shown, "threads": threads}


def main() -> None:
    configure_torch()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = make_shapes_dataset(tmp / "shapes")
        finished = list(train(TrainConfig(data=str(data), out=str(tmp / "runs"), freeze="frozen", epochs=5)))[-1]
        assert isinstance(finished, RunFinished) and finished.checkpoint, finished
        result = export_web(finished.run_dir, tmp / "page.zip")
        with zipfile.ZipFile(result.path) as page:
            sizes = {Path(i.filename).name: {"bytes": i.file_size, "zipped": i.compress_size} for i in page.infolist()}
            page.extractall(tmp / "page")
        (folder,) = (tmp / "page").iterdir()
        pictures = sorted((data / "valid").rglob("*.jpg"))
        measured = in_browser(folder, pictures, big_photo())
        predictor = load_predictor(finished.run_dir, engine="pytorch")
        app = predictor.predict(pictures, k=len(predictor.classes))
    agreed = sum(got[0]["label"] == want[0][0] for got, want in zip(measured["answers"], app, strict=True))
    largest = max(abs(g["confidence"] - dict(want)[g["label"]])
                  for got, want in zip(measured["answers"], app, strict=True) for g in got)
    runtime = sum(sizes[name]["bytes"] for name in RUNTIME_FILES)
    report = {
        "machine": {"cpu_threads": cpu_threads(), "platform": platform.platform(), "python": platform.python_version(),
                    "browser": CHROMIUM, "wasm_threads": measured["threads"]},
        "run": {"backbone": "efficientnet_lite0", "freeze": "frozen", "epochs": 5, "validation_pictures": len(pictures)},
        "export_s": round(result.seconds, 2), "zip_bytes": result.bytes, "zip_mb": round(result.bytes / 1e6, 2),
        "folder_bytes": result.page_bytes, "folder_mb": round(result.page_bytes / 1e6, 2),
        "model_mb": round(sizes["model.onnx"]["bytes"] / 1e6, 2), "runtime_mb": round(runtime / 1e6, 2),
        "runtime": {"onnxruntime_web": VERSION, "tarball": TARBALL, "files": list(RUNTIME_FILES)},
        "files": sizes, "parity_in_python": result.parity.summary(),
        "load_to_ready_s": {"median": round(statistics.median(measured["load_s"]), 3),
                            "runs": [round(s, 3) for s in measured["load_s"]]},
        "classify": {"pictures": len(pictures), "size": "160x160 JPEG",
                     "pictures_per_s": round(len(pictures) / measured["seconds"], 2),
                     "page_shows_pictures_per_s": round(measured["shown_pictures_per_s"], 2),
                     "photo_4000x3000_s": round(measured["big_seconds"] / BIG_REPEATS, 3)},
        "browser_against_app": {"top1_agreement": agreed / len(pictures), "max_abs_prob_diff": round(largest, 5)},
    }
    print(json.dumps(report, indent=2))
    out = Path(__file__).parent / "results" / "web_page.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
