"""Transfer Studio's UI-free library: data, models, training events, runs on disk, prediction."""
from .backbones import BACKBONES, BackboneUnavailable, get_backbone
from .config import TrainConfig
from .data import DatasetError, scan_dataset
from .events import EpochDone, Event, FeaturesProgress, Message, RunFinished, RunStarted, StepDone
from .trainer import train

__all__ = [
    "BACKBONES", "BackboneUnavailable", "DatasetError", "EpochDone", "Event", "FeaturesProgress", "Message",
    "RunFinished", "RunStarted", "StepDone", "TrainConfig", "get_backbone", "scan_dataset", "train",
]
