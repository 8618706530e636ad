import json
import time
import urllib.error
import urllib.request

import pytest
from gradio_client import Client, handle_file


def _top3(run_dir, image) -> dict[str, float]:
    """What the run itself says about the image, loaded here, outside the app."""
    from core.inference.predict import load_predictor

    return dict(load_predictor(run_dir).predict([image], k=3)[0])


def _same_answer(label: dict, expected: dict[str, float]) -> bool:
    """A gr.Label value (as the client returns it) holds the expected classes, in order, with the same confidences."""
    got = [(c["label"], c["confidence"]) for c in label["confidences"]]
    return (label["label"] == next(iter(expected)) and [name for name, _ in got] == list(expected)
            and all(p == pytest.approx(expected[name], abs=1e-4) for name, p in got))


def test_train_streams_then_predict_through_gradio_client(served_app, tiny_dataset):
    demo, ctx = served_app
    client = Client(demo.local_url, verbose=False)
    job = client.submit(dataset=str(tiny_dataset), freeze="frozen", epochs=8, patience=0, api_name="/train")
    updates = list(job)
    progress, loss_plot, acc_plot, log, status = job.result()
    assert len(updates) >= 3, "training should stream several updates"
    assert status.startswith("Done in ") and ", after 8 epoch(s)." in status, status
    assert "Epoch 8:" in log
    (run,) = ctx.runs()
    per_epoch = {name: [trace["y"] for trace in json.loads(plot["plot"])["data"] if len(trace["y"]) == 8]
                 for name, plot in (("loss", loss_plot), ("accuracy", acc_plot))}
    assert per_epoch["loss"] and per_epoch["accuracy"], "each chart holds a validation point per epoch"
    assert run.best_valid_acc in [max(ys) for ys in per_epoch["accuracy"]], "the best epoch is the one saved"

    image = sorted((tiny_dataset / "valid" / "triangle").iterdir())[0]
    label = client.predict(image=handle_file(str(image)), api_name="/predict")
    assert _same_answer(label, _top3(run.path, image)), "predict answers with the run just trained"


def test_stop_ends_the_run_within_seconds_and_keeps_the_checkpoint(served_app, tiny_dataset):
    demo, ctx = served_app
    client = Client(demo.local_url, verbose=False)
    job = client.submit(dataset=str(tiny_dataset), freeze="frozen", epochs=400, patience=0, api_name="/train")
    for update in job:  # each streamed update as it arrives; the loop ends early only if the job does
        if "Epoch 1:" in (update[3] or ""):
            break
    else:
        raise AssertionError(f"training ended before epoch 1: {job.result()[-1]}")
    asked = time.monotonic()
    assert client.predict(api_name="/stop").startswith("Stopping")
    status = job.result()[-1]
    assert time.monotonic() - asked < 5
    assert status.startswith("Stopped in "), status
    assert ctx.runs() and ctx.runs()[0].status == "stopped"


def test_training_on_a_folder_outside_the_served_ones_is_refused(served_app):
    demo, ctx = served_app
    client = Client(demo.local_url, verbose=False)
    status = client.predict(dataset="/etc", api_name="/train")[-1]
    assert "outside the folders this app serves" in status
    assert not ctx.runs()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_only_files_inside_the_served_folders_can_be_read(served_app, tiny_dataset):
    demo, _ = served_app
    inside = sorted((tiny_dataset / "train" / "star").iterdir())[0]
    outside = tiny_dataset.parent.parent / "secret.txt"
    outside.write_text("not for the public link")
    assert _status(f"{demo.local_url}gradio_api/file={inside}") == 200
    for path in ("/etc/passwd", outside, tiny_dataset / ".." / ".." / "secret.txt"):
        assert _status(f"{demo.local_url}gradio_api/file={path}") == 403, f"{path} was served"


