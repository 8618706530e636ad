"""A Hugging Face Space (Gradio) for an image classifier exported by Transfer Studio: `python app.py`.

This file is a template: core.export.space copies it into a Space folder as app.py, beside the ONNX bundle's
predict.py, model.onnx, labels.json, preprocessing.json and calibration.json; Transfer Studio never imports it.
It needs gradio, onnxruntime, pillow and numpy only, and answers exactly as `python predict.py picture.jpg` does:
the same decoding (load_rgb) and the same model (predict.Model). It listens where GRADIO_SERVER_NAME and
GRADIO_SERVER_PORT say (as on a Space), and serves nothing of its folder.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import gradio as gr
from predict import Model, UnreadableImage, load_rgb

FOLDER = Path(__file__).resolve().parent
TOP = 3
MAX_FILE_SIZE = "20mb"
DELETE_UPLOADS = (3600, 3600)  # every hour, remove uploads older than an hour


def front_matter_title(readme: Path, default: str = "Image classifier") -> str:
    """The Space's title from README.md's front matter (a JSON-quoted `title:` line), else `default`."""
    try:
        lines = readme.read_text(encoding="utf-8").split("\n---", 1)[0].splitlines()
    except OSError:
        return default
    title = next((line[len("title:"):].strip() for line in lines if line.startswith("title:")), "")
    try:
        return str(json.loads(title)) if title.startswith('"') else title or default
    except ValueError:
        return default


def not_sure_line(answer: dict, threshold: float | None) -> str:
    """The sentence under the answer: "not sure" when the top calibrated probability is below the threshold."""
    label, probability = answer["top"][0]
    if answer["not_sure"]:
        return (f"**Not sure.** The best guess is {label} at {probability:.0%}, under the {threshold:.0%} this "
                "model needs to be confident: the picture may show none of its classes.")
    return f"{label} ({probability:.0%})."


def describe(model: Model) -> str:
    """The short description above the app: the classes and what the answer means."""
    sure = (f" Below {model.threshold:.0%} for the top class the answer is marked *not sure*."
            if model.threshold is not None else "")
    return (f"Recognises {len(model.labels)} classes: {', '.join(map(str, model.labels))}. Upload a picture, take "
            f"one with the webcam or paste one: the {TOP} most likely classes come back with calibrated "
            f"probabilities.{sure} Exported by Transfer Studio; see the model card in README.md.")


def build(folder: Path = FOLDER) -> gr.Interface:
    """The Space's interface on the model of `folder`."""
    model = Model(folder)

    def classify(path: str | None) -> tuple[dict[str, float], str]:
        """The top classes of one uploaded picture (its original file, decoded as predict.py does)."""
        if not path:
            raise gr.Error("Give a picture first.")
        try:
            answer = model.answer(load_rgb(path), TOP)
        except (OSError, ValueError) as err:  # the reason predict.py gives, never a path of this server
            reason = str(err) if isinstance(err, UnreadableImage) else type(err).__name__
            raise gr.Error(f"This file is not a picture the model can read: {reason}") from None
        return {str(label): p for label, p in answer["top"]}, not_sure_line(answer, model.threshold)

    return gr.Interface(
        fn=classify,
        inputs=gr.Image(type="filepath", image_mode=None, sources=["upload", "webcam", "clipboard"],
                        label="Picture"),
        outputs=[gr.Label(num_top_classes=TOP, label="Answer"), gr.Markdown()],
        title=html.escape(front_matter_title(folder / "README.md")), description=describe(model), flagging_mode="never",
        api_name="predict", delete_cache=DELETE_UPLOADS,
    )


if __name__ == "__main__":
    build().launch(max_file_size=MAX_FILE_SIZE)
