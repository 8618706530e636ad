"""Models: the backbone and head registries, the classifier that freezes for real, its summary, the exact
conv+BatchNorm rewrites, ONNX export and the frozen encoder. Uses core.data, never training or inference."""
