"""Load a trained run and give top-k class probabilities for images, on the fastest engine this machine has."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from PIL import Image

from .checkpoint import load_checkpoint
from .data import eval_transform
from .engines import onnx_runner, pick_engine, torch_runner
from .images import load_image, load_image_bytes
from .model import Classifier, build_classifier
from .runs import CHECKPOINT_NAME


@dataclass
class Predictor:
    """A trained classifier in eval mode with its class names and preprocessing; `forward` maps images to logits."""

    model: Classifier
    classes: list[str]
    transform: object
    valid_acc: float | None
    forward: Callable[[torch.Tensor], torch.Tensor]
    engine: str = "pytorch"

    def predict(self, images: list[Image.Image | str | Path | bytes], k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-k (label, probability) for each image, most likely first; UnreadableImage for a bad file."""
        batch = torch.stack([self.transform(_as_rgb(im)) for im in images])
        probs = self.forward(batch).float().softmax(dim=1)
        top = probs.topk(min(k, len(self.classes)), dim=1)
        return [
            [(self.classes[i], float(p)) for p, i in zip(values.tolist(), indices.tolist())]
            for values, indices in zip(top.values, top.indices)
        ]


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
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no trained model at {path}; train a run first")
    ckpt = load_checkpoint(path)
    pre = ckpt["preprocess"]
    head = ckpt.get("head", {"name": "linear"})
    model = build_classifier(ckpt["backbone"], len(ckpt["classes"]), True, pre["image_size"], pretrained=False,
                             head=head["name"], hidden=head.get("hidden", 512), dropout=head.get("dropout", 0.2))
    model.load_state_dict(ckpt["state_dict"])
    model.eval().to(memory_format=torch.channels_last)
    predictor = Predictor(model, list(ckpt["classes"]), eval_transform(pre["image_size"], pre["mean"], pre["std"]),
                          ckpt.get("valid_acc"), torch_runner(model, torch.device("cpu")))
    if pick_engine(engine, torch.device("cpu")) == "onnxruntime":
        digest = hashlib.blake2b(path.read_bytes(), digest_size=12).hexdigest()
        try:
            predictor.forward, _ = onnx_runner(model, pre["image_size"], f"run-{digest}-{pre['image_size']}")
            predictor.engine = "onnxruntime"
        except Exception:  # an architecture the exporter cannot handle still predicts, in PyTorch
            pass
    return predictor


class PredictorCache:
    """A few loaded runs kept per app instance, reloaded when their checkpoint file changes."""

    def __init__(self, size: int = 2):
        self.size = size
        self._items: OrderedDict[tuple[str, float], Predictor] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_dir: str | Path) -> Predictor:
        ckpt = Path(run_dir) / CHECKPOINT_NAME
        key = (str(ckpt.resolve()), ckpt.stat().st_mtime if ckpt.exists() else 0.0)
        with self._lock:
            if key not in self._items:
                self._items[key] = load_predictor(run_dir)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            self._items.move_to_end(key)
            return self._items[key]
