import time
import urllib.error
import urllib.request

from gradio_client import Client, handle_file

CLASSES = {"circle", "square", "star", "triangle"}


def test_train_streams_then_predict_through_gradio_client(served_app, tiny_dataset):
    demo, ctx = served_app
    client = Client(demo.local_url, verbose=False)
    job = client.submit(dataset=str(tiny_dataset), freeze="frozen", epochs=8, patience=0, api_name="/train")
    updates = list(job)
    progress, loss_plot, acc_plot, log, status = job.result()
    assert len(updates) >= 3, "training should stream several updates"
    assert status.startswith("Finished after 8 epoch(s)"), status
    assert "Epoch 8:" in log
    assert loss_plot is not None and acc_plot is not None

    image = sorted((tiny_dataset / "valid" / "triangle").iterdir())[0]
    label = client.predict(image=handle_file(str(image)), api_name="/predict")
    assert label["label"] in CLASSES
    confidences = [c["confidence"] for c in label["confidences"]]
    assert len(confidences) == 3 and confidences == sorted(confidences, reverse=True)


def test_stop_ends_the_run_within_seconds_and_keeps_the_checkpoint(served_app, tiny_dataset):
    demo, ctx = served_app
    client = Client(demo.local_url, verbose=False)
    job = client.submit(dataset=str(tiny_dataset), freeze="frozen", epochs=400, patience=0, api_name="/train")
    deadline = time.monotonic() + 120
    while "Epoch 1:" not in ((job.outputs() or [[""] * 5])[-1][3] or ""):
        assert time.monotonic() < deadline and not job.done(), "training never reached epoch 1"
        time.sleep(0.2)
    asked = time.monotonic()
    assert client.predict(api_name="/stop").startswith("Stopping")
    status = job.result()[-1]
    assert time.monotonic() - asked < 5
    assert status.startswith("Stopped after"), status
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


def test_predict_uses_runs_already_on_disk_and_drawings(served_app, tiny_dataset):
    """A run written by another process (an earlier launch, the CLI) is picked up from disk, newest by default."""
    from PIL import Image, ImageDraw

    from core import RunFinished, TrainConfig, train
    from gui.tabs.predict import predict_sketch

    demo, ctx = served_app
    finished = list(train(TrainConfig(data=str(tiny_dataset), out=str(ctx.runs_dir), freeze="frozen", epochs=3)))[-1]
    assert isinstance(finished, RunFinished)
    client = Client(demo.local_url, verbose=False)
    image = handle_file(str(sorted((tiny_dataset / "valid" / "circle").iterdir())[0]))
    by_name = client.predict(image=image, run=finished.run_id, api_name="/predict")
    newest = client.predict(image=image, api_name="/predict")
    assert by_name == newest and len(by_name["confidences"]) == 3

    drawing = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(drawing).ellipse([40, 40, 160, 160], fill=(30, 30, 30, 255))
    confidences = predict_sketch(ctx, {"composite": drawing}, "")
    assert set(confidences) <= {"circle", "square", "star", "triangle"} and len(confidences) == 3


def test_a_bad_upload_gets_a_sentence_and_the_app_keeps_predicting(served_app, tiny_dataset, tmp_path):
    from gradio_client.exceptions import AppError

    from gui.tabs.predict import _confidences

    demo, ctx = served_app
    list(train_quick(tiny_dataset, ctx))
    good = sorted((tiny_dataset / "valid" / "circle").iterdir())[0]
    broken = tmp_path / "holiday.jpg"
    broken.write_bytes(good.read_bytes()[:300])
    results = _confidences(ctx, "", [str(broken), str(good)])
    assert results[0] == "holiday.jpg cannot be used: truncated or corrupt image data (the file may be half-copied)."
    assert isinstance(results[1], dict) and len(results[1]) == 3
    client = Client(demo.local_url, verbose=False)
    try:
        client.predict(image=handle_file(str(broken)), api_name="/predict")
        raise AssertionError("a broken upload should be refused")
    except AppError as err:
        assert "holiday.jpg cannot be used" in str(err), str(err)
    assert len(client.predict(image=handle_file(str(good)), api_name="/predict")["confidences"]) == 3


def train_quick(data, ctx):
    from core import TrainConfig, train

    return train(TrainConfig(data=str(data), out=str(ctx.runs_dir), freeze="frozen", epochs=2))