def test_predict_uses_runs_already_on_disk_by_name_or_the_newest_and_reads_drawings_on_white(
        served_app, tiny_dataset, frozen_run, two_stage_run):
    """Runs written by another process (an earlier launch, the CLI) are picked up from disk, newest by default."""
    from PIL import Image, ImageDraw

    from gui.tabs.predict import predict_sketch

    demo, ctx = served_app
    runs = {run.run_id: run.copy_into(ctx.runs_dir) for run in (frozen_run, two_stage_run)}
    newest = max(runs)  # run folders are named by their start time
    client = Client(demo.local_url, verbose=False)
    path = sorted((tiny_dataset / "valid" / "circle").iterdir())[0]
    expected = {run_id: _top3(folder, path) for run_id, folder in runs.items()}
    assert expected[frozen_run.run_id] != expected[two_stage_run.run_id], "the two runs must be told apart"
    for run_id in runs:
        answer = client.predict(image=handle_file(str(path)), run=run_id, api_name="/predict")
        assert _same_answer(answer, expected[run_id]), run_id
    assert _same_answer(client.predict(image=handle_file(str(path)), api_name="/predict"), expected[newest])

    drawing = Image.new("RGBA", (200, 200), (0, 0, 0, 0))  # a stroke on a transparent canvas, as the sketchpad sends
    ImageDraw.Draw(drawing).line([30, 170, 100, 30, 170, 170], fill=(30, 30, 30, 255), width=12)
    on_white, on_black = (Image.alpha_composite(Image.new("RGBA", drawing.size, paper), drawing).convert("RGB")
                          for paper in ("white", "black"))
    seen = predict_sketch(ctx, {"composite": drawing}, "")
    assert seen == pytest.approx(_top3(runs[newest], on_white), abs=1e-4)
    assert seen != pytest.approx(_top3(runs[newest], on_black), abs=1e-4)


def test_a_bad_upload_gets_a_sentence_and_the_app_keeps_predicting(served_app, tiny_dataset, frozen_run, tmp_path):
    from gradio_client.exceptions import AppError

    from gui.tabs.predict import _confidences

    demo, ctx = served_app
    run_dir = frozen_run.copy_into(ctx.runs_dir)
    good = sorted((tiny_dataset / "valid" / "circle").iterdir())[0]
    broken = tmp_path / "holiday.jpg"
    broken.write_bytes(good.read_bytes()[:300])
    results = _confidences(ctx, "", [str(broken), str(good)])
    assert results[0] == "holiday.jpg cannot be used: truncated or corrupt image data (the file may be half-copied)."
    assert results[1] == pytest.approx(_top3(run_dir, good), abs=1e-4), "the good image after it is still answered"
    client = Client(demo.local_url, verbose=False)
    try:
        client.predict(image=handle_file(str(broken)), api_name="/predict")
        raise AssertionError("a broken upload should be refused")
    except AppError as err:
        assert "holiday.jpg cannot be used" in str(err), str(err)
    assert _same_answer(client.predict(image=handle_file(str(good)), api_name="/predict"), _top3(run_dir, good))


def test_the_model_tab_endpoints_take_the_form_fields_by_name(served_app, tiny_dataset):
    """/recipe, /model_summary and /find_lr name their parameters as /train does (no param_0, param_1 ...), and a
    script that names only a few of them gets the form's defaults for the rest."""
    from gui.form import FIELDS

    demo, _ = served_app
    client = Client(demo.local_url, verbose=False)
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    expected = ["dataset", "valid_percent", *FIELDS]
    for endpoint in ("/recipe", "/model_summary", "/find_lr"):
        assert [p["parameter_name"] for p in named[endpoint]["parameters"]] == expected, endpoint
    assert [p["parameter_name"] for p in named["/train"]["parameters"]] == [*expected, "compare_scratch"]
    frozen = client.predict(dataset=str(tiny_dataset), freeze="frozen", epochs=7, api_name="/recipe")
    two_stage = client.predict(dataset=str(tiny_dataset), freeze="two_stage", epochs=7, api_name="/recipe")
    assert frozen != two_stage and "7" in frozen, (frozen, two_stage)
    summary = client.predict(dataset=str(tiny_dataset), freeze="frozen", image_size=64, api_name="/model_summary")
    assert "64×64" in summary, summary
