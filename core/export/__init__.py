"""A run made to live without this app: the bundle (ONNX, TorchScript, a standalone predict.py, model card), checked
against the app's own answers on the run's validation pictures before anything is written. Above evaluation (its
proof is an evaluation), below the CLI and the GUI."""
