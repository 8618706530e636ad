"""Int8 static quantization of an exported frozen backbone (ONNX Runtime), calibrated on the user's own images.

The defaults are the combination kept after trying the alternatives on a 2-core x86 CPU (bench/int8.py has figures):

- Graph pre-processing first (`quant_pre_process`): it folds the export's explicit Pad nodes (TF-style "same"
  padding) into the convolutions, so the int8 graph is plain Conv/Clip chains; without it the int8 pass is slower.
- QDQ format: same features as QOperator and about the same speed (ORT fuses the Q/DQ pairs into int8 kernels);
  it is the format ONNX Runtime recommends and keeps improving.
- Per-channel weights: a layer's filters differ widely in scale once batch norm is folded in; with one scale per
  tensor the small ones are crushed and the features move several times further from the float ones.
- uint8 activations, int8 weights (U8S8): int8 activations (S8S8) ran about half as fast here. Full range on a
  CPU with VNNI (there `reduce_range` gave worse features); 7-bit weights (`reduce_range`) on one without, where
  the AVX2 kernels' U8S8 products saturate 16 bits: on an AVX2-only CPU full range moved the features to a cosine
  of 0.73 from the float ones, reduced range kept them above 0.9 (tests/core/models/test_quantize.py).
- MinMax calibration: Percentile gave no better features and calibrates several times slower; Entropy matched
  MinMax. What is left of the error comes from rounding the weights of the 1x1 projection convolutions, whose
  outputs are sums of large terms that cancel; no calibration choice removes it (nor does keeping the head float).

Everything from onnxruntime.quantization is imported inside the function: importing `core` stays fast.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.system import atomic_write


@dataclass(frozen=True)
class Int8Options:
    """The quantization choices that matter on a CPU; the defaults are the kept combination (see the module)."""

    quant_format: str = "QDQ"  # or "QOperator"
    per_channel: bool = True
    reduce_range: bool | None = None  # None: 7-bit weights exactly where the CPU lacks VNNI (see the module)
    activation_type: str = "QUInt8"  # or "QInt8"
    weight_type: str = "QInt8"  # or "QUInt8"
    calibrate_method: str = "MinMax"  # or "Percentile", "Entropy"
    preprocess: bool = True  # run quant_pre_process (optimise + infer shapes) first


def cpu_has_vnni() -> bool:
    """Whether this CPU multiplies uint8 by int8 without saturating (AVX512-VNNI, AVX-VNNI or AMX); False where
    /proc/cpuinfo cannot tell (other systems then quantize with the reduced range, which is safe everywhere)."""
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & set(flags.split()))


def reduced_range(options: Int8Options | None = None) -> bool:
    """Whether quantizing with `options` uses 7-bit weights on this CPU."""
    chosen = (options or Int8Options()).reduce_range
    return not cpu_has_vnni() if chosen is None else chosen


def _check_calibration(calibration: list[np.ndarray]) -> None:
    if not calibration:
        raise ValueError("Int8 quantization needs at least one batch of calibration images; none was given.")
    for batch in calibration:
        if not isinstance(batch, np.ndarray) or batch.ndim != 4 or batch.shape[1] != 3:
            shape = getattr(batch, "shape", type(batch).__name__)
            raise ValueError(f"Calibration batches must be float NCHW arrays with 3 channels; got {shape}.")


def quantize_int8(fp32_path: Path, calibration: list[np.ndarray], out_path: Path,
                  options: Int8Options | None = None) -> Path:
    """Static int8 quantization of the float ONNX model at `fp32_path`, calibrated on `calibration` (float NCHW
    batches of the user's preprocessed images), written atomically to `out_path`: a faster frozen pass."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quant_pre_process, quantize_static

    options = options or Int8Options()
    fp32_path, out_path = Path(fp32_path), Path(out_path)
    if not fp32_path.is_file():
        raise ValueError(f"No ONNX model to quantize at {fp32_path}.")
    _check_calibration(calibration)
    model = onnx.load(str(fp32_path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ValueError(f"The model to quantize must take one input (float NCHW images); it takes {inputs}.")

    class Batches(CalibrationDataReader):
        """The calibration batches, one feed at a time, as ONNX Runtime's calibrator asks for them."""

        def __init__(self):
            self.feeds = iter([{inputs[0]: np.ascontiguousarray(b, dtype=np.float32)} for b in calibration])

        def get_next(self) -> dict | None:
            return next(self.feeds, None)

    with tempfile.TemporaryDirectory(prefix="int8-") as tmp:
        source = fp32_path
        if options.preprocess:
            source = Path(tmp) / "preprocessed.onnx"
            quant_pre_process(str(fp32_path), str(source), skip_symbolic_shape=True)
        target = Path(tmp) / "int8.onnx"
        quantize_static(
            str(source), str(target), Batches(),
            quant_format=QuantFormat[options.quant_format],
            per_channel=options.per_channel,
            reduce_range=reduced_range(options),
            activation_type=QuantType[options.activation_type],
            weight_type=QuantType[options.weight_type],
            calibrate_method=CalibrationMethod[options.calibrate_method],
            extra_options={"CalibMaxIntermediateOutputs": 8},
        )
        return atomic_write(out_path, target.read_bytes())
