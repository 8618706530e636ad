"""torchrun: two gloo processes on the CPU train one data-parallel run; only rank 0 writes and prints. One two-stage
run covers both paths: an epoch of the head on the backbone's features, then one of every layer."""
import json
import os
import subprocess
import sys

from core.runstore.checkpoint import load_checkpoint
from core.training.distributed import torchrun_command


def _torchrun(args: list[str], tmp_path, cache) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1",
           "TRANSFER_STUDIO_CACHE": str(cache)}
    # --standalone: the rendezvous store binds port 0 and tells the workers which port it got (nothing to race for)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--local-addr", "127.0.0.1",
               "--nproc_per_node", "2", "-m", "core", "train", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=os.getcwd())


def test_two_gloo_processes_train_one_two_stage_run(tiny_dataset, tmp_path):
    out = tmp_path / "runs"
    done = _torchrun(["--data", str(tiny_dataset), "--out", str(out), "--freeze", "two_stage", "--epochs", "2",
                      "--stage1-epochs", "1", "--when-solved", "continue", "--image-size", "64", "--batch", "8",
                      "--patience", "0", "--views", "1"], tmp_path,
                     tmp_path / "cache")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    epochs = [line for line in lines if line.get("event") == "EpochDone"]
    assert [e["epoch"] for e in epochs] == [1, 2], "rank 0 alone prints, once per epoch"
    assert epochs[-1]["step"] == 2 * 3  # each process takes 20 of the 40 images: steps of 8, 8 and 4
    result = lines[-1]
    assert result["epochs_run"] == 2
    runs = list(out.iterdir())
    assert len(runs) == 1 and (runs[0] / "best.pt").is_file()
    ckpt = load_checkpoint(runs[0] / "best.pt")
    assert ckpt["classes"] == ["circle", "square", "star", "triangle"]
    assert (ckpt["epoch"], ckpt["valid_acc"]) == (result["best_epoch"], result["best_valid_acc"])
    metrics = (runs[0] / "metrics.jsonl").read_text()
    assert "Data-parallel over 2 processes (gloo)" in metrics
    stages = [line["stage"] for line in lines if line.get("event") == "StageStarted"]
    assert stages and stages[-1] == 2, "the second stage (every layer) ran, data-parallel too"


def test_the_torchrun_line_mirrors_the_cli():
    assert torchrun_command(["--data", "d", "--freeze", "frozen"], 4) == (
        "torchrun --nproc_per_node 4 -m core train --data d --freeze frozen")
