"""Export a run as a web page that classifies pictures in the visitor's browser: one .zip holding one folder
(index.html, app.js, style.css, model.onnx, model.json, parity.json and onnxruntime-web's files), to put on any
static host. Proven first, like the bundle: the page's graph, fed the app's decoded pixels, must give the app's
answers on every validation picture of the run, else nothing is written.

The page's files are package data in core/export/web_page/ (read here, copied as they are: no build step), so
they travel with the code that writes them. onnxruntime-web is not committed to git (15 MB of binary per
upgrade would bloat every clone forever): core/export/web_runtime.py pins its version and the npm tarball's
integrity, `make` fetches it once, and every export checks each file's sha256 before copying it.
"""
from __future__ import annotations

import datetime
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from torch import nn

from core.calibration import softmax
from core.data.images import DRAFT_SIDE, MAX_PIXELS, MIN_SIDE, NEUTRAL, UnreadableImage, load_image
from core.export.bundle import ExportRefused, as_json, export_source
from core.export.model_card import APP_VERSION
from core.export.parity import BATCH, FormatParity, Parity
from core.export.web_graph import INPUT, OUTPUT, web_graph_runner, write_web_graph
from core.export.web_runtime import VERSION as RUNTIME_VERSION
from core.export.web_runtime import RuntimeTampered, runtime_files
from core.inference.predict import Predictor
from core.runstore.checkpoint import CheckpointMeta
from core.runstore.folder import RunFolder
from core.system import atomic_write

PAGE_DIR = Path(__file__).with_name("web_page")
PAGE_FILES = ("index.html", "app.js", "style.css", "LICENSE-onnxruntime-web.txt")
# model.json, not labels.json: the bundle's labels.json is a plain list, this one the page's facts (never confused)
MODEL, FACTS, PARITY = "model.onnx", "model.json", "parity.json"
FORMAT = "web"  # the name of the page's graph in parity.json
WEB_INPUT = ("the app's decoded picture (its decoder: big JPEGs at Pillow's draft scale) as uint8 RGB pixels, "
             "resized and cropped inside the page's graph; the browser decodes the picture itself")
DRAFT_SCALES = (8, 4, 2, 1)  # Pillow's JPEG draft scales (JpegImageFile.draft), the largest that fits is taken
DECODING_RULE = (
    f"as the app's decoder (Pillow): EXIF orientation applied, colour profiles (ICC, PNG gamma) ignored, "
    f"transparency composited on grey {tuple(NEUTRAL)}; refused under {MIN_SIDE} px on a side or over "
    f"{MAX_PIXELS:,} pixels. A JPEG file (its first bytes FF D8 FF) is decoded at 1/scale, scale the largest of "
    f"{', '.join(map(str, DRAFT_SCALES))} not above min(width // {DRAFT_SIDE}, height // {DRAFT_SIDE}), to "
    f"ceil(width / scale) x ceil(height / scale) px (Pillow's draft; the page shrinks on a canvas, smoothing high), "
    f"so only JPEGs of at least {2 * DRAFT_SIDE} px on the short side are reduced; every other format at full size")


@dataclass
class WebExportResult:
    """What a web page export wrote: the zip, its size and its unzipped folder's, the seconds taken, the parity."""

    path: Path
    bytes: int
    seconds: float
    parity: Parity
    page_bytes: int

    def to_dict(self) -> dict:
        """What the CLI prints: the zip's path and size, the folder's size, the seconds and the parity figures."""
        return {"path": str(self.path), "bytes": self.bytes, "page_bytes": self.page_bytes,
                "seconds": round(self.seconds, 3), "format": FORMAT, "parity": self.parity.summary()}


def default_web_export_path(run_dir: str | Path) -> Path:
    """Where a web page export goes unless told: <run folder>/export/<run id>-web.zip."""
    return RunFolder(run_dir).export / f"{Path(run_dir).name}-web.zip"


def check_web_parity(predictor: Predictor, graph, paths: list[Path], temperature: float) -> Parity:
    """The page's graph (fed each picture's pixels as the app decodes them) against the app's model (fed the same decoded
    picture) on `paths`: top-1 agreement and the largest difference of calibrated probabilities."""
    parity = Parity({FORMAT: FormatParity()}, temperature, exported_input=WEB_INPUT)
    for first in range(0, len(paths), BATCH):
        kept: list[str] = []
        images: list[Image.Image] = []
        for path in paths[first:first + BATCH]:
            try:
                images.append(load_image(path))
                kept.append(str(path))
            except UnreadableImage as err:  # the page cannot be checked on it, nor can the app answer it
                parity.skipped.append((str(path), err.reason))
        if images:
            want = softmax(predictor.logits(images).float().numpy().astype(np.float64), temperature)
            got = np.stack([graph(np.asarray(image)) for image in images]).astype(np.float64)
            parity.formats[FORMAT].add(kept, got, want)
    return parity


