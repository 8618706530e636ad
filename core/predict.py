"""Load a trained run and give top-k class probabilities for images."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from .checkpoint import load_checkpoint
from .data import eval_transform
from .images import load_image
from .model import Classifier, build_classifier
from .runs import CHECKPOINT_NAME


@dataclass
class Predictor:
    """A trained classifier in eval mode with its class names and preprocessing."""

    model: Classifier
    classes: list[str]
    transform: object
    valid_acc: float | None

    def predict(self, images: list[Image.Image | str | Path], k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-k (label, probability) for each image, most likely first; UnreadableImage for a bad file."""
        batch = torch.stack([self.transform(load_image(im) if isinstance(im, (str, Path)) else im.convert("RGB")) for im in images])
        with torch.inference_mode():
            probs = self.model(batch.contiguous(memory_format=torch.channels_last)).softmax(dim=1)
        top = probs.topk(min(k, len(self.classes)), dim=1)
        return [
            [(self.classes[i], float(p)) for p, i in zip(values.tolist(), indices.tolist())]
            for values, indices in zip(top.values, top.indices)
        ]


def load_predictor(run: str | Path) -> Predictor:
    """Rebuild the model of a run folder (or a checkpoint file) from its weights-only checkpoint."""
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
    return Predictor(model, list(ckpt["classes"]), eval_transform(pre["image_size"], pre["mean"], pre["std"]), ckpt.get("valid_acc"))


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
