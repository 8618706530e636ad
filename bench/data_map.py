"""Time the dataset map and measure how well each layout keeps neighbours, on 1,797 and 10,000 real picture files.

The 1,797 are scikit-learn's handwritten digit scans (every one, bench.real_data.digits_dataset); the 10,000 are
the same scans each drawn again several times with a small seeded rotation, shift, scale and noise. For each size:
the feature pass once (cold, empty cache), then with the features cached: every layout method (and UMAP when
umap-learn is installed by hand: it is not a dependency), its seconds and its 5-NN class agreement (the share of a
picture's 5 nearest pictures on the map that have its class) against the same in the full feature space; then the
whole map as the app draws it (build_map: features from the cache, flags, layout, facts), timed.

    .venv/bin/python bench/data_map.py [--sizes 1797,10000] [--work /tmp/data-map-bench]

Writes bench/results/data_map.json. The work folder keeps the pictures and the feature cache between runs (a second
run is warm from the start; delete it to measure cold again).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.real_data import digits_dataset  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "data_map.json"


def augmented_digits(root: Path, total: int, seed: int = 0) -> Path:
    """`total` digit pictures in root/<digit>/: every scan once, then seeded variants (rotation, shift, scale, noise)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    for label in range(10):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
    for n in range(total):
        i = n % len(digits.images)
        pixels = (255 - digits.images[i] * (255 / 16)).astype(np.uint8)
        image = Image.fromarray(pixels).resize((32, 32), Image.BICUBIC)
        if n >= len(digits.images):
            scale = rng.uniform(0.85, 1.1)
            side = max(8, round(32 * scale))
            image = image.resize((side, side), Image.BICUBIC).rotate(
                rng.uniform(-15, 15), Image.BICUBIC, fillcolor=255, expand=False)
            canvas = Image.new("L", (32, 32), 255)
            canvas.paste(image, (int((32 - side) / 2 + rng.integers(-2, 3)), int((32 - side) / 2 + rng.integers(-2, 3))))
            noisy = np.asarray(canvas, dtype=np.float32) + rng.normal(0, 8, (32, 32))
            image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        image.save(root / str(digits.target[i]) / f"{n:05d}.png")
    return root


def make_dataset(work: Path, size: int) -> Path:
    """The picture folder for `size` pictures, made once."""
    root = work / f"digits-{size}"
    if not root.is_dir():
        if size == 1797:
            digits_dataset(root, per_class=10_000)
        else:
            augmented_digits(root, size)
    return root


def umap_fit():
    """UMAP's fit as a map method when umap-learn is installed (not a dependency), else None."""
    try:
        import umap
    except ImportError:
        return None

    def fit(features: np.ndarray, seed: int) -> np.ndarray:
        from core.evaluation.map_layout import PCA_DIMS, principal_components

        # unseeded: a seed makes umap-learn single-threaded; n_epochs as umap-learn chooses for large sets
        return umap.UMAP(n_jobs=2, n_epochs=200).fit_transform(principal_components(features, PCA_DIMS, seed))
    return fit


def measure_size(work: Path, size: int, full_tsne_up_to: int) -> dict:
    """Every figure of one size."""
    from core.data.scan import scan_dataset
    from core.evaluation.audit_features import load_features
    from core.evaluation.data_map import DataMap, build_map
    from core.evaluation.map_layout import METHODS, MapMethod, layout, neighbour_agreement

    data = make_dataset(work, size)
    cache = work / "cache"
    index = scan_dataset(data, 0.2, 0)
    start = time.perf_counter()
    features = load_features(index, cache_dir=cache)
    feature_s = time.perf_counter() - start
    x, y = features.features, features.labels
    row: dict = {"pictures": len(features), "feature_pass_s": round(feature_s, 1), "from_cache": features.from_cache,
                 "agreement_full_space": round(neighbour_agreement(x, y, cosine=True), 4), "methods": {}}
    extra = umap_fit()
    if extra is not None:  # registered for this measurement only, so it goes through layout()'s sampling as the others
        METHODS["umap"] = MapMethod("UMAP (umap-learn, not pinned)", extra, True)
    try:
        for name in list(METHODS):
            caps = [len(x)] if METHODS[name].cap is None or len(x) <= METHODS[name].cap else [
                METHODS[name].cap] + ([len(x)] if name != "tsne" or len(x) <= full_tsne_up_to else [])
            for cap in caps:
                key = name if cap >= len(x) else f"{name} (sample of {cap}, rest placed)"
                start = time.perf_counter()
                result = layout(x, name, cap=cap)
                row["methods"][key] = {"seconds": round(time.perf_counter() - start, 2),
                                       "agreement_5nn": round(neighbour_agreement(result.xy, y), 4)}
                print(size, key, row["methods"][key], flush=True)
    finally:
        METHODS.pop("umap", None)
    start = time.perf_counter()
    data_map = next(x for x in build_map(data, cache_dir=cache) if isinstance(x, DataMap))
    row["map_warm_s"] = round(time.perf_counter() - start, 2)
    row["map_timings"] = {k: round(v, 2) for k, v in data_map.timings.items()}
    row["map_sampled"] = data_map.laid_out < len(data_map.points)
    row["map_agreement"] = data_map.agreement
    row["flags"] = {flag: sum(flag in p.flags for p in data_map.points)
                    for flag in ("suspect", "outlier", "duplicate", "test")}
    print(size, "map", row["map_warm_s"], row["map_timings"], flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1797,10000")
    parser.add_argument("--work", default="/tmp/data-map-bench")
    parser.add_argument("--full-tsne-up-to", type=int, default=10_000,
                        help="also lay out every picture with t-SNE (no sample) up to this many, for comparison")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TRANSFER_STUDIO_CACHE", str(work / "cache"))
    results = {"machine": f"{os.cpu_count()} cores", "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        results["sizes"][str(size)] = measure_size(work, size, args.full_tsne_up_to)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
