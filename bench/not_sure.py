"""How often the model says "not sure" on its own kind of pictures, and on pictures of none of its classes.

    python bench/not_sure.py

Trains the one-click recipe on the generated shapes demo, then predicts its validation pictures (its classes)
and 96-px patches of scikit-image's photographs (bricks, grass, gravel, a camera man, coffee, rocks: none of its
classes), and reports the share answered "not sure" in each.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from core import RunFinished, TrainConfig, train  # noqa: E402
from core.data.demo import make_shapes_dataset  # noqa: E402
from core.inference.predict import load_predictor  # noqa: E402
from core.system import configure_torch  # noqa: E402

PHOTOS = ("brick", "grass", "gravel", "camera", "coffee", "rocket", "astronaut", "chelsea")


def foreign_patches(per_photo: int = 8, side: int = 96) -> list[Image.Image]:
    """Patches of photographs that show none of the shapes."""
    from skimage import data

    patches = []
    for name in PHOTOS:
        array = getattr(data, name)()
        image = Image.fromarray(array).convert("RGB")
        w, h = image.size
        for i in range(per_photo):
            x, y = (i * 37) % max(1, w - side), (i * 53) % max(1, h - side)
            patches.append(image.crop((x, y, x + side, y + side)))
    return patches


def main() -> None:
    configure_torch()
    with tempfile.TemporaryDirectory() as tmp:
        data = make_shapes_dataset(Path(tmp) / "shapes")
        finished = [e for e in train(TrainConfig(data=str(data), out=str(Path(tmp) / "runs")))][-1]
        assert isinstance(finished, RunFinished)
        predictor = load_predictor(finished.run_dir)
        own = [p for folder in (data / "valid").iterdir() for p in folder.iterdir()]
        own_answers = predictor.answer(own)
        foreign_answers = predictor.answer(foreign_patches())
    report = {
        "temperature": predictor.temperature, "threshold": predictor.threshold,
        "own_pictures": len(own_answers), "own_not_sure": sum(not a.sure for a in own_answers) / len(own_answers),
        "foreign_pictures": len(foreign_answers),
        "foreign_not_sure": sum(not a.sure for a in foreign_answers) / len(foreign_answers),
        "foreign_mean_top_probability": sum(a.top[0][1] for a in foreign_answers) / len(foreign_answers),
    }
    print(json.dumps(report, indent=2))
    out = Path(__file__).parent / "results" / "not_sure.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
