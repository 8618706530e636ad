"""Load a trained run and give top-k class probabilities for images, on the fastest engine this machine has."""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from core.data.images import load_image, load_image_bytes
from core.data.transforms import eval_resize_crop, eval_transform
from core.errors import CheckpointError
from core.models.classifier import Classifier, build_classifier
from core.models.encoders import pick_engine, torch_runner
from core.models.onnx import FromPixels, OnnxRunner, onnx_runner, pixels_example
from core.runstore.checkpoint import CheckpointMeta, load_checkpoint
from core.runstore.folder import RunFolder

log = logging.getLogger(__name__)


@dataclass
class PixelsOnOnnx:
    """RGB images -> logits on ONNX Runtime: resize and crop in PIL, everything else inside the exported graph."""

    runner: OnnxRunner
    resize_crop: Callable[[Image.Image], Image.Image]

    def pixels(self, images: list[Image.Image]) -> np.ndarray:
        return np.stack([np.asarray(self.resize_crop(im), dtype=np.uint8) for im in images])

    def __call__(self, images: list[Image.Image]) -> torch.Tensor:
        return self.runner(self.pixels(images))


@dataclass
class TensorsOnTorch:
    """RGB images -> logits in PyTorch: the eval transform, then the model."""

    run: Callable[[torch.Tensor], torch.Tensor]
    transform: Callable[[Image.Image], torch.Tensor]

    def __call__(self, images: list[Image.Image]) -> torch.Tensor:
        return self.run(torch.stack([self.transform(im) for im in images]))


@dataclass
class Predictor:
    """A trained classifier in eval mode with its class names; `logits` maps RGB images to logits on `engine`.

    `note` says why it runs on PyTorch when ONNX Runtime was wanted (an export that failed), else is empty.
    """

    model: Classifier
    classes: list[str]
    logits: Callable[[list[Image.Image]], torch.Tensor]
    engine: str = "pytorch"
    note: str = ""
    meta: CheckpointMeta | None = None  # what the checkpoint says about the model (backbone, preprocessing, ...)
    temperature: float = 1.0  # fitted on the validation images: probabilities that mean what they say
    threshold: float | None = None  # below this top probability the answer is "not sure"; None: never fitted

    def predict(self, images: list[Image.Image | str | Path | bytes], k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-k (label, calibrated probability) for each image, most likely first; UnreadableImage for a bad file."""
        probs = (self.logits([_as_rgb(im) for im in images]).float() / self.temperature).softmax(dim=1)
        top = probs.topk(min(k, len(self.classes)), dim=1)
        return [
            [(self.classes[i], float(p)) for p, i in zip(values.tolist(), indices.tolist())]
            for values, indices in zip(top.values, top.indices)
        ]

    def answer(self, images: list[Image.Image | str | Path | bytes], k: int = 3) -> list[Answer]:
        """`predict`, each with whether the model is sure (its top probability reaches the threshold)."""
        return [Answer(top, self.threshold is None or top[0][1] >= self.threshold) for top in self.predict(images, k)]


@dataclass(frozen=True)
class Answer:
    """The closest classes with calibrated probabilities, and whether the top one is above the "not sure" line."""

    top: list[tuple[str, float]]
    sure: bool


def _as_rgb(image: Image.Image | str | Path | bytes) -> Image.Image:
    """A file path or encoded bytes through the shared decoder; a PIL image as RGB."""
    if isinstance(image, (str, Path)):
        return load_image(image)
    if isinstance(image, bytes):
        return load_image_bytes(image)
    return image.convert("RGB")


def load_predictor(run: str | Path, engine: str = "auto") -> Predictor:
    """Rebuild the model of a run folder (or a checkpoint file) from its weights-only checkpoint.

    On CPU the whole classifier is exported to ONNX once (cached under the checkpoint's content hash, never read
    from the run folder, which may come from someone else) and runs in ONNX Runtime.
    """
    path = Path(run)
    if path.is_dir():
        path = RunFolder(path).best
    if not path.is_file():
        raise FileNotFoundError(f"no trained model at {path}; train a run first")
    ckpt = load_checkpoint(path)
    meta = CheckpointMeta.from_payload(ckpt, path.name)
    try:
        model = build_classifier(meta.backbone, len(meta.classes), True, meta.image_size, pretrained=False,
                                 head=meta.head, hidden=meta.hidden, dropout=meta.dropout)
        model.load_state_dict(ckpt["state_dict"])
    except (ValueError, KeyError, RuntimeError) as err:  # an unknown backbone or head, weights of another shape
        raise CheckpointError(f"{path.name} holds a model this version cannot rebuild ({err})") from None
    model.eval().to(memory_format=torch.channels_last)
    size, mean, std = meta.image_size, meta.mean, meta.std
    temperature, threshold = RunFolder(path.parent).read_calibration() or (1.0, None)
    predictor = Predictor(model, meta.classes, TensorsOnTorch(torch_runner(model, torch.device("cpu")),
                                                              eval_transform(size, mean, std)), meta=meta,
                          temperature=temperature, threshold=threshold)
    if pick_engine(engine, torch.device("cpu")) == "onnxruntime":
        digest = hashlib.blake2b(path.read_bytes(), digest_size=12).hexdigest()
        try:
            runner, _ = onnx_runner(FromPixels(model, mean, std), size,
                                    f"run-{digest}-{size}-pixels", example=pixels_example(size))
            predictor.logits, predictor.engine = PixelsOnOnnx(runner, eval_resize_crop(size)), "onnxruntime"
        except Exception as err:  # an architecture the exporter cannot handle still predicts, in PyTorch
            predictor.note = (f"ONNX export failed ({type(err).__name__}: {err}); this run predicts in PyTorch, "
                              "which is slower")
            log.warning("%s: %s", path.parent.name, predictor.note)
    return predictor


class PredictorCache:
    """A few loaded runs kept per app instance, reloaded when their checkpoint file changes."""

    def __init__(self, size: int = 2):
        self.size = size
        self._items: OrderedDict[tuple, Predictor] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_dir: str | Path) -> Predictor:
        try:
            st = RunFolder(run_dir).best.stat()
            key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size,  # the file itself, however it is named
                   RunFolder(run_dir).read_calibration())  # and its calibration, which an evaluation may add later
        except OSError:
            key = (str(run_dir), 0, 0, 0, None)  # load_predictor says what is missing
        with self._lock:
            if key not in self._items:
                self._items[key] = load_predictor(run_dir)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            self._items.move_to_end(key)
            return self._items[key]
