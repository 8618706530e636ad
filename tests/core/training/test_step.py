"""CPU micro-batches: the same update as one full batch, used only when no layer depends on the batch."""
import torch
from torch import nn

from core.models.classifier import build_classifier
from core.training.step import CPU_MICRO_BATCH, micro_batch, optimizer_step


def _update(micro, weight=None):
    torch.manual_seed(0)
    model = build_classifier("efficientnet_lite0", 3, False, 64, head="linear", dropout=0.0).train()
    model.backbone.eval()  # no stochastic depth: its random masks would differ between the two ways of batching
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    loss_fn = nn.CrossEntropyLoss(weight=weight, reduction="sum")
    x, y = torch.randn(20, 3, 64, 64), torch.arange(20) % 3
    logits, loss = optimizer_step(model, optimizer, scaler, loss_fn, weight, x, y, micro)
    return model.state_dict(), logits, loss


def test_micro_batches_give_the_same_step_as_one_batch():
    for weight in (None, torch.tensor([1.0, 2.0, 0.5])):
        full, full_logits, full_loss = _update(None, weight)
        micro, micro_logits, micro_loss = _update(CPU_MICRO_BATCH, weight)
        assert torch.allclose(full_loss, micro_loss, atol=1e-5)
        assert torch.allclose(full_logits, micro_logits, atol=1e-4)
        assert all(torch.allclose(full[k].float(), micro[k].float(), atol=1e-5) for k in full)
    _, logits, loss = _update(None)
    assert torch.allclose(loss, nn.functional.cross_entropy(logits, torch.arange(20) % 3), atol=1e-5), (
        "the reported loss is the batch mean")


def test_micro_batches_only_where_batchnorm_statistics_are_frozen():
    device = torch.device("cpu")
    pretrained = build_classifier("efficientnet_lite0", 3, False, 64).train()
    assert micro_batch(device, pretrained) == CPU_MICRO_BATCH
    assert micro_batch(device, build_classifier("scratch_cnn", 3, False, 64).train()) is None
    assert micro_batch(device, build_classifier("efficientnet_lite0", 3, False, 64, head="bn_mlp").train()) is None
    assert micro_batch(torch.device("cuda"), pretrained) is None
