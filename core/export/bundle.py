"""Export a run as a self-contained .zip (ONNX and/or TorchScript, labels, preprocessing, calibration, a standalone
predict.py and a model card), proven first: the exported models must give the app's answers on every validation
picture of the run, else nothing is written."""
from __future__ import annotations

import json
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from core.data.images import DRAFT_SIDE, MAX_PIXELS, MIN_SIDE, NEUTRAL
from core.data.transforms import RESIZE_RATIO
from core.evaluation.metrics import Evaluation, evaluation_of
from core.export import standalone_predict as standalone
from core.export.model_card import model_card
from core.export.parity import Logits, Parity, check_parity
from core.inference.predict import Predictor, load_predictor
from core.models.onnx import FromPixels, OnnxRunner, export_onnx, pixels_example
from core.runstore.checkpoint import CheckpointMeta
from core.runstore.folder import RunFolder
from core.system import atomic_write


class ExportRefused(ValueError):
    """The exported model does not give the app's answers (or cannot be checked); the sentence gives the figures."""


@dataclass(frozen=True)
class ExportFormat:
    """One model file format: its name in the bundle, how to write a pixels module to it and how to run it back."""

    filename: str
    write: Callable[[nn.Module, int, Path], None]
    load: Callable[[Path], Logits]


def _write_onnx(module: nn.Module, image_size: int, path: Path) -> None:
    export_onnx(module, image_size, path, pixels_example(image_size))


def _load_onnx(path: Path) -> Logits:
    runner = OnnxRunner(path)
    return lambda pixels: runner(pixels).numpy()


def _write_torchscript(module: nn.Module, image_size: int, path: Path) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notices
        traced = torch.jit.trace(module.eval(), pixels_example(image_size), check_trace=False)
        atomic_write(path, lambda f: torch.jit.save(traced, f))


def _load_torchscript(path: Path) -> Logits:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = torch.jit.load(str(path), map_location="cpu").eval()

    def run(pixels: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(pixels)).float().numpy()
    return run


FORMATS: dict[str, ExportFormat] = {
    "onnx": ExportFormat(standalone.MODEL, _write_onnx, _load_onnx),
    "torchscript": ExportFormat("model.torchscript.pt", _write_torchscript, _load_torchscript),
}


