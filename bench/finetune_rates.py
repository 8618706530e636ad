"""Fine-tuning speed of every registry backbone on this machine: the figure the automatic recipe and the ETA use.

    python bench/finetune_rates.py [--backbones a,b] [--steps 3] [--batch 32] [--top-only]

Two figures per backbone: every layer on images (`finetune_img_s`), and its top alone on the activations where
the top begins (`TopCut.img_s`: what fine-tuning the top layers costs per image once those are cached), in the
same process, one after the other; their ratio is what the top-layers recipe saves.

Each backbone is built as training builds it (its BatchNorm rewrites, channels-last, pretrained BatchNorm
statistics kept; random weights, which cost the same), then timed over `steps` optimizer steps on random
224-px images after one warm-up step, in this process's threads. Compare `images_per_s` with
`BackboneSpec.finetune_img_s` (the 2-core figure) in core/models/backbones.py.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from core.models.backbones import BACKBONES  # noqa: E402
from core.models.classifier import build_classifier  # noqa: E402
from core.system import configure_torch, cpu_threads  # noqa: E402
from core.training.step import micro_batch, optimizer_step  # noqa: E402


def rate(name: str, steps: int, batch: int, size: int = 224) -> dict:
    """Median images/s of one optimizer step over every layer of `name`."""
    spec = BACKBONES[name]
    size = spec.fixed_size or size
    model = build_classifier(name, 4, False, size, pretrained=False).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    x = torch.randn(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 4, (batch,))
    micro = micro_batch(torch.device("cpu"), model)
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        optimizer_step(model, optimizer, scaler, loss_fn, None, x, y, micro)
        times.append(time.perf_counter() - t0)
    return {"images_per_s": round(batch / statistics.median(times[1:]), 2), "registry_figure": spec.finetune_img_s,
            "image_size": size}


def top_rate(name: str, steps: int, batch: int, size: int = 224) -> dict | None:
    """Median images/s of one optimizer step of the top and head on activations at the registry's cut."""
    from core.models.split import split_backbone
    from core.training.stages import top_classifier

    spec = BACKBONES[name]
    if spec.top is None:
        return None
    model = build_classifier(name, 4, True, size, pretrained=False)
    module = top_classifier(model, spec).to(memory_format=torch.channels_last).train()
    bottom, _ = split_backbone(spec, model.backbone)
    with torch.no_grad():
        x = bottom.eval()(torch.randn(batch, 3, size, size)).contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    y = torch.randint(0, 4, (batch,))
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        optimizer_step(module, optimizer, scaler, loss_fn, None, x, y, None)
        times.append(time.perf_counter() - t0)
    return {"images_per_s": round(batch / statistics.median(times[1:]), 2), "registry_figure": spec.top.img_s,
            "cut": spec.top.module}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default=",".join(BACKBONES))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "finetune_rates.json"))
    parser.add_argument("--top-only", action="store_true", help="measure only the tops on cached activations")
    args = parser.parse_args()
    configure_torch()
    report = {"cpu_threads": cpu_threads(), "torch_threads": torch.get_num_threads(), "batch": args.batch,
              "backbones": {}}
    for name in args.backbones.split(","):
        row = {} if args.top_only else rate(name, args.steps, args.batch)
        row["top"] = top_rate(name, max(args.steps, 5), args.batch)
        if row["top"] and "images_per_s" in row:
            row["top"]["times_every_layer"] = round(row["top"]["images_per_s"] / row["images_per_s"], 1)
        report["backbones"][name] = row
        print(name, row, flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
