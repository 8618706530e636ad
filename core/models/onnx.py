"""ONNX export of a module (once, cached) and ONNX Runtime sessions that run it on the CPU."""
from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.system import atomic_write, cpu_threads, default_cache_dir

ONNX_OPSET = 17
_export_lock = threading.Lock()


class FromPixels(nn.Module):
    """uint8 NHWC pixels -> normalised NCHW floats -> `model`, so that prediction's preprocessing runs in the graph.

    Prediction on ONNX Runtime then runs no PyTorch op at all: a per-image Normalize wakes PyTorch's OpenMP pool,
    whose spinning threads slow the ORT forward that follows (bench/speed.py measures it).
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


def export_onnx(module: nn.Module, image_size: int, path: Path, example: torch.Tensor | None = None,
                outputs: tuple[str, ...] = ("outputs",), opset: int = ONNX_OPSET) -> Path:
    """Export `module` with a dynamic batch axis (input: float NCHW images unless `example` says otherwise; one
    output per name in `outputs`; ONNX opset `opset`), written atomically."""
    if example is None:
        example = torch.zeros(2, 3, image_size, image_size)
    name = "pixels" if example.dtype == torch.uint8 else "images"
    was_training = module.training
    module.eval()
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, (example,), buffer, dynamo=False, opset_version=opset,
                input_names=[name], output_names=list(outputs),
                dynamic_axes={name: {0: "batch"}, **{output: {0: "batch"} for output in outputs}},
            )
    finally:
        module.train(was_training)
    return atomic_write(path, buffer.getvalue())


class OnnxRunner:
    """An ONNX Runtime CPU session on as many threads as PyTorch may use here (all the cores this process has)."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(cpu_threads(), torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        return self.run_all(x)[0]

    def run_all(self, x: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, ...]:
        """Every output of the graph, in order."""
        array = x if isinstance(x, np.ndarray) else x.detach().to("cpu", torch.float32).contiguous().numpy()
        return tuple(torch.from_numpy(out) for out in self.session.run(None, {self.input: array}))


def onnx_runner(module: nn.Module, image_size: int, name: str, cache_dir: Path | None = None,
                example: torch.Tensor | None = None, outputs: tuple[str, ...] = ("outputs",)) -> tuple[OnnxRunner, str]:
    """The cached export named `name` (exported now if missing), loaded in ONNX Runtime; also says which."""
    path = (cache_dir or default_cache_dir()) / "onnx" / f"{name}.onnx"
    with _export_lock:
        note = "exported once and cached" if not path.is_file() else "from the cached export"
        if not path.is_file():
            export_onnx(module, image_size, path, example, outputs)
    return OnnxRunner(path), note