def parse_formats(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """'onnx,torchscript' -> ['onnx', 'torchscript'] (registry order); an unknown or empty choice is a ValueError."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    if not names:
        raise ValueError(f"name at least one export format; choose from {', '.join(FORMATS)}")
    return [n for n in FORMATS if n in names]


def default_export_path(run_dir: str | Path) -> Path:
    """Where an export goes unless told: <run folder>/export/<run id>.zip."""
    return RunFolder(run_dir).export / f"{Path(run_dir).name}.zip"


def preprocessing_record(meta: CheckpointMeta) -> dict:
    """preprocessing.json: how a picture becomes the model's input (decoding, resizing, cropping, layout)."""
    size = meta.image_size
    return {
        "image_size": size, "resize_short_side": round(size * RESIZE_RATIO), "interpolation": "bilinear",
        "resize": "short side to resize_short_side, long side int(resize_short_side * long / short), Pillow's "
                  "(antialiased) bilinear filter: torchvision's Resize(resize_short_side) on a PIL image",
        "crop": "centre square of image_size: top = round((height - image_size) / 2), "
                "left = round((width - image_size) / 2)",
        "input": {"name": "pixels", "dtype": "uint8", "layout": "NHWC (batch, height, width, channel)",
                  "channels": "RGB", "batch": "any size"},
        "output": {"name": "outputs", "values": "one logit per label of labels.json, in that order; "
                                                "probabilities = softmax(logits / temperature of calibration.json)"},
        "mean": list(meta.mean), "std": list(meta.std),
        "normalisation": "inside the model: (pixels / 255 - mean) / std per channel; do not normalise again",
        "decoding": {
            "exif_orientation": "applied (Pillow's ImageOps.exif_transpose)",
            "alpha": f"composited on grey {tuple(NEUTRAL)}", "palette_cmyk_grey": "converted to RGB",
            "16_bit_and_float": "scaled to 0-255 by the picture's range (1.0, 255 or 65535), as grey",
            "frames": "the first frame of an animated or multi-page file",
            "large_jpeg": f"decoded at a reduced scale, at least {DRAFT_SIDE} px on the short side (Pillow's draft)",
            "refused": f"empty files, more than {MAX_PIXELS:,} pixels, fewer than {MIN_SIDE} px on a side",
        },
    }


@dataclass
class ExportResult:
    """What an export wrote: the bundle, its size, how long it took, and the parity it was proven with."""

    path: Path
    bytes: int
    seconds: float
    formats: list[str]
    parity: Parity

    def to_dict(self) -> dict:
        """What the CLI prints: the bundle's path and size, the seconds taken and the parity figures."""
        return {"path": str(self.path), "bytes": self.bytes, "seconds": round(self.seconds, 3),
                "formats": self.formats, "parity": self.parity.summary()}


def as_json(data) -> bytes:
    """An export's JSON file: indented, UTF-8 (names as they are, not escaped), ending with a newline."""
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def validation_evaluation(run_dir: Path) -> Evaluation:
    """The run's evaluation on its validation pictures (read back from the run folder when unchanged): what an export
    reports; ExportRefused when none of them can be read (the export could not be checked either)."""
    evaluation = evaluation_of(run_dir, "valid")
    if evaluation is None or not evaluation.predictions.paths:
        raise ExportRefused(f"None of the validation pictures of {run_dir.name} could be read, so the export cannot "
                            "be checked; is the dataset still where the run trained on it?")
    return evaluation


def _texts(run_dir: Path, meta: CheckpointMeta, preprocessing: dict, metrics: dict, parity: Parity,
           formats: list[str], calibration: tuple[float, float] | None) -> dict[str, bytes]:
    """Every small file of the bundle, by name."""
    texts = {"MODEL_CARD.md": model_card(run_dir, meta, metrics, parity.to_dict(), formats, calibration).encode(),
             standalone.LABELS: as_json(list(meta.classes)), standalone.PREPROCESSING: as_json(preprocessing),
             "parity.json": as_json(parity.to_dict()), "predict.py": Path(standalone.__file__).read_bytes()}
    if calibration:
        texts[standalone.CALIBRATION] = as_json({
            "temperature": calibration[0], "threshold": calibration[1],
            "meaning": "probabilities = softmax(logits / temperature); a top probability below threshold is "
                       "answered \"not sure\" (fitted on the run's validation pictures)"})
    return texts


class ExportSource(NamedTuple):
    """What every export of a run starts from: its validation pictures, their evaluation, the app's model, the
    run's calibration (None when it has none) and how a picture becomes the model's input."""

    items: list[tuple[Path, int]]
    evaluation: Evaluation
    predictor: Predictor
    calibration: tuple[float, float] | None
    preprocessing: dict


def export_source(run_dir: Path) -> ExportSource:
    """The run's facts an export is made and proven from; FileNotFoundError when it has no trained model."""
    run = RunFolder(run_dir)
    if not run.has_checkpoint():
        raise FileNotFoundError(f"no trained model at {run.best}; train a run first")
    _, items = run.split_items("valid")
    evaluation = validation_evaluation(run_dir)  # may fit and save the run's calibration, so before loading the model
    predictor = load_predictor(run_dir, engine="pytorch")
    return ExportSource(items, evaluation, predictor, run.read_calibration(), preprocessing_record(predictor.meta))


def export_run(run_dir: str | Path, out: str | Path | None = None, formats: str | list[str] = "onnx,torchscript",
               module: nn.Module | None = None) -> ExportResult:
    """Export a run folder as one .zip at `out` (default `default_export_path`), written atomically, after checking
    the exported models against the app's on every validation picture; ExportRefused (nothing written) if they
    disagree. `module` replaces the run's model in the exported files (the check must then catch a different one).
    """
    start = time.perf_counter()
    run_dir, names = Path(run_dir), parse_formats(formats)
    out = Path(out) if out else default_export_path(run_dir)
    items, evaluation, predictor, calibration, preprocessing = export_source(run_dir)
    meta = predictor.meta
    wrapped = FromPixels(module if module is not None else predictor.model, meta.mean, meta.std).eval()
    with tempfile.TemporaryDirectory(prefix="transfer-studio-export-") as tmp:
        files = {FORMATS[n].filename: Path(tmp) / FORMATS[n].filename for n in names}
        models = {}
        for n in names:
            try:
                FORMATS[n].write(wrapped, meta.image_size, files[FORMATS[n].filename])
                models[n] = FORMATS[n].load(files[FORMATS[n].filename])
            except Exception as err:  # an architecture the exporter cannot handle: say which format, keep the app up
                raise ExportRefused(f"This model cannot be exported to {n} ({type(err).__name__}: {err}); "
                                    "nothing was exported.") from None
        parity = check_parity(predictor.logits, models, [p for p, _ in items], preprocessing, predictor.temperature)
        refusal = parity.refusal()
        if refusal:
            raise ExportRefused(refusal)
        texts = _texts(run_dir, meta, preprocessing, evaluation.metrics(), parity, names, calibration)

        def write(f) -> None:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as bundle:
                for name, data in texts.items():
                    bundle.writestr(name, data)
                for name, path in files.items():
                    bundle.write(path, name)
        atomic_write(out, write)
    return ExportResult(out, out.stat().st_size, time.perf_counter() - start, names, parity)
