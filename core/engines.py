"""Engines for a frozen backbone's single pass over the images: ONNX Runtime on CPU, PyTorch elsewhere.

On this kind of CPU ONNX Runtime runs the same graph 4-10x faster than PyTorch eager. The backbone is exported
once per (backbone, weights, image size) into the user's cache folder; on CUDA it stays in PyTorch, under autocast.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .backbones import BackboneSpec, efficientnet_lite_weights_path
from .cache import cpu_threads, default_cache_dir

ONNX_OPSET = 17
_export_lock = threading.Lock()


@dataclass
class FrozenEncoder:
    """Maps a float32 NCHW batch to pooled features; `key` names everything the features depend on but the image."""

    engine: str
    key: str
    run: Callable[[torch.Tensor], torch.Tensor]
    batch: int
    note: str = ""


def weights_id(spec: BackboneSpec) -> str:
    """The backbone's weights file by name, size and modification time (a changed file gives new features)."""
    path = efficientnet_lite_weights_path(int(spec.name[-1])) if spec.source == "bundled" else spec.weights_path()
    if path is None or not path.is_file():
        return "random"
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


class FromPixels(nn.Module):
    """uint8 NHWC pixels -> normalised NCHW floats -> `model`, so that prediction's preprocessing runs in the graph.

    Prediction on ONNX Runtime then runs no PyTorch op at all: a per-image Normalize woke PyTorch's OpenMP pool,
    whose spinning threads slowed an 8 ms ORT forward by about 5 ms on two cores.
    """

    def __init__(self, model: nn.Module, mean, std):
        super().__init__()
        self.model = model
        mean, std = torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32)
        self.register_buffer("scale", (1 / (255 * std)).view(1, 3, 1, 1))
        self.register_buffer("shift", (-mean / std).view(1, 3, 1, 1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(pixels.permute(0, 3, 1, 2).float() * self.scale + self.shift)


def pixels_example(image_size: int) -> torch.Tensor:
    """A dummy uint8 NHWC batch to export a `FromPixels` module with."""
    return torch.zeros(2, image_size, image_size, 3, dtype=torch.uint8)


def export_onnx(module: nn.Module, image_size: int, path: Path, example: torch.Tensor | None = None) -> Path:
    """Export `module` with a dynamic batch axis (input: float NCHW images unless `example` says otherwise).

    Written atomically, so a crash leaves no half file.
    """
    if example is None:
        example = torch.zeros(2, 3, image_size, image_size)
    name = "pixels" if example.dtype == torch.uint8 else "images"
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = module.training
    module.eval()
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, (example,), buffer, dynamo=False, opset_version=ONNX_OPSET,
                input_names=[name], output_names=["outputs"],
                dynamic_axes={name: {0: "batch"}, "outputs": {0: "batch"}},
            )
    finally:
        module.train(was_training)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)
    return path


class OnnxRunner:
    """An ONNX Runtime CPU session on as many threads as PyTorch may use here (all the cores this process has)."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(cpu_threads(), torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        array = x if isinstance(x, np.ndarray) else x.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(self.session.run(None, {self.input: array})[0])


def onnx_runner(module: nn.Module, image_size: int, name: str, cache_dir: Path | None = None,
                example: torch.Tensor | None = None) -> tuple[OnnxRunner, str]:
    """The cached export named `name` (exported now if missing), loaded in ONNX Runtime; also says which."""
    path = (cache_dir or default_cache_dir()) / "onnx" / f"{name}.onnx"
    with _export_lock:
        note = "exported once and cached" if not path.is_file() else "cached export"
        if not path.is_file():
            export_onnx(module, image_size, path, example)
    return OnnxRunner(path), note


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed precision on CUDA: bf16 where the GPU has it, else fp16; None (plain fp32) elsewhere."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device):
    """torch.autocast on CUDA with `autocast_dtype`, a no-op context on CPU."""
    dtype = autocast_dtype(device)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def torch_runner(module: nn.Module, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """PyTorch inference: channels-last, no autograd, autocast to bf16/fp16 on CUDA."""

    def run(x: torch.Tensor) -> torch.Tensor:
        module.eval()
        with torch.inference_mode(), autocast(device):
            x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            return module(x).float().cpu()

    return run


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
                   engine: str = "auto", cache_dir: Path | None = None) -> FrozenEncoder:
    """The fastest engine for a frozen pretrained backbone; falls back to PyTorch, saying why, if export fails."""
    key = f"{spec.name}|{weights_id(spec)}|{image_size}|{preprocess}"
    name = f"{spec.name}-{image_size}-{hashlib.blake2b(key.encode(), digest_size=8).hexdigest()}"
    chosen = pick_engine(engine, device)
    if chosen == "onnxruntime":
        try:
            runner, note = onnx_runner(module, image_size, name, cache_dir)
            return FrozenEncoder("onnxruntime", key, runner, 32, note)
        except Exception as err:  # an architecture the exporter cannot handle still trains, only slower
            return FrozenEncoder("pytorch", key, torch_runner(module, device), 16,
                                 f"ONNX export failed ({type(err).__name__}: {err}); using PyTorch")
    return FrozenEncoder("pytorch", key, torch_runner(module, device), 16 if device.type == "cpu" else 128)
