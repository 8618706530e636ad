"""Data-parallel training under torchrun: one process per GPU (NCCL) or per CPU worker (gloo).

    torchrun --nproc_per_node 2 -m core train --data DIR ...

Every process trains the same model on its share of each epoch's batches (DDP averages the gradients); every
process validates on all of the validation images, so all of them take the same decisions; only rank 0 writes
the run folder, and only its events are printed.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class Cluster:
    """This process's place among the torchrun workers (a lone process is rank 0 of 1)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def device(self, device: torch.device) -> torch.device:
        """One GPU per process on CUDA."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" and self.active else device

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """The module DistributedDataParallel-wrapped for training (averaged gradients), or as it is when alone."""
        if not self.active:
            return module
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()

    def same_everywhere(self, value):
        """Rank 0's `value` in every process (a plan read from the free disk and memory of this moment, which another
        process could see differently)."""
        if not self.active:
            return value
        box = [value]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def scratch_dir(self, runs_dir: str) -> str:
        """Where this process's run folder goes: the real one on rank 0, a throwaway one elsewhere."""
        return runs_dir if self.main else tempfile.mkdtemp(prefix=f"transfer-studio-rank{self.rank}-")

    def cleanup(self, runs_dir: str) -> None:
        if not self.main and Path(runs_dir).name.startswith(f"transfer-studio-rank{self.rank}-"):
            shutil.rmtree(runs_dir, ignore_errors=True)


def join(device_name: str = "auto") -> Cluster:
    """Join the process group torchrun describes in the environment, or stay a lone process without it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Cluster()
    import torch.distributed as dist

    use_cuda = torch.cuda.is_available() and device_name != "cpu"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
    return Cluster(dist.get_rank(), dist.get_world_size(), local_rank)


def leave() -> None:
    """Close the process group, if one was joined."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def torchrun_command(cli_args: list[str], processes: int = 2) -> str:
    """The torchrun line that runs the same training data-parallel over `processes` workers."""
    return " ".join(["torchrun", "--nproc_per_node", str(processes), "-m", "core", "train", *cli_args])
