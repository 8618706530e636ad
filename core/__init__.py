"""Transfer Studio's UI-free library: data, models, training events, runs on disk, prediction.

Names are loaded on first use, so importing `core` (or a torch-free part of it) does not import torch.
"""
from importlib import import_module

_EXPORTS = {
    "BACKBONES": "backbones", "get_backbone": "backbones",
    "BackboneUnavailable": "errors", "DatasetError": "errors",
    "TrainConfig": "config",
    "scan_dataset": "layout", "DatasetIndex": "layout", "find_datasets": "layout",
    "load_image": "images", "UnreadableImage": "images",
    "check_dataset": "health",
    "EpochDone": "events", "Event": "events", "FeaturesProgress": "events", "Message": "events",
    "RunFinished": "events", "RunStarted": "events", "StepDone": "events", "StageStarted": "events",
    "plan": "recipes", "HEADS": "heads",
    "train": "trainer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
