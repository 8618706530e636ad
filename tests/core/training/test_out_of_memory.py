"""A CUDA out-of-memory error halves the batch and the run goes on, with the steps left recounted from the images
that really train (simulated: no GPU is needed to test it)."""
import json
import shutil

import pytest
import torch

import core.training.trainer as trainer
from core import EpochDone, Message, RunFinished, StepDone, TrainConfig, train


@pytest.fixture
def small_memory(monkeypatch):
    """The real classifier, whose head 'runs out of GPU memory' on more than 4 training images at once while
    `armed["on"]` holds."""
    armed = {"on": True}
    real_build = trainer.build_classifier

    def build_with_small_memory(*args, **kwargs):
        model = real_build(*args, **kwargs)
        forward = model.head.forward

        def limited(x):
            if armed["on"] and model.head.training and len(x) > 4:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return forward(x)

        model.head.forward = limited
        return model

    monkeypatch.setattr(trainer, "build_classifier", build_with_small_memory)
    return armed


def test_out_of_memory_halves_the_batch_and_the_run_finishes(tiny_dataset, tmp_path, small_memory):
    config = TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "runs"), freeze="frozen", epochs=3, batch=16,
                         views=1, image_size=64, patience=0)
    events = list(train(config))
    warnings = [e.text for e in events if isinstance(e, Message) and "ran out of memory" in e.text]
    assert len(warnings) == 2 and "16 images per step: continuing with 8" in warnings[0]
    assert "8 images per step: continuing with 4" in warnings[1]
    assert isinstance(events[-1], RunFinished) and events[-1].epochs_run == 3
    steps = [e for e in events if isinstance(e, StepDone)]
    assert (steps[-1].step, steps[-1].total_steps) == (30, 30)  # 40 images, 4 per step, 3 epochs
    peak = max(e.lr for e in steps)  # the one-cycle schedule is spread over the 30 steps, not spent in the first 9
    assert steps[15].lr > 0.3 * peak and steps[-1].lr < 0.1 * peak
    saved = json.loads((tmp_path / "runs" / events[-1].run_id / "config.json").read_text())
    assert saved["batch"] == 4


def test_steps_left_after_halving_count_only_the_readable_images(tiny_dataset, tmp_path, small_memory):
    data = shutil.copytree(tiny_dataset, tmp_path / "data")
    for name in ("bad1.jpg", "bad2.jpg"):  # 42 training files, 40 of them pictures
        (data / "train" / "circle" / name).write_bytes(b"\xff\xd8 not really a jpeg")
    small_memory["on"] = False
    config = TrainConfig(data=str(data), out=str(tmp_path / "runs"), freeze="finetune", epochs=2, batch=8,
                         image_size=32, patience=0)
    events = []
    for event in train(config):
        events.append(event)
        if isinstance(event, EpochDone):
            small_memory["on"] = True  # out of memory from the first step of epoch 2, when both bad files are known
    assert any(isinstance(e, Message) and "continuing with 4" in e.text for e in events)
    steps = [e for e in events if isinstance(e, StepDone)]
    first_epoch = sum(1 for e in steps if e.epoch == 1)
    assert sum(1 for e in steps if e.epoch == 2) == 10  # 40 readable images, 4 per step
    assert steps[-1].total_steps == steps[-1].step == first_epoch + 10
