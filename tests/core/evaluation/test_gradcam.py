"""Grad-CAM points at the object: on a picture whose shape sits at a known place, the heatmap peaks on it."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.data.demo import _background, _contrasting_colour, _polygon
from core.data.transforms import eval_transform
from core.evaluation.gradcam import CamUnavailable, cam_layer, gradcam, overlay
from core.inference.predict import load_predictor
from core.models.backbones import BACKBONES
from core.models.classifier import build_classifier

SIZE, RADIUS = 160, 28


def _star_at(rng, cx: float, cy: float) -> Image.Image:
    """A demo-style picture (gradient, clutter, noise) with one star of radius RADIUS centred at (cx, cy)."""
    big = SIZE * 4
    img = _background(rng, SIZE).resize((big, big), Image.BILINEAR)
    ImageDraw.Draw(img).polygon(_polygon("star", cx * 4, cy * 4, RADIUS * 4, 0.3),
                                fill=_contrasting_colour(rng, np.asarray(img)))
    noisy = np.asarray(img.resize((SIZE, SIZE), Image.LANCZOS), dtype=np.float32) + rng.normal(0, 8, (SIZE, SIZE, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("cx, cy", [(45, 45), (115, 45), (45, 115), (115, 115)])
def test_the_heatmap_peaks_on_the_star_wherever_it_is(frozen_run, cx, cy):
    predictor = load_predictor(frozen_run.run_dir)
    image = _star_at(np.random.default_rng(cx * 7 + cy), cx, cy)
    x = eval_transform(224, [127 / 255] * 3, [128 / 255] * 3)(image)[None]  # 160 -> 256 px, centre 224
    heat, target = gradcam(predictor.model, "efficientnet_lite0", x, predictor.classes.index("star"))
    assert heat.shape == (224, 224) and heat.max() == pytest.approx(1.0)
    peak_y, peak_x = np.unravel_index(heat.argmax(), heat.shape)
    star_x, star_y, radius = cx * 1.6 - 16, cy * 1.6 - 16, RADIUS * 1.6
    assert np.hypot(peak_x - star_x, peak_y - star_y) < radius  # on the star, not somewhere in the picture
    assert overlay(image, heat).size == (224, 224)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_every_backbone_names_a_layer_it_has_or_says_it_has_none(name):
    model = build_classifier(name, 3, True, BACKBONES[name].fixed_size or 64, pretrained=False)
    if BACKBONES[name].cam_layer is None:
        with pytest.raises(CamUnavailable, match="no convolutional map"):
            cam_layer(name, model.backbone)
        return
    layer = cam_layer(name, model.backbone)
    heat, target = gradcam(model, name, torch_input(BACKBONES[name].fixed_size or 64))
    assert layer is not None and heat.shape == (BACKBONES[name].fixed_size or 64,) * 2 and 0 <= target < 3


def torch_input(size: int):
    import torch

    return torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
