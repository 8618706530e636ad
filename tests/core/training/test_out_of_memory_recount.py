"""After a CUDA out-of-memory error the steps left are recounted from the images that really train: unreadable
files already skipped do not count (simulated out-of-memory: no GPU is needed)."""
import shutil

import torch

import core.training.trainer as trainer
from core import EpochDone, Message, StepDone, TrainConfig, train


def test_steps_left_after_halving_count_only_the_readable_images(tiny_dataset, tmp_path, monkeypatch):
    data = shutil.copytree(tiny_dataset, tmp_path / "data")
    for name in ("bad1.jpg", "bad2.jpg"):  # 42 training files, 40 of them pictures
        (data / "train" / "circle" / name).write_bytes(b"\xff\xd8 not really a jpeg")
    armed = {"on": False}
    real_build = trainer.build_classifier

    def build_with_small_memory(*args, **kwargs):
        """The real classifier, whose head 'runs out of GPU memory' on more than 4 images once armed."""
        model = real_build(*args, **kwargs)
        forward = model.head.forward

        def limited(x):
            if armed["on"] and model.head.training and len(x) > 4:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return forward(x)

        model.head.forward = limited
        return model

    monkeypatch.setattr(trainer, "build_classifier", build_with_small_memory)
    config = TrainConfig(data=str(data), out=str(tmp_path / "runs"), freeze="finetune", epochs=2, batch=8,
                         image_size=32, patience=0)
    events = []
    for event in train(config):
        events.append(event)
        if isinstance(event, EpochDone):
            armed["on"] = True  # out of memory from the first step of epoch 2, when both bad files are known
    assert any(isinstance(e, Message) and "continuing with 4" in e.text for e in events)
    steps = [e for e in events if isinstance(e, StepDone)]
    first_epoch = sum(1 for e in steps if e.epoch == 1)
    assert sum(1 for e in steps if e.epoch == 2) == 10  # 40 readable images, 4 per step
    assert steps[-1].total_steps == steps[-1].step == first_epoch + 10
