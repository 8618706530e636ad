"""Predict tab: choose a run, drop images (or paste, or draw one) and see the top classes for each."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
from PIL import Image

from core.errors import CheckpointError
from gui import words
from gui.context import AppContext
from gui.limits import TOP_K
from gui.tabs import predict_folder

WEBCAM_EVERY_S = 0.1  # frames sent to the model at most this often while the webcam streams
WEBCAM_LIMIT_S = 600  # a stream is closed after this long; the user starts it again
NEWEST = ""  # the run picker's standing choice: whichever run is newest when the prediction is made


def with_readable_errors(image: gr.Image) -> gr.Image:
    """Gradio opens an upload before any handler sees it: an unreadable one gets a sentence, not a stack trace.

    Wrapped per instance, because subclassing a Gradio component makes Gradio write a .pyi file next to this one.
    """
    original = image.preprocess

    def preprocess(payload):
        try:
            return original(payload)
        except Exception as err:  # whatever Pillow raised inside Gradio: the file is not a usable image
            name = getattr(payload, "orig_name", None) or words.THIS_FILE
            bomb = isinstance(err, Image.DecompressionBombError)  # refused from its header, before any decoding
            raise gr.Error((words.TOO_MANY_PIXELS if bomb else words.NOT_AN_IMAGE).format(name=name)) from err

    image.preprocess = preprocess
    return image


def run_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """The newest run first, as a standing choice, then every run by name."""
    return [(words.NEWEST_RUN, NEWEST)] + [(run.label(), run.run_id) for run in ctx.runs()]


def _answers(ctx: AppContext, run_id: str | None, images: list,
             source: str | None = "predict") -> list[tuple[dict[str, float] | str, bool]]:
    """Per image: its top-k as a gr.Label dict (or a sentence if it could not be read), and whether the model is
    sure of it (its calibrated top probability reaches the run's threshold); each answered image is kept when the
    owner keeps pictures (as coming from `source`; None: never)."""
    from core.data.images import UnreadableImage

    run = ctx.run_by_id(run_id)
    predictor = ctx.predictors.get(run.path)
    results = []
    for image in images:
        try:
            answer = predictor.answer([image], k=TOP_K)[0]
            results.append((dict(answer.top), answer.sure))
            if source:
                ctx.keeper.keep(image, run.run_id, answer.top, answer.sure, source)
        except UnreadableImage as err:
            name = Path(image).name if isinstance(image, (str, Path)) else words.THIS_IMAGE
            results.append((words.CANNOT_USE.format(name=name, reason=err.reason), True))
    return results


def _confidences(ctx: AppContext, run_id: str | None, images: list,
                 source: str | None = "predict") -> list[dict[str, float] | str]:
    """Top-k per image as a gr.Label dict, or a sentence for an image that could not be read."""
    return [result for result, _ in _answers(ctx, run_id, images, source)]


def predict_one(ctx: AppContext, image: str | None, run_id: str | None, source: str = "predict"):
    """The `predict` endpoint: one image file -> top-k label confidences."""
    if image is None:
        return None
    try:
        result = _confidences(ctx, run_id, [image], source)[0]
    except (LookupError, CheckpointError) as err:
        raise gr.Error(str(err)) from None
    if isinstance(result, str):
        raise gr.Error(result)
    return result


def predict_sketch(ctx: AppContext, sketch: dict | None, run_id: str | None):
    """A drawing from the sketchpad, flattened onto white."""
    composite = (sketch or {}).get("composite")
    if composite is None:
        return None
    background = Image.new("RGBA", composite.size, "white")
    image = Image.alpha_composite(background, composite.convert("RGBA")).convert("RGB")
    try:
        return _confidences(ctx, run_id, [image], source=None)[0]  # every stroke is answered: drawings are not kept
    except (LookupError, CheckpointError) as err:
        raise gr.Error(str(err)) from None


def answer_one(ctx: AppContext, image: str | None, run_id: str | None, source: str = "predict") -> dict | None:
    """The `answer` endpoint: one image file -> {"not_sure": bool, "top": [{"label", "confidence"}, ...]}, the
    `predict` endpoint's answer with the field scripts need to tell a guess from an answer."""
    if image is None:
        return None
    try:
        ((result, sure),) = _answers(ctx, run_id, [image], source)
    except (LookupError, CheckpointError) as err:
        raise gr.Error(str(err)) from None
    if isinstance(result, str):
        raise gr.Error(result)
    return {"not_sure": not sure, "top": [{"label": label, "confidence": p} for label, p in result.items()]}


def sure_note(ctx: AppContext, image, run_id: str | None, source: str = "predict") -> str:
    """"Not sure" under the single picture's answer when its calibrated top probability is below the threshold."""
    if image is None:
        return ""
    try:
        ((result, sure),) = _answers(ctx, run_id, [image], source)
    except (LookupError, CheckpointError):
        return ""
    return words.NOT_SURE if not sure and not isinstance(result, str) else ""


def looked_at(ctx: AppContext, image, run_id: str | None):
    """The picture (a path) cropped as the model sees it, with its Grad-CAM heatmap for the predicted class;
    CamUnavailable when the backbone has no convolutional map."""
    from core.data.images import load_image
    from core.data.transforms import eval_resize_crop, eval_transform
    from core.evaluation.gradcam import gradcam, overlay

    predictor = ctx.predictors.get(ctx.run_by_id(run_id).path)
    meta, picture = predictor.meta, load_image(image)
    x = eval_transform(meta.image_size, meta.mean, meta.std)(picture)[None]
    heat, _ = gradcam(predictor.model, meta.backbone, x)
    return overlay(eval_resize_crop(meta.image_size)(picture), heat)


def _gallery_panel(ctx: AppContext, run: gr.Dropdown) -> None:
    """Dropped images, each drawn with its answer (and "not sure" where the model is not)."""
    files = gr.File(file_count="multiple", file_types=["image"], type="filepath",
                    label=words.DROP_IMAGES, elem_id="predict-files")
    results = gr.State([])

    @gr.render(inputs=results)
    def show(items):
        if not items:
            return
        with gr.Row(equal_height=False):
            for path, result, sure in items:
                with gr.Column(min_width=200, elem_classes=["prediction"]):
                    gr.Image(path, show_label=False, height=160, interactive=False)
                    if isinstance(result, str):
                        gr.Markdown(words.WARN.format(result))
                    else:
                        if not sure:
                            gr.Markdown(words.NOT_SURE, elem_classes=["not-sure"])
                        gr.Label(result, num_top_classes=TOP_K, show_label=False, elem_classes=["prediction-label"])

    def predict_many(images, run):
        if not images:
            return []
        if len(images) > ctx.max_files:
            raise gr.Error(words.TOO_MANY_FILES.format(count=len(images), most=ctx.max_files))
        try:
            return [(image, result, sure) for image, (result, sure) in zip(images, _answers(ctx, run, images))]
        except (LookupError, CheckpointError) as err:
            raise gr.Error(str(err)) from None

    files.change(predict_many, [files, run], results, api_visibility="private")
    run.input(predict_many, [files, run], results, api_visibility="private")


def _single_panel(ctx: AppContext, run: gr.Dropdown) -> None:
    """One pasted or uploaded picture: its answer, "not sure", where the model looked; the `predict` and `answer`
    endpoints."""
    single = with_readable_errors(gr.Image(
        type="filepath", image_mode=None, sources=["upload", "clipboard"], label=words.PASTE_IMAGE,
        height=240, elem_id="predict-single",
    ))
    single_label = gr.Label(num_top_classes=TOP_K, label=words.PREDICTION, elem_id="single-label")
    single_note = gr.Markdown(elem_id="single-not-sure")
    single_answer = gr.JSON(visible=False)  # the `answer` endpoint's output, for scripts
    show_cam = gr.Checkbox(False, label=words.SHOW_CAM_SINGLE, elem_id="single-cam")
    cam_image = gr.Image(label=words.CAM_IMAGE, interactive=False, visible=False, height=240,
                         elem_id="single-cam-image")

    def predict(image, run):
        return predict_one(ctx, image, run)

    def answer(image, run):
        return answer_one(ctx, image, run)

    def look(image, run, wanted):
        if not wanted or image is None:
            return gr.Image(value=None, visible=False)
        try:
            return gr.Image(value=looked_at(ctx, image, run), visible=True)
        except (LookupError, CheckpointError, ValueError) as err:  # CamUnavailable is a ValueError
            raise gr.Error(str(err)) from None

    gr.on([single.change, show_cam.change, run.input], look, [single, run, show_cam], cam_image,
          api_visibility="private", show_progress="hidden")
    single.change(lambda image, run: sure_note(ctx, image, run), [single, run], single_note, api_visibility="private",
                  show_progress="hidden")
    single.change(answer, [single, run], single_answer, api_name="answer", show_progress="hidden")
    single.change(predict, [single, run], single_label, api_name="predict")
    run.input(predict, [single, run], single_label, api_visibility="private")


def _sketch_panel(ctx: AppContext, run: gr.Dropdown) -> None:
    """A shape drawn on the sketchpad, answered as it is drawn."""
    sketch = gr.Sketchpad(type="pil", label=words.DRAW_SHAPE, height=240, canvas_size=(320, 320),
                          brush=gr.Brush(default_size=12, colors=["#1f2937", "#e03131", "#1971c2"]))
    sketch_label = gr.Label(num_top_classes=TOP_K, label=words.DRAWING_SEEN)

    def predict_drawing(sketch, run):
        return predict_sketch(ctx, sketch, run)

    sketch.change(predict_drawing, [sketch, run], sketch_label,
                  api_visibility="private", show_progress="hidden", trigger_mode="always_last")


def _webcam_panel(ctx: AppContext, run: gr.Dropdown) -> None:
    """The webcam's frames, answered as they stream (at most every WEBCAM_EVERY_S)."""
    with gr.Accordion(words.WEBCAM_ACCORDION, open=False), gr.Row():
        webcam = gr.Image(sources=["webcam"], streaming=True, type="pil", label=words.WEBCAM, height=240,
                          elem_id="predict-webcam")
        webcam_label = gr.Label(num_top_classes=TOP_K, label=words.WEBCAM_SEEN, elem_id="webcam-label")

    def predict_frame(frame, run, request: gr.Request):
        if frame is None:
            return gr.skip()
        try:
            record = ctx.run_by_id(run)
            frame = frame.convert("RGB")
            answer = ctx.predictors.get(record.path).answer([frame], k=TOP_K)[0]
        except (LookupError, CheckpointError) as err:
            raise gr.Error(str(err)) from None
        ctx.keeper.keep_frame(frame, request.session_hash or "", record.run_id, answer.top, answer.sure)
        return dict(answer.top)

    webcam.stream(predict_frame, [webcam, run], webcam_label, stream_every=WEBCAM_EVERY_S, time_limit=WEBCAM_LIMIT_S,
                  concurrency_limit=None, api_visibility="private", show_progress="hidden")


def build(ctx: AppContext, demo: gr.Blocks) -> gr.Dropdown:
    """Lay out the tab; returns the run picker so training can refresh it."""
    run = gr.Dropdown(choices=run_choices(ctx), value=NEWEST, label=words.TRAINED_RUN,
                      allow_custom_value=True, elem_id="run-picker")
    _gallery_panel(ctx, run)
    with gr.Row():
        with gr.Column():
            _single_panel(ctx, run)
        with gr.Column():
            _sketch_panel(ctx, run)
    _webcam_panel(ctx, run)
    predict_folder.build(ctx, run)
    demo.load(lambda: refresh(ctx), None, run, api_visibility="private")
    return run


def refresh(ctx: AppContext) -> gr.Dropdown:
    """Re-read the runs folder; select the newest run."""
    return gr.Dropdown(choices=run_choices(ctx), value=NEWEST)
