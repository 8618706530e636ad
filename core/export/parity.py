"""Proof that an exported model gives the app's answers: each format, fed the standalone predict.py's own pixels,
against the app's PyTorch model, fed the app's decoded pictures, on every validation picture of the run."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.calibration import softmax
from core.data.images import UnreadableImage, load_image
from core.export import standalone_predict as standalone

PARITY_BAR = 0.999  # the share of validation pictures whose top class an export must agree on with the app
BATCH = 32
Logits = Callable[[np.ndarray], np.ndarray]  # uint8 NHWC pixels -> logits


@dataclass
class FormatParity:
    """One exported format against the app's model: pictures compared, top-1 agreements, largest difference."""

    images: int = 0
    agreed: int = 0
    max_abs_prob_diff: float = 0.0
    disagreements: list[str] = field(default_factory=list)

    @property
    def top1_agreement(self) -> float:
        return self.agreed / self.images if self.images else 0.0

    def add(self, paths: list[str], got: np.ndarray, want: np.ndarray) -> None:
        """Count a batch: the export's probabilities `got` against the app's `want`, one row per picture."""
        same = got.argmax(axis=1) == want.argmax(axis=1)
        self.images += len(paths)
        self.agreed += int(same.sum())
        self.max_abs_prob_diff = max(self.max_abs_prob_diff, float(np.abs(got - want).max()))
        self.disagreements += [path for path, ok in zip(paths, same, strict=True) if not ok]

    def to_dict(self) -> dict:
        """This format's figures for parity.json (the first 20 disagreeing pictures named)."""
        return {"images": self.images, "top1_agreed": self.agreed, "top1_agreement": self.top1_agreement,
                "max_abs_prob_diff": self.max_abs_prob_diff, "disagreements": self.disagreements[:20]}


@dataclass
class Parity:
    """Every exported format against the app's PyTorch model on the run's validation pictures."""

    formats: dict[str, FormatParity]
    temperature: float
    skipped: list[tuple[str, str]] = field(default_factory=list)
    exported_input: str = "pixels from predict.py's own decoding, resizing and cropping"

    def total(self) -> dict:
        images, agreed = sum(p.images for p in self.formats.values()), sum(p.agreed for p in self.formats.values())
        return {"images_compared": images, "top1_agreement": agreed / images if images else 0.0,
                "max_abs_prob_diff": max((p.max_abs_prob_diff for p in self.formats.values()), default=0.0)}

    def summary(self) -> dict:
        """The total and each format's figures, without the lists (what the CLI prints)."""
        return self.total() | {"formats": {name: {k: p.to_dict()[k] for k in ("images", "top1_agreement",
                                                                             "max_abs_prob_diff")}
                                           for name, p in self.formats.items()}}

    def to_dict(self) -> dict:
        """parity.json."""
        return {"reference": "the app's PyTorch model (its image decoder, eval transform and checkpoint)",
                "exported_input": self.exported_input,
                "temperature": self.temperature, "bar": PARITY_BAR,
                "formats": {name: p.to_dict() for name, p in self.formats.items()}, "total": self.total(),
                "skipped": [{"path": path, "reason": reason} for path, reason in self.skipped]}

    def refusal(self) -> str | None:
        """Why the export is refused (a format below the bar, or nothing compared), None when it passes."""
        for name, p in self.formats.items():
            if p.images == 0:
                return (f"None of the run's validation pictures could be read, so the {name} model cannot be checked "
                        "against the app; is the dataset still where the run trained on it?")
            if p.top1_agreement < PARITY_BAR:
                return (f"The exported {name} model gives the app's top class for only {p.agreed} of {p.images} "
                        f"validation pictures ({p.top1_agreement:.2%}; at least {PARITY_BAR:.1%} is needed; "
                        f"largest probability difference {p.max_abs_prob_diff:.4f}), so nothing was exported.")
        return None


def _decode_both(path: Path, preprocessing: dict) -> tuple[Image.Image | None, np.ndarray | None, str]:
    """The app's decoded picture and predict.py's pixels of one file (None where it could not read it)."""
    reason = ""
    try:
        image = load_image(path)
    except UnreadableImage as err:
        image, reason = None, err.reason
    try:
        pixels = standalone.pixels(standalone.load_rgb(path), preprocessing)[0]
    except standalone.UnreadableImage as err:
        pixels, reason = None, reason or str(err)
    return image, pixels, reason


def check_parity(reference: Callable[[list[Image.Image]], torch.Tensor], models: dict[str, Logits],
                 paths: list[Path], preprocessing: dict, temperature: float = 1.0) -> Parity:
    """Compare each exported model (fed predict.py's pixels) with the app's `reference` (fed the app's decoded
    pictures) on `paths`: top-1 agreement and the largest difference of calibrated probabilities."""
    parity = Parity({name: FormatParity() for name in models}, temperature)
    for first in range(0, len(paths), BATCH):
        kept, images, pixels = [], [], []
        for path in paths[first:first + BATCH]:
            image, pix, reason = _decode_both(path, preprocessing)
            if image is None and pix is None:
                parity.skipped.append((str(path), reason))
            elif image is None or pix is None:  # read by one side only: the bundle would answer differently
                for p in parity.formats.values():
                    p.images += 1
                    p.disagreements.append(str(path))
            else:
                kept.append(str(path))
                images.append(image)
                pixels.append(pix)
        if not kept:
            continue
        want = softmax(reference(images).float().numpy().astype(np.float64), temperature)
        batch = np.stack(pixels)
        for name, run in models.items():
            parity.formats[name].add(kept, softmax(run(batch).astype(np.float64), temperature), want)
    return parity
