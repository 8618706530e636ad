"""The web page's one ONNX graph: a picture's RGB pixels of any size in, calibrated probabilities out. The app's
resize and centre crop (torchvision's Resize on a PIL image, then CenterCrop) are ONNX ops at its head, so the
page only decodes the picture; the run's model with its normalisation, temperature and softmax follows."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, compose
from onnx import helper as h
from torch import nn

from core.models.onnx import FromPixels, export_onnx
from core.system import atomic_write

OPSET = 18  # Resize's `antialias` (Pillow's area-weighted bilinear when shrinking) needs opset 18
INPUT, OUTPUT = "pixels", "probabilities"
_CROP = "pre_crop"  # the cropped uint8 [1, size, size, 3] picture handed from the resizing graph to the model


class Probabilities(nn.Module):
    """uint8 NHWC pixels -> the model's logits / temperature -> softmax: calibrated probabilities."""

    def __init__(self, model: nn.Module, mean, std, temperature: float):
        super().__init__()
        self.pixels = FromPixels(model, mean, std)
        self.temperature = float(temperature)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return (self.pixels(pixels) / self.temperature).softmax(dim=1)


def resize_crop_graph(resize_short_side: int, image_size: int) -> onnx.ModelProto:
    """uint8 [1, H, W, 3] of any H, W -> short side to `resize_short_side` (long side floor(S * long / short)),
    antialiased bilinear -> the centre `image_size` square (top = round-half-even of (height - size) / 2), as
    torchvision's Resize + CenterCrop do on a PIL image: ONNX Runtime resamples uint8 in fixed point as Pillow
    does, so all but a few pixels in a thousand are the same (the rest one grey level off, rarely two)."""
    def ints(name: str, *values: int) -> onnx.TensorProto:
        return h.make_tensor(f"pre_{name}", TensorProto.INT64, [len(values)], list(values))

    nodes = [
        h.make_node("Shape", [INPUT], ["pre_shape"]),
        h.make_node("Gather", ["pre_shape", "pre_hw_axes"], ["pre_hw"], axis=0),  # [H, W]
        h.make_node("ReduceMin", ["pre_hw"], ["pre_short"], keepdims=1),
        h.make_node("Mul", ["pre_hw", "pre_side"], ["pre_hw_side"]),
        h.make_node("Div", ["pre_hw_side", "pre_short"], ["pre_new_hw"]),  # int64: floor(S * hw / short)
        h.make_node("Concat", ["pre_one", "pre_new_hw", "pre_three"], ["pre_sizes"], axis=0),
        # on uint8, not floats: ONNX Runtime's fixed-point resampling then rounds as Pillow's does
        h.make_node("Resize", [INPUT, "", "", "pre_sizes"], ["pre_resized"], mode="linear", antialias=1,
                    coordinate_transformation_mode="half_pixel"),
        h.make_node("Sub", ["pre_new_hw", "pre_size"], ["pre_extra"]),
        h.make_node("Cast", ["pre_extra"], ["pre_extra_float"], to=TensorProto.FLOAT),
        h.make_node("Div", ["pre_extra_float", "pre_two"], ["pre_half"]),
        h.make_node("Round", ["pre_half"], ["pre_start_float"]),  # ONNX Round: half to even, like Python's round
        h.make_node("Cast", ["pre_start_float"], ["pre_start"], to=TensorProto.INT64),
        h.make_node("Add", ["pre_start", "pre_size"], ["pre_end"]),
        h.make_node("Slice", ["pre_resized", "pre_start", "pre_end", "pre_hw_axes"], [_CROP]),
    ]
    constants = [ints("hw_axes", 1, 2), ints("side", resize_short_side), ints("size", image_size), ints("one", 1),
                 ints("three", 3), h.make_tensor("pre_two", TensorProto.FLOAT, [1], [2.0])]
    graph = h.make_graph(nodes, "resize_crop",
                         [h.make_tensor_value_info(INPUT, TensorProto.UINT8, [1, "height", "width", 3])],
                         [h.make_tensor_value_info(_CROP, TensorProto.UINT8, [1, image_size, image_size, 3])],
                         constants)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", OPSET)])


def write_web_graph(module: nn.Module, mean, std, temperature: float, image_size: int, resize_short_side: int,
                    path: Path) -> Path:
    """The whole graph (resize and crop, then `module` calibrated) written atomically to `path`, checked by
    onnx.checker first."""
    example = torch.zeros(1, image_size, image_size, 3, dtype=torch.uint8)
    with tempfile.TemporaryDirectory(prefix="transfer-studio-web-") as tmp:
        model_path = export_onnx(Probabilities(module, mean, std, temperature).eval(), image_size,
                                 Path(tmp) / "model.onnx", example, (OUTPUT,), opset=OPSET)
        model = onnx.load(str(model_path))
    pre = resize_crop_graph(resize_short_side, image_size)
    pre.ir_version = model.ir_version
    merged = compose.merge_models(pre, model, io_map=[(_CROP, model.graph.input[0].name)],
                                  producer_name="Transfer Studio")
    merged.graph.name = "pixels_to_probabilities"
    onnx.checker.check_model(merged, full_check=True)
    return atomic_write(path, merged.SerializeToString())


def web_graph_runner(path: Path):
    """An ONNX Runtime CPU session of the graph: one picture's uint8 [H, W, 3] pixels -> its probabilities."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda pixels: session.run(None, {INPUT: np.ascontiguousarray(pixels, dtype=np.uint8)[None]})[0][0]
