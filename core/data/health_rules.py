"""The health check's warnings, one rule each: (index, counts, samples, skipped kinds) -> warning dicts."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

import numpy as np

FEW_IMAGES = 10
IMBALANCE_RATIO = 3.0
NEAR_BITS = 4  # perceptual-hash bits that may differ for two files to count as "nearly the same picture"
NEAR_LEVELS = 12  # ...and the mean difference of their 4x4 colour thumbnails, in 0-255 levels
MAX_PAIRS = 500


@dataclass(frozen=True)
class Sample:
    """One readable image as the duplicate rules see it."""

    split: str
    path: str
    label: int
    digest: str
    phash: int
    thumb: bytes


def warning(kind: str, message: str, paths: list | None = None, count: int | None = None) -> dict:
    out = {"kind": kind, "message": message}
    if paths is not None:
        out["paths"] = paths[:MAX_PAIRS]
        out["count"] = len(paths) if count is None else count
    return out


def _names(items: list[str], limit: int = 6) -> str:
    """The first names, then how many more as a bare count: data only, so that a translated sentence holds it."""
    shown = ", ".join(items[:limit])
    return shown + (f", … (+{len(items) - limit})" if len(items) > limit else "")


# One sentence for one class, one for several: whole sentences, so that each translates whole.
MISSING_IN_VALID = {
    True: "{names} has no validation images, so accuracy on them cannot be measured. Put a few of their images in the "
          "validation folder (or use a folder without valid/ and let the app hold some out).",
    False: "{names} have no validation images, so accuracy on them cannot be measured. Put a few of their images in "
           "the validation folder (or use a folder without valid/ and let the app hold some out).",
}
UNSPLIT = {
    True: "{names} has a single image, so none could be held out for validation. Add more images.",
    False: "{names} have a single image, so none could be held out for validation. Add more images.",
}


def empty_classes(index, splits, samples, kinds):
    if index.empty_classes:
        yield warning("empty_class", f"Class folder(s) {_names(index.empty_classes)} hold no images and are left out "
                      "of training. Add images to them or delete the folders.", index.empty_classes)


def unknown_classes(index, splits, samples, kinds):
    for split, names in index.unknown_classes.items():
        if names:
            yield warning("unknown_class", f"{split}/ has class folder(s) {_names(names)} that the training images "
                          "do not have; they are ignored. Add training images for them or remove them.", names)


def missing_in_valid(index, splits, samples, kinds):
    missing = [name for name in index.classes if splits.get("valid", {}).get(name, 0) == 0]
    if missing:
        yield warning("missing_in_valid", MISSING_IN_VALID[len(missing) == 1].format(names=_names(missing)), missing)


def unsplit_classes(index, splits, samples, kinds):
    if index.unsplit_classes:
        single = index.unsplit_classes
        yield warning("unsplit_class", UNSPLIT[len(single) == 1].format(names=_names(single)), single)


def few_images(index, splits, samples, kinds):
    few = [f"{name} ({n})" for name, n in splits["train"].items() if n < FEW_IMAGES]
    if few:
        yield warning("few_images", f"Few training images in {_names(few)}: aim for at least {FEW_IMAGES} per class "
                      "(20 or more is better).", [f.rsplit(" (", 1)[0] for f in few])


def imbalance(index, splits, samples, kinds):
    counts = {name: n for name, n in splits["train"].items() if n > 0}
    if len(counts) < 2:
        return
    big, small = max(counts, key=counts.get), min(counts, key=counts.get)
    ratio = counts[big] / counts[small]
    if ratio >= IMBALANCE_RATIO:
        yield warning("imbalance", f"The classes are unbalanced: {big} has {counts[big]} training images, {small} only "
                      f"{counts[small]} ({ratio:.1f}x fewer). The model will lean towards the big classes; add images "
                      f"to {small} if you can.", [big, small])


def tiny_images(index, splits, samples, kinds):
    if kinds.get("tiny"):
        yield warning("tiny", f"{len(kinds['tiny'])} image(s) are too small to learn from (under 8 px on a side) "
                      "and are skipped.", kinds["tiny"])


def _similar_pairs(samples: list[Sample]) -> list[tuple[int, int, bool]]:
    """(i, j, exact) for every pair with the same bytes, or close perceptual hashes and colour thumbnails."""
    pairs = []
    by_digest = defaultdict(list)
    for i, s in enumerate(samples):
        by_digest[s.digest].append(i)
    pairs += [(group[0], j, True) for group in by_digest.values() for j in group[1:]]
    hashes = np.array([s.phash for s in samples], dtype=np.uint64)
    digests = [s.digest for s in samples]
    for start in range(0, len(hashes), 512):
        block = hashes[start:start + 512]
        near = np.bitwise_count(block[:, None] ^ hashes[None, :]) <= NEAR_BITS
        for a, b in zip(*np.nonzero(near)):
            i, j = start + int(a), int(b)
            if i < j and digests[i] != digests[j] and _thumb_distance(samples[i], samples[j]) <= NEAR_LEVELS:
                pairs.append((i, j, False))
    return pairs


def _thumb_distance(a: Sample, b: Sample) -> float:
    return float(np.abs(np.frombuffer(a.thumb, np.uint8).astype(np.int16) - np.frombuffer(b.thumb, np.uint8)).mean())


def duplicates_and_leakage(index, splits, samples, kinds):
    """Same or nearly the same picture twice: across splits it inflates validation accuracy (leakage)."""
    found = defaultdict(list)
    order = {"train": 0, "valid": 1, "test": 2}
    for i, j, exact in _similar_pairs(samples):
        a, b = sorted((samples[i], samples[j]), key=lambda s: (order.get(s.split, 3), s.path))
        if a.label != b.label:
            found["label_conflict"].append([a.path, b.path])
        if a.split != b.split:
            found["leakage"].append([a.path, b.path])
        else:
            found["duplicates" if exact else "near_duplicates"].append([a.path, b.path])
    messages = {
        "leakage": "{n} picture(s) appear in more than one split (identical or nearly identical files, pairs below). "
                   "The validation accuracy would be too optimistic: delete one file of each pair.",
        "duplicates": "{n} pair(s) of identical files within a split. They count twice in training; delete the copies.",
        "near_duplicates": "{n} pair(s) of nearly identical pictures within a split (resized or re-saved copies, or "
                           "burst shots). Usually harmless; remove copies if they are accidental.",
        "label_conflict": "{n} pair(s) of the same picture filed under different classes. One of each pair is "
                          "probably in the wrong folder.",
    }
    for kind, message in messages.items():
        if found[kind]:
            yield warning(kind, message.format(n=len(found[kind])), sorted(found[kind]))


RULES: list[Callable] = [
    empty_classes, unknown_classes, missing_in_valid, unsplit_classes, few_images, imbalance, tiny_images,
    duplicates_and_leakage,
]
