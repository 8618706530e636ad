"""Backbone features of every training and validation picture of a dataset, for the data audit.

The same frozen pretrained backbone, preprocessing and disk cache as a frozen training run (core.training.features),
so an audit after a run (or a run after an audit) reads its features from the cache instead of the images.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.scan import DatasetIndex
from core.data.transforms import eval_transform
from core.errors import BackboneUnavailable
from core.events import Event, FeaturesProgress, Message
from core.models.backbones import get_backbone
from core.models.encoders import frozen_encoder
from core.system import resolve_device
from core.training.feature_store import FeatureStore
from core.training.features import DECODER_VERSION, FeatureSet, View, encode

AUDIT_SPLITS = ("train", "valid")
IMAGE_SIZE = 224  # the audit's (and a map's without a run): one size, so one cache of features
# whether the engine has a note -> what the one pass says before it starts
READING = {False: "Reading {count} pictures through {title} once (engine: {engine}).",
           True: "Reading {count} pictures through {title} once (engine: {engine}, {note})."}


@dataclass
class AuditFeatures:
    """One row per picture that decoded: its path, class index, split ("train", "valid", ...) and feature vector."""

    paths: list[Path]
    labels: np.ndarray
    splits: list[str]
    features: np.ndarray
    classes: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    from_cache: int = 0

    def __len__(self) -> int:
        return len(self.paths)

    def in_split(self, split: str) -> np.ndarray:
        """Row numbers of the pictures of one split."""
        return np.flatnonzero(np.asarray(self.splits) == split)


def audit_features(index: DatasetIndex, backbone: str = "efficientnet_lite0", image_size: int = IMAGE_SIZE,
                   device: str = "auto", engine: str = "auto", stop=None,
                   cache_dir: str | Path | None = None,
                   splits: tuple[str, ...] = AUDIT_SPLITS) -> Iterator[Event | AuditFeatures]:
    """A message and progress, then the AuditFeatures of the index's pictures of `splits` (train and valid unless
    told; the map adds test and kept pictures), nothing if stopped.

    Each picture goes through the backbone once, plain (no augmentation); cached features are reused.
    """
    spec = get_backbone(backbone)
    if not spec.pretrained:
        raise ValueError(f"{spec.title} has no pretrained weights, so its features say nothing about the pictures; "
                         "choose a pretrained backbone for the audit")
    if not spec.available():
        raise BackboneUnavailable(spec.missing_weights())
    items = [(path, label, split) for split in splits for path, label in index.splits.get(split, [])]
    torch_device = resolve_device(device)
    module = spec.build(True, image_size)
    plain = eval_transform(image_size, spec.mean, spec.std)
    cache = Path(cache_dir) if cache_dir is not None else None
    # the key and view name match a frozen training run's, so both share one cache
    encoder = frozen_encoder(spec, module, image_size, f"{DECODER_VERSION}|{plain!r}", torch_device, engine, cache)
    yield Message(READING[bool(encoder.note)].format(count=len(items), title=spec.title, engine=encoder.engine,
                                                     note=encoder.note))
    view = View("plain", plain)
    result = None
    for item in encode(encoder, [(path, label, view) for path, label, _ in items], FeatureStore(cache), 0, stop):
        if isinstance(item, FeatureSet):
            result = item
        elif isinstance(item, FeaturesProgress):
            yield item
    if result is None or (stop is not None and stop.is_set()):
        return
    rows = result.positions.tolist()
    yield AuditFeatures(paths=[Path(items[i][0]) for i in rows], labels=result.labels.numpy().astype(int),
                        splits=[items[i][2] for i in rows], features=result.features.numpy().astype(np.float32),
                        classes=list(index.classes), skipped=list(result.skipped), from_cache=result.from_cache)


def load_features(index: DatasetIndex, **options) -> AuditFeatures | None:
    """The AuditFeatures alone, progress dropped (scripts and tests); None when stopped."""
    found = [x for x in audit_features(index, **options) if isinstance(x, AuditFeatures)]
    return found[0] if found else None

