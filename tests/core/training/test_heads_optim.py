import itertools

import pytest
import torch

from core.models.heads import HEADS, build_head
from core.training.optim import OPTIMIZERS, SCHEDULERS, make_optimizer, make_scheduler


@pytest.mark.parametrize("head, optimizer, scheduler", list(itertools.product(HEADS, OPTIMIZERS, SCHEDULERS)))
def test_every_head_trains_with_every_optimizer_and_schedule(head, optimizer, scheduler):
    torch.manual_seed(0)
    model = build_head(head, 32, 5, hidden=16, dropout=0.1)
    x, y = torch.randn(16, 32), torch.randint(0, 5, (16,))
    opt = make_optimizer(optimizer, [{"params": list(model.parameters()), "lr": 0.05}], weight_decay=0.01)
    sched = make_scheduler(scheduler, opt, total_steps=30)
    before = [p.detach().clone() for p in model.parameters()]
    lrs = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        lrs.append(opt.param_groups[0]["lr"])
        sched.step() if len(lrs) < 30 else None
    assert model(x).shape == (16, 5) and torch.isfinite(loss)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert max(lrs) <= 0.05 + 1e-12
    if scheduler == "none":
        assert set(lrs) == {0.05}
    else:
        assert lrs[-1] < 0.05 * 0.5, "every schedule ends well below its peak"


def test_heads_are_the_documented_layers_and_output_logits():
    kinds = {name: [type(m).__name__ for m in build_head(name, 8, 3, hidden=4)] for name in HEADS}
    assert kinds["linear"] == ["Dropout", "Linear"]
    assert kinds["mlp"] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert kinds["bn_mlp"] == ["BatchNorm1d", "Dropout", "Linear", "ReLU", "BatchNorm1d", "Dropout", "Linear"]
    out = build_head("mlp", 8, 3).eval()(torch.randn(2, 8))
    assert not torch.allclose(out.sum(1), torch.ones(2)), "heads return logits, not probabilities"


def test_the_optimizers_and_schedules_offered_are_the_ones_implemented():
    from core.config import OPTIMIZER_TITLES, SCHEDULER_TITLES

    assert list(OPTIMIZERS) == list(OPTIMIZER_TITLES) and list(SCHEDULERS) == list(SCHEDULER_TITLES)
