"""The frozen encoder: the fastest engine for a frozen backbone's single pass over the images.

ONNX Runtime on CPU (the backbone exported once per backbone, weights and image size into the user's cache
folder), PyTorch under autocast on CUDA or when the export fails; `pick_engine` is the one place that decides.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from core.models.backbones import BackboneSpec, efficientnet_lite_weights_path
from core.models.onnx import onnx_runner
from core.system import autocast


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
