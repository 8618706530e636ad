"""Fine-tuning speed of every registry backbone on this machine: the figure the automatic recipe and the ETA use.

    python bench/finetune_rates.py [--backbones a,b] [--steps 3] [--batch 32]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default=",".join(BACKBONES))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "finetune_rates.json"))
    args = parser.parse_args()
    configure_torch()
    report = {"cpu_threads": cpu_threads(), "torch_threads": torch.get_num_threads(), "batch": args.batch,
              "backbones": {}}
    for name in args.backbones.split(","):
        report["backbones"][name] = rate(name, args.steps, args.batch)
        print(name, report["backbones"][name], flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
