"""A CUDA out-of-memory error halves the batch and the run goes on (simulated: no GPU is needed to test it)."""
import json

import torch

import core.training.trainer as trainer
from core import Message, RunFinished, StepDone, TrainConfig, train


def test_out_of_memory_halves_the_batch_and_the_run_finishes(tiny_dataset, tmp_path, monkeypatch):
    real_build = trainer.build_classifier

    def build_with_small_memory(*args, **kwargs):
        """The real classifier, whose head runs out of 'GPU memory' on more than 4 training images at once."""
        model = real_build(*args, **kwargs)
        forward = model.head.forward

        def limited(x):
            if model.head.training and len(x) > 4:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return forward(x)

        model.head.forward = limited
        return model

    monkeypatch.setattr(trainer, "build_classifier", build_with_small_memory)
    config = TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "runs"), freeze="frozen", epochs=3, batch=16,
                         views=1, image_size=64, patience=0)
    events = list(train(config))
    warnings = [e.text for e in events if isinstance(e, Message) and "ran out of memory" in e.text]
    assert len(warnings) == 2 and "16 images per step: continuing with 8" in warnings[0]
    assert "8 images per step: continuing with 4" in warnings[1]
    assert isinstance(events[-1], RunFinished) and events[-1].epochs_run == 3
    steps = [e for e in events if isinstance(e, StepDone)]
    assert (steps[-1].step, steps[-1].total_steps) == (30, 30)  # 40 images, 4 per step, 3 epochs
    saved = json.loads((tmp_path / "runs" / events[-1].run_id / "config.json").read_text())
    assert saved["batch"] == 4
