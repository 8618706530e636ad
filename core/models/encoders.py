"""The frozen encoder: the fastest engine for a frozen backbone's single pass over the images.

ONNX Runtime on CPU (the backbone exported once per backbone, weights and image size into the user's cache
folder), PyTorch under autocast on CUDA or when the export fails; `pick_engine` is the one place that decides.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from core.models.backbones import BackboneSpec, TopCut, efficientnet_lite_weights_path
from core.models.onnx import OnnxRunner, onnx_runner
from core.models.split import BottomAndTop, split_backbone
from core.system import autocast


_int8_lock = threading.Lock()


@dataclass
class FrozenEncoder:
    """Maps a float32 NCHW batch to (pooled features,) or, cut at the top, to (activations at the cut, pooled
    features); `key` names everything the features depend on but the image, `activation_key` the activations'."""

    engine: str
    key: str
    run: Callable[[torch.Tensor], tuple[torch.Tensor, ...]]
    batch: int
    note: str = ""
    activation_key: str | None = None
    activation_shape: tuple[int, int, int] | None = None


def weights_id(spec: BackboneSpec) -> str:
    """The backbone's weights file by name, size and modification time (a changed file gives new features)."""
    path = efficientnet_lite_weights_path(int(spec.name[-1])) if spec.source == "bundled" else spec.weights_path()
    if path is None or not path.is_file():
        return "random"
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def torch_runner(module: nn.Module, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """PyTorch inference: channels-last, no autograd, autocast to bf16/fp16 on CUDA (a module with several outputs
    gives a tuple)."""

    def run(x: torch.Tensor):
        module.eval()
        with torch.inference_mode(), autocast(device):
            x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            out = module(x)
            return tuple(o.float().cpu() for o in out) if isinstance(out, tuple) else out.float().cpu()

    return run


def _every_output(run: Callable) -> Callable[[torch.Tensor], tuple[torch.Tensor, ...]]:
    """`run` with its output always a tuple (one output or several)."""

    def outputs(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = run(x)
        return out if isinstance(out, tuple) else (out,)

    return outputs


INT8 = "onnxruntime-int8"


@dataclass(frozen=True)
class Calibration:
    """A sample of the user's preprocessed images for int8 quantization; `name` identifies it (files and stamps)."""

    name: str
    batches: Callable[[], list]


def int8_mark() -> str:
    """What tells this machine's int8 model and features apart: full-range or 7-bit weights (core.models.quantize)."""
    from core.models.quantize import reduced_range

    return "int8r7" if reduced_range() else "int8"


def int8_runner(fp32: OnnxRunner, calibration: Calibration) -> OnnxRunner:
    """The fp32 export quantized to int8 on `calibration` (once per sample, cached beside it)."""
    from core.models.quantize import quantize_int8

    path = Path(fp32.path).with_name(f"{Path(fp32.path).stem}-{int8_mark()}-{calibration.name}.onnx")
    with _int8_lock:
        if not path.is_file():
            quantize_int8(Path(fp32.path), calibration.batches(), path)
    return OnnxRunner(path)


def pick_engine(requested: str, device: torch.device) -> str:
    """'auto' is ONNX Runtime on CPU when it is installed, else PyTorch."""
    if requested != "auto":
        return requested
    if device.type != "cpu":
        return "pytorch"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "pytorch"
    return "onnxruntime"


def frozen_encoder(spec: BackboneSpec, module: nn.Module, image_size: int, preprocess: str, device: torch.device,
                   engine: str = "auto", cache_dir: Path | None = None, top: bool = False,
                   calibration: Calibration | None = None, cut: TopCut | None = None) -> FrozenEncoder:
    """The fastest engine for a frozen pretrained backbone; falls back to PyTorch, saying why, if export fails.

    With `top`, the same single pass also gives the activations where the backbone's top begins (the registry's
    cut), for fine-tuning the top on them; the pooled features are the same either way. The int8 engine needs
    `calibration`: a sample of the user's preprocessed images, which its features then depend on too.
    """
    key = f"{spec.name}|{weights_id(spec)}|{image_size}|{preprocess}"
    where = cut or spec.top  # `cut`: an earlier one than the top's, for the deeper stage
    suffix = f"|top:{where.module}" if top else ""
    shape = (where.channels, image_size // where.stride, image_size // where.stride) if top else None
    outputs = ("activations", "features") if top else ("outputs",)
    if top:
        module = BottomAndTop(*split_backbone(spec, module, where))
    name = f"{spec.name}-{image_size}-{hashlib.blake2b((key + suffix).encode(), digest_size=8).hexdigest()}"
    chosen = pick_engine(engine, device)
    if chosen in ("onnxruntime", INT8):
        try:
            runner, note = onnx_runner(module, image_size, name, cache_dir, outputs=outputs)
        except Exception as err:  # an architecture the exporter cannot handle still trains, only slower
            return FrozenEncoder("pytorch", key, _every_output(torch_runner(module, device)), 16,
                                 f"ONNX export failed ({type(err).__name__}: {err}); using PyTorch",
                                 key + suffix if top else None, shape)
        used = "onnxruntime"
        if chosen == INT8 and calibration is not None:
            try:  # int8 features depend on the calibration sample too: keys of their own
                runner = int8_runner(runner, calibration)
                used, key = INT8, f"{key}|{int8_mark()}:{calibration.name}"
                note = ("quantized to int8 on your images (training and its validation read these features; the "
                        "saved model predicts with the float backbone, which the Evaluate tab measures)")
            except Exception as err:
                note = f"int8 quantization failed ({type(err).__name__}: {err}); using float"
        return FrozenEncoder(used, key, runner.run_all, 32, note, key + suffix if top else None, shape)
    return FrozenEncoder("pytorch", key, _every_output(torch_runner(module, device)),
                         16 if device.type == "cpu" else 128, activation_key=key + suffix if top else None,
                         activation_shape=shape)
