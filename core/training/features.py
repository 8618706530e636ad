"""Frozen backbone: each image (and each cached augmented view of it) goes through the backbone exactly once.

Features come from the disk cache when the file, the backbone, its weights and the preprocessing are unchanged;
the rest are encoded by the fastest engine (core.models.encoders) and stored for the next run.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from core.data.datasets import collate_skipping_bad
from core.data.images import UnreadableImage, load_image
from core.data.scan import file_stamp
from core.data.transforms import eval_transform, train_transform
from core.events import Event, FeaturesProgress, Message
from core.models.backbones import BackboneSpec
from core.models.encoders import INT8, Calibration, FrozenEncoder, frozen_encoder
from core.training.feature_store import ACTIVATIONS, FeatureStore, activation_budget_bytes
from core.training.rng import seeded

DECODER_VERSION = "images-v1"  # part of every cache key: bump when core.data.images decodes differently


@dataclass(frozen=True)
class View:
    """One version of every image: the plain eval transform, or an augmentation drawn from (seed, file)."""

    name: str
    transform: Callable
    seed: int | None = None


@dataclass
class FeatureSet:
    """Features of the (image, view) entries that decoded, their labels and entry indices, and the skipped files;
    with a top cut, also each entry's activations where the top begins (float16)."""

    features: torch.Tensor
    labels: torch.Tensor
    positions: torch.Tensor
    skipped: list[tuple[str, str]]
    from_cache: int = 0
    activations: torch.Tensor | None = None

    def rows(self, activations: bool = False) -> torch.Tensor:
        """Every entry's features, or its activations at the top's cut."""
        if activations and self.activations is None:
            raise ValueError("these features were encoded without the top's activations")
        return self.activations if activations else self.features

    def subset(self, start: int, stop: int, activations: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (or activations) and labels of the entries whose index lies in [start, stop)."""
        keep = (self.positions >= start) & (self.positions < stop)
        return self.rows(activations)[keep], self.labels[keep]

    def view_rows(self, n: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(k, m) row numbers of the first n items' k views, for the m items present in all of them, and labels:
        batches index the rows they need, so the activations are never copied whole."""
        index = {int(p): row for row, p in enumerate(self.positions.tolist())}
        kept = [i for i in range(n) if all(v * n + i in index for v in range(k))]
        rows = torch.tensor([[index[v * n + i] for i in kept] for v in range(k)], dtype=torch.long).reshape(k, -1)
        return rows, self.labels[rows[0]] if kept else torch.empty(0, dtype=torch.long)

    def views(self, n: int, k: int, activations: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(k, m, ...) features (or activations) of the first n items' k views, for the m items present in all of
        them, and labels."""
        rows, labels = self.view_rows(n, k)
        return self.rows(activations)[rows], labels


class ViewFiles(Dataset):
    """(path, label, view) entries decoded on access; an unreadable file gives its (path, reason) instead."""

    def __init__(self, entries: list[tuple[Path, int, View]], indices: list[int]):
        self.entries, self.indices = entries, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        position = self.indices[i]
        path, label, view = self.entries[position]
        try:
            image = load_image(path)
            if view.seed is None:
                return view.transform(image), (label, position), None
            digest = hashlib.blake2b(f"{view.seed}|{view.name}|{path}".encode(), digest_size=8).digest()
            with seeded(int.from_bytes(digest, "little") & (2**63 - 1)):  # the same view of a file every time
                return view.transform(image), (label, position), None
        except UnreadableImage as err:
            return None, (label, position), (str(path), err.reason)


@dataclass
class _Encoding:
    """One pass of `encode`: the entries, their cache keys and stores, and each entry's features (and activations,
    with a top cut) found or encoded so far, by entry index."""

    encoder: FrozenEncoder
    entries: list[tuple[Path, int, View]]
    store: FeatureStore | None
    activation_store: FeatureStore | None  # None unless the encoder is cut at the top
    vectors: dict[int, torch.Tensor] = field(default_factory=dict)
    maps: dict[int, torch.Tensor] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    top: bool = field(init=False)
    keys: list[tuple[str, str, tuple[int, int] | None]] = field(init=False)

    def __post_init__(self) -> None:
        self.top = self.encoder.activation_key is not None
        self.keys = [(str(Path(path).absolute()), hashlib.blake2b(view.name.encode(), digest_size=12).hexdigest(),
                      file_stamp(Path(path))) for path, _, view in self.entries]

    def look_up(self) -> None:
        """What the caches already hold for these entries."""
        if self.store is not None:
            self.vectors = {i: torch.from_numpy(v.copy()) for i, v in self.store.lookup(self.encoder.key,
                                                                                      self.keys).items()}
        if self.top and self.activation_store is not None:
            self.maps = {i: torch.from_numpy(v.copy()).view(self.encoder.activation_shape)
                         for i, v in self.activation_store.lookup(self.encoder.activation_key, self.keys).items()}

    def have(self) -> list[int]:
        """The entries with everything they need (with a top cut: features and activations), in order."""
        return sorted(set(self.vectors) & set(self.maps) if self.top else set(self.vectors))

    def make_room(self, rows: int, budget: int | None) -> None:
        """Trim the activation cache, within `budget`, for the rows this pass will add."""
        if self.activation_store is not None and budget is not None and rows:
            row_bytes = 2 * math.prod(self.encoder.activation_shape)  # fp16
            self.activation_store.trim(max(0, budget - rows * row_bytes))

    def keep(self, outputs: list[torch.Tensor], positions: list[int]) -> None:
        """A batch's encoder outputs, kept and stored in the caches (entries whose file has a stamp only)."""
        feats = outputs[-1].float()
        self.vectors.update(zip(positions, feats))
        stamped = [(p, i) for i, p in enumerate(positions) if self.keys[p][2] is not None]
        if self.store is not None:
            self.store.store(self.encoder.key, [(*self.keys[p], feats[i].numpy()) for p, i in stamped])
        if self.top:
            acts = outputs[0].clamp(-65504, 65504).half()  # fp16's range: never an infinity
            self.maps.update(zip(positions, acts))
            if self.activation_store is not None:
                self.activation_store.store(self.encoder.activation_key,
                                            [(*self.keys[p], acts[i].numpy()) for p, i in stamped])

    def feature_set(self, from_cache: int) -> FeatureSet:
        order = self.have()
        dim = len(self.vectors[order[0]]) if order else 0
        activations = None
        if self.top:
            activations = (torch.stack([self.maps[i] for i in order]) if order else
                           torch.empty(0, *self.encoder.activation_shape, dtype=torch.float16))
        return FeatureSet(
            features=torch.stack([self.vectors[i] for i in order]) if order else torch.empty(0, dim),
            labels=torch.tensor([self.entries[i][1] for i in order], dtype=torch.long),
            positions=torch.tensor(order, dtype=torch.long), skipped=self.skipped, from_cache=from_cache,
            activations=activations,
        )


def encode(encoder: FrozenEncoder, entries: list[tuple[Path, int, View]], store: FeatureStore | None = None,
           num_workers: int = 0, stop=None, activation_store: FeatureStore | None = None,
           activation_budget: int | None = None) -> Iterator[FeaturesProgress | FeatureSet]:
    """Yield progress while encoding the entries the cache lacks, then one FeatureSet; nothing more once `stop` is set.

    An encoder cut at the top also gives each entry's activations there: an entry is cached only when both are. The
    activation store first makes room, within `activation_budget`, for the rows this pass will add.
    """
    encoding = _Encoding(encoder, entries, store, activation_store if encoder.activation_key is not None else None)
    encoding.look_up()
    have = set(encoding.have())
    cached, total = len(have), len(entries)
    missing = [i for i in range(total) if i not in have]
    encoding.make_room(len(missing), activation_budget)
    start, encoded = time.perf_counter(), 0
    yield FeaturesProgress(done=cached, total=total, images_per_s=0.0, eta_s=0.0, cached=cached)
    if missing:
        # Its own generator: starting a loader draws a seed, which must not shift the run's RNG, or a run whose
        # features come from the cache would train differently from the same run that encoded them.
        loader = DataLoader(ViewFiles(entries, missing), batch_size=encoder.batch, num_workers=num_workers,
                            collate_fn=collate_skipping_bad, generator=torch.Generator().manual_seed(0))
        for x, y, bad in loader:
            if stop is not None and stop.is_set():
                return
            encoding.skipped += [b for b in bad if b not in encoding.skipped]
            encoded += len(bad)
            if x is not None:
                encoding.keep(encoder.run(x), y[:, 1].tolist())
                encoded += len(y)
            rate = encoded / max(time.perf_counter() - start, 1e-9)
            yield FeaturesProgress(done=cached + encoded, total=total, images_per_s=rate,
                                   eta_s=(len(missing) - encoded) / max(rate, 1e-9), cached=cached)
    yield encoding.feature_set(cached)


CALIBRATION_IMAGES = 64  # training images int8 quantization calibrates on (bench/int8.py)
# What the one pass says before it starts: (several versions of each training image?, a note from the engine?) ->
# its sentence; the top layers' cache is said in a sentence of its own.
READING = {
    (False, False): "Reading {count} images through the frozen backbone once; engine: {engine}.",
    (False, True): "Reading {count} images through the frozen backbone once; engine: {engine}, {note}.",
    (True, False): "Reading {count} images through the frozen backbone once, {views} versions of each training image "
                   "(the original and {augmented} augmented); engine: {engine}.",
    (True, True): "Reading {count} images through the frozen backbone once, {views} versions of each training image "
                  "(the original and {augmented} augmented); engine: {engine}, {note}.",
}
TOP_KEPT = "The backbone's intermediate results where the top layers begin are kept too ({megabytes:.0f} MB)."
DEEP_KEPT = ("The backbone's intermediate results where the deeper layers begin are kept too ({megabytes:.0f} "
             "MB).")


def spread(items: list, count: int) -> list:
    """At most `count` items taken at even steps through `items` (a sample that covers every class folder)."""
    return items[:: max(1, len(items) // count)][:count]


def calibration_sample(train_items: list, transform, count: int = CALIBRATION_IMAGES) -> Calibration:
    """Training images spread over the split, preprocessed as the frozen pass sees them, for int8 calibration."""
    picks = [path for path, _ in spread(train_items, count)]
    name = hashlib.blake2b(repr([(str(p), file_stamp(Path(p))) for p in picks]).encode(), digest_size=8).hexdigest()

    def batches() -> list:
        images = []
        for path in picks:
            try:
                images.append(transform(load_image(path)).numpy())
            except UnreadableImage:
                continue
        return [np.stack(images[i:i + 16]) for i in range(0, len(images), 16)]

    return Calibration(name, batches)


def dataset_features(spec: BackboneSpec, module, config, train_items: list, valid_items: list, device: torch.device,
                     views: int = 1, stop=None, store: FeatureStore | None = None, top: bool = False,
                     calibration_items: list | None = None, cut=None) -> Iterator[Event | FeatureSet]:
    """Messages and progress, then the FeatureSet of `views` versions of each training item and the plain valid items
    (with `top`, also their activations where the backbone's top begins, or at `cut`, a TopCut further down, kept
    in the bounded activation cache).
    The int8 engine calibrates on `calibration_items` (default: the training items; one process's share of a
    torchrun run passes the whole split, so that every process quantizes the same model).

    Entry order: view 0 of every training item, view 1 of every training item, ..., then the validation items.
    """
    plain = eval_transform(config.image_size, spec.mean, spec.std)
    calibration = calibration_sample(calibration_items or train_items, plain) if config.engine == INT8 else None
    encoder = frozen_encoder(spec, module, config.image_size, f"{DECODER_VERSION}|{plain!r}", device, config.engine,
                             top=top, calibration=calibration, cut=cut)
    augmented = train_transform(config.image_size, spec.mean, spec.std, config.augment)
    view_list = [View("plain", plain)] + [View(f"aug{k}|{augmented!r}", augmented, config.seed)
                                          for k in range(1, views)]
    entries = [(p, label, v) for v in view_list for p, label in train_items] + [(p, label, view_list[0])
                                                                                 for p, label in valid_items]
    said = READING[views > 1, bool(encoder.note)].format(count=len(train_items) + len(valid_items), views=views,
                                                          augmented=views - 1, engine=encoder.engine, note=encoder.note)
    if top:
        kept = (cut or spec.top).bytes_per_image(config.image_size)
        said += " " + (DEEP_KEPT if cut else TOP_KEPT).format(megabytes=len(entries) * kept / 2**20)
    yield Message(said)
    store = store if store is not None else FeatureStore()
    activation_store = FeatureStore(store.path.parent, ACTIVATIONS) if top else None
    budget = activation_budget_bytes(store.path.parent) if top else None
    for item in encode(encoder, entries, store, config.num_workers, stop, activation_store, budget):
        if isinstance(item, FeatureSet) and activation_store is not None:
            activation_store.trim(budget)
        yield item
