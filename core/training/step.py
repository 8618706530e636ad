"""One optimizer step, in micro-batches on CPU where that changes nothing but memory and speed."""
from __future__ import annotations

import contextlib

import torch
from torch import nn

from core.system import autocast

CPU_MICRO_BATCH = 8


def micro_batch(device: torch.device, module: nn.Module) -> int | None:
    """On CPU, images go through in groups of CPU_MICRO_BATCH, their gradients summed before the one update:
    the same step when no layer depends on the batch (a BatchNorm in training mode), at a fraction of the peak
    memory of the whole batch (the README's Performance section has the figures)."""
    if device.type != "cpu" or any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training
                                       for m in module.modules()):
        return None
    return CPU_MICRO_BATCH


def optimizer_step(module, optimizer, scaler, loss_fn, weight, x, y, micro: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on a batch, in micro-batches when asked; the mean loss and all logits."""
    total = weight[y].sum() if weight is not None else torch.tensor(float(len(y)), device=y.device)
    parts = list(zip(x.split(micro), y.split(micro))) if micro and len(x) > micro else [(x, y)]
    optimizer.zero_grad(set_to_none=True)
    logits, loss = [], torch.zeros((), device=y.device)
    for i, (xs, ys) in enumerate(parts):
        last = i == len(parts) - 1
        sync = contextlib.nullcontext() if last or not hasattr(module, "no_sync") else module.no_sync()
        with sync:
            with autocast(x.device):
                out = module(xs).float()
            part = loss_fn(out, ys) / total
            scaler.scale(part).backward()
        logits.append(out.detach())
        loss += part.detach()
    scaler.step(optimizer)
    scaler.update()
    return torch.cat(logits), loss
