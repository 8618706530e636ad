"""Predict with an exported Transfer Studio model: `python predict.py [-k 3] image.jpg ...`

Needs only onnxruntime, pillow and numpy (pip install onnxruntime pillow numpy). Reads model.onnx, labels.json,
preprocessing.json and (if present) calibration.json from its own folder, and prints one JSON line per picture,
the same lines as `python -m core predict --run RUN image.jpg` in the app: {"path", "top": [[label, probability],
...], "not_sure"}, or {"path", "error"} for a file that is not a readable picture (then the exit code is 1).

Pictures are decoded as the app decodes them (EXIF rotation applied, transparency laid on grey, 16-bit scaled
down, big JPEGs read at a reduced scale) and resized and cropped as the app does (short side to
`resize_short_side` with Pillow's bilinear filter, centre square of `image_size`); the model takes the uint8
RGB pixels (batch, height, width, 3) and normalises them itself.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 80_000_000
MIN_SIDE = 8
DRAFT_SIDE = 1024
NEUTRAL = (128, 128, 128)
# The bundle's files by name (the exporter writes them under these names; this script reads them).
MODEL, LABELS, PREPROCESSING, CALIBRATION = "model.onnx", "labels.json", "preprocessing.json", "calibration.json"
WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")
ALPHA_MODES = ("RGBA", "LA", "La", "RGBa", "PA")
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, MemoryError,
                 Image.DecompressionBombError)


class UnreadableImage(ValueError):
    """A file that is not a picture this model can read (the app's name for it, so the error lines match)."""


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: alpha composited on grey, 16-bit and float scaled, not clipped."""
    if img.mode in WIDE_MODES:
        values = np.asarray(img, dtype=np.float64)
        peak = values.max(initial=0)
        top = 1.0 if img.mode == "F" and peak <= 1.0 else (255.0 if peak <= 255 else 65535.0)
        return Image.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8), "L").convert("RGB")
    if img.mode in ALPHA_MODES or (img.mode == "P" and img.has_transparency_data):
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, NEUTRAL + (255,)), rgba).convert("RGB")
    return img.convert("RGB")


def load_rgb(path: str | Path) -> Image.Image:
    """Decode a picture file as upright RGB, or raise UnreadableImage saying why not."""
    try:
        if os.path.getsize(path) == 0:
            raise UnreadableImage("empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > MAX_PIXELS or min(width, height) < MIN_SIDE:
                    raise UnreadableImage(f"{width}x{height} px is too large or too small")
                if img.format == "JPEG":
                    img.draft(img.mode, (DRAFT_SIDE, DRAFT_SIDE))
                img.seek(0)  # GIF, multi-page TIFF: the first frame
                img.load()
                return to_rgb(ImageOps.exif_transpose(img))
    except UnreadableImage:
        raise
    except DECODE_ERRORS as err:
        raise UnreadableImage(f"cannot be read ({type(err).__name__})") from None


def resize_crop(img: Image.Image, resize: int, crop: int) -> Image.Image:
    """Short side to `resize` (bilinear, long side truncated), then the centre `crop` square: torchvision's
    Resize(resize) + CenterCrop(crop) on a PIL image."""
    width, height = img.size
    short, long = (width, height) if width <= height else (height, width)
    if short != resize:
        new_long = int(resize * long / short)
        img = img.resize((resize, new_long) if width <= height else (new_long, resize), Image.BILINEAR)
    width, height = img.size
    top, left = round((height - crop) / 2.0), round((width - crop) / 2.0)
    return img.crop((left, top, left + crop, top + crop))


def pixels(img: Image.Image, preprocessing: dict) -> np.ndarray:
    """The model's input for one decoded picture: uint8 (1, height, width, 3)."""
    square = resize_crop(img, preprocessing["resize_short_side"], preprocessing["image_size"])
    return np.asarray(square, dtype=np.uint8)[None]


def softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Calibrated probabilities of one row of logits (float32, as the app computes them)."""
    z = logits.astype(np.float32) / np.float32(temperature)
    e = np.exp(z - z.max())
    return e / e.sum()


class Model:
    """The exported model read from its folder (labels, preprocessing, calibration, an onnxruntime session): the
    one way this script and the Space's app.py answer for a decoded picture."""

    def __init__(self, folder: str | Path) -> None:
        import onnxruntime as ort

        folder = Path(folder)
        self.labels = json.loads((folder / LABELS).read_text(encoding="utf-8"))
        self.preprocessing = json.loads((folder / PREPROCESSING).read_text(encoding="utf-8"))
        calibration_file = folder / CALIBRATION
        calibration = json.loads(calibration_file.read_text()) if calibration_file.is_file() else {}
        self.temperature, self.threshold = calibration.get("temperature", 1.0), calibration.get("threshold")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / MODEL), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def answer(self, img: Image.Image, k: int = 3) -> dict:
        """{"top": [[label, probability], ...] (k best, calibrated), "not_sure"} for one decoded picture."""
        probs = softmax(self.session.run(None, {self.input: pixels(img, self.preprocessing)})[0][0], self.temperature)
        top = np.argsort(-probs, kind="stable")[:min(k, len(self.labels))]
        return {"top": [[self.labels[i], round(float(probs[i]), 6)] for i in top],
                "not_sure": self.threshold is not None and float(probs[top[0]]) < self.threshold}


def main(argv: list[str] | None = None) -> int:
    """Print the app's JSON line for each picture named; exit code 1 when one could not be read."""
    parser = argparse.ArgumentParser(prog="predict.py", description="Top classes of pictures, one JSON line each")
    parser.add_argument("-k", type=int, default=3, help="how many classes to show")
    parser.add_argument("images", nargs="+", help="picture files")
    args = parser.parse_args(argv)
    folder = Path(__file__).resolve().parent
    if not (folder / MODEL).is_file():
        print("this export has no model.onnx (it was exported without the onnx format); export it again with "
              "--format onnx to use this script", file=sys.stderr)
        return 2
    model = Model(folder)
    failed = 0
    for path in args.images:
        try:
            answer = model.answer(load_rgb(path), args.k)
        except (OSError, ValueError) as err:
            failed += 1
            print(json.dumps({"path": path, "error": f"not a readable image ({type(err).__name__})"}), flush=True)
            continue
        print(json.dumps({"path": path, **answer}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
