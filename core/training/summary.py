"""Model summary before training: parameters in total and trainable, size, input, and torchinfo's layer table."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from core.config import TrainConfig, freeze_mode
from core.models.classifier import build_classifier


@dataclass(frozen=True)
class ModelSummary:
    """What a user should know about a model before training it."""

    backbone: str
    head: str
    classes: int
    input_size: tuple[int, int, int, int]
    total_params: int
    trainable_params: int
    trainable_params_stage2: int | None
    size_mb: float
    table: str

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(config: TrainConfig, classes: int) -> ModelSummary:
    """Summarise the model `config` builds (random weights: nothing is loaded); `config.freeze` must be resolved."""
    from torchinfo import summary

    mode = freeze_mode(config.freeze)
    model = build_classifier(config.backbone, classes, mode.starts_frozen, config.image_size, pretrained=False,
                             head=config.head, hidden=config.hidden, dropout=config.dropout)
    size = (1, 3, config.image_size, config.image_size)
    stats = summary(model, input_size=size, depth=2, verbose=0, mode="eval", device="cpu",
                    col_names=("output_size", "num_params", "trainable"))
    total = sum(p.numel() for p in model.parameters())
    stage2 = None
    if mode.top_only:
        from core.models.backbones import get_backbone
        from core.models.split import split_backbone

        top = split_backbone(get_backbone(config.backbone), model.backbone)[1]
        stage2 = sum(p.numel() for p in top.parameters()) + sum(p.numel() for p in model.head.parameters())
    elif mode.has_second_stage:
        stage2 = total
    return ModelSummary(
        backbone=config.backbone, head=config.head, classes=classes, input_size=size,
        total_params=total, trainable_params=int(stats.trainable_params),
        trainable_params_stage2=stage2,
        size_mb=round(sum(p.numel() * p.element_size() for p in model.parameters()) / 1e6, 1), table=str(stats),
    )
