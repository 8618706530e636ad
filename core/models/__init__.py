"""Models: the backbone and head registries, the classifier that freezes for real, its summary, the exact
conv+BatchNorm rewrites, ONNX export and the frozen encoder. Uses core.data and core.config (the summary reads a
TrainConfig), never training or inference directly."""