def facts_record(run_dir: Path, meta: CheckpointMeta, calibration: tuple[float, float | None],
                 preprocessing: dict, metrics: dict, parity: Parity, files: dict[str, int]) -> dict:
    """model.json: what the page needs (classes, temperature, threshold, decoding) and shows (the model's facts,
    the check against the app, each file's size)."""
    total = parity.total()
    return {
        "classes": list(meta.classes), "temperature": calibration[0], "not_sure_below": calibration[1],
        "image_size": preprocessing["image_size"], "resize_short_side": preprocessing["resize_short_side"],
        "run_id": run_dir.name, "backbone": meta.backbone, "head": meta.head, "epoch": meta.epoch,
        "validation": {k: metrics.get(k) for k in metrics if k != "per_class"},
        "checked": {"images": total["images_compared"], "top1_agreement": total["top1_agreement"],
                    "max_abs_prob_diff": total["max_abs_prob_diff"]},
        "decoding": {"min_side": MIN_SIDE, "max_pixels": MAX_PIXELS, "background": list(NEUTRAL),
                     "jpeg_draft_side": DRAFT_SIDE, "jpeg_draft_scales": list(DRAFT_SCALES), "rule": DECODING_RULE},
        "model": {"file": MODEL, "input": INPUT, "input_layout": "uint8 [1, height, width, 3] RGB, any size",
                  "output": OUTPUT, "output_meaning": "calibrated probabilities, one per class, in classes' order"},
        "files": files, "onnxruntime_web": RUNTIME_VERSION, "app_version": APP_VERSION,
        "exported": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def export_web(run_dir: str | Path, out: str | Path | None = None, module: nn.Module | None = None,
               runtime: str | Path | None = None) -> WebExportResult:
    """Export a run folder as a web page zip at `out` (default `default_web_export_path`), written atomically,
    after checking the page's graph against the app on every validation picture; ExportRefused (nothing written)
    if it disagrees. `module` replaces the run's model in the graph (the check must then catch a different one);
    `runtime` is the folder of onnxruntime-web's files (default: where `make` fetched them)."""
    start = time.perf_counter()
    run_dir = Path(run_dir)
    out = Path(out) if out else default_web_export_path(run_dir)
    try:
        runtime_paths = runtime_files(runtime)
    except RuntimeTampered as err:
        raise ExportRefused(f"{err} Nothing was exported.") from None
    items, evaluation, predictor, calibration, preprocessing = export_source(run_dir)
    meta, calibration = predictor.meta, calibration or (1.0, None)
    with tempfile.TemporaryDirectory(prefix="transfer-studio-web-") as tmp:
        graph_path = Path(tmp) / MODEL
        try:
            write_web_graph(module if module is not None else predictor.model, meta.mean, meta.std, calibration[0],
                            meta.image_size, preprocessing["resize_short_side"], graph_path)
            graph = web_graph_runner(graph_path)
        except Exception as err:  # an architecture the exporter cannot handle: say so, keep the app up
            raise ExportRefused(f"This model cannot be exported as a web page ({type(err).__name__}: {err}); "
                                "nothing was exported.") from None
        parity = check_web_parity(predictor, graph, [p for p, _ in items], calibration[0])
        refusal = parity.refusal()
        if refusal:
            raise ExportRefused(refusal)
        files = {**{name: PAGE_DIR / name for name in PAGE_FILES}, MODEL: graph_path, **runtime_paths}
        texts = {PARITY: as_json(parity.to_dict())}
        sizes = {name: path.stat().st_size for name, path in files.items()} | {PARITY: len(texts[PARITY])}
        texts[FACTS] = as_json(facts_record(run_dir, meta, calibration, preprocessing, evaluation.metrics(),
                                            parity, sizes))
        folder = f"{run_dir.name}-web"

        def entry(name: str) -> zipfile.ZipInfo:  # readable by all once unzipped, whatever the temporary's mode
            info = zipfile.ZipInfo(f"{folder}/{name}", time.localtime()[:6])
            info.external_attr, info.compress_type = 0o644 << 16, zipfile.ZIP_DEFLATED
            return info

        def write(f) -> None:
            with zipfile.ZipFile(f, "w") as page:
                for name, data in texts.items():
                    page.writestr(entry(name), data)
                for name, path in files.items():
                    page.writestr(entry(name), path.read_bytes())
        atomic_write(out, write)
    page_bytes = sum(sizes.values()) + len(texts[FACTS])
    return WebExportResult(out, out.stat().st_size, time.perf_counter() - start, parity, page_bytes)
