"""Transfer Studio's UI-free library: data, models, training events, runs on disk, prediction.

Subpackages by concern, imports pointing one way: config/events/errors/system -> data -> models -> runstore ->
training / inference. This module re-exports the small public surface.

Names are loaded on first use, so importing `core` (or a torch-free part of it) does not import torch.
"""
from importlib import import_module

_EXPORTS = {
    "BACKBONES": "models.backbones", "get_backbone": "models.backbones", "HEADS": "models.heads",
    "BackboneUnavailable": "errors", "DatasetError": "errors", "CheckpointError": "errors",
    "TrainConfig": "config", "FREEZE_MODES": "config",
    "scan_dataset": "data.scan", "DatasetIndex": "data.scan", "find_datasets": "data.scan",
    "load_image": "data.images", "UnreadableImage": "data.images",
    "check_dataset": "data.health",
    "EpochDone": "events", "Event": "events", "FeaturesProgress": "events", "Message": "events",
    "RunFinished": "events", "RunStarted": "events", "StepDone": "events", "StageStarted": "events",
    "plan": "training.recipes", "train": "training.trainer", "continue_run": "training.continued",
    "load_predictor": "inference.predict", "export_run": "export.bundle",
    "evaluate_run": "evaluation.metrics", "compare_runs": "evaluation.compare",
    "run_records": "runstore.table", "save_project": "runstore.project", "open_project": "runstore.project_open",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
