"""A run's curves depend on its seed alone: not on another run training in the same process at the same time,
and training never changes process-wide torch settings."""
import threading

import pytest
import torch

from core import EpochDone, StepDone, TrainConfig, train
from core.training.rng import RunRandom


def _curve(config: TrainConfig) -> list[float]:
    """Every step's training loss and every epoch's validation loss."""
    return [e.loss if isinstance(e, StepDone) else e.valid_loss
            for e in train(config) if isinstance(e, (StepDone, EpochDone))]


@pytest.mark.parametrize("settings", [
    {"freeze": "frozen", "epochs": 3, "views": 2, "head": "mlp", "dropout": 0.5},  # augmented views, dropout
    {"freeze": "finetune", "epochs": 1, "augment": "flip,crop,color"},  # augmentation and drop-connect each step
])
def test_two_runs_at_once_draw_the_same_curves_as_one_alone(tiny_dataset, tmp_path, settings):
    def config(name, seed=0):
        return TrainConfig(data=str(tiny_dataset), out=str(tmp_path / name), image_size=64, batch=8, patience=0,
                           seed=seed, **settings)

    alone = _curve(config("alone"))
    curves = {}
    threads = [threading.Thread(target=lambda n=n, s=s: curves.__setitem__(n, _curve(config(n, s))))
               for n, s in (("a", 0), ("b", 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert curves["a"] == alone  # bit-identical while another seed trained beside it
    assert curves["b"] != alone


def test_training_leaves_the_thread_count_and_the_global_rng_as_they_were(tiny_dataset, tmp_path):
    before_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(123)
        expected = torch.rand(3)
        torch.manual_seed(123)
        list(train(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), freeze="frozen", epochs=1, image_size=64)))
        assert torch.get_num_threads() == 1
        assert torch.equal(torch.rand(3), expected)  # no draw from, and no reseed of, the process-wide RNG
    finally:
        torch.set_num_threads(before_threads)


def test_a_run_stream_continues_where_it_left_off_and_puts_the_global_state_back():
    stream = RunRandom(seed=7)
    torch.manual_seed(99)
    with stream.active():
        first = torch.rand(2)
    outside = torch.rand(2)
    with stream.active():
        second = torch.rand(2)
    torch.manual_seed(7)
    assert torch.equal(torch.cat([first, second]), torch.rand(4))
    torch.manual_seed(99)
    assert torch.equal(outside, torch.rand(2))
