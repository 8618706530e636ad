"""Keeping what the model is shown: nothing while off; with it on, the app, the demo view and the HTTP endpoint keep
each answered picture once, with its answer and source; a broken upload keeps nothing; visitors are told, and can
neither list nor fetch what was kept; webcam frames are sampled."""
import json
import urllib.parse

import pytest
from gradio_client import Client, handle_file

from core.runstore.sharing import set_shared
from gui import words
from gui.keeping import FRAME_EVERY_S, Keeper
from tests.gui.test_demo_view import _file_urls, _get, _post, _start


@pytest.fixture
def keeping_ctx(two_stage_run, tiny_dataset, tmp_path):
    from gui import AppContext

    run = two_stage_run.copy_into(tmp_path / "runs")
    set_shared(run, True)
    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset,
                     cache_dir=tmp_path / "cache")
    return ctx, run.name


def _picture(tiny_dataset, name="star"):
    return min((tiny_dataset / "valid" / name).iterdir())


def test_the_app_the_demo_view_and_the_http_endpoint_keep_what_they_answer_only_when_on(keeping_ctx, tiny_dataset):
    ctx, run_id = keeping_ctx
    app, demo = _start(ctx), _start(ctx, view="demo")
    try:
        page = Client(app.local_url, verbose=False)
        page.predict(image=handle_file(str(_picture(tiny_dataset, "triangle"))), run=run_id, api_name="/predict")
        assert _post(f"{app.local_url}api/v1/predict", _picture(tiny_dataset, "circle").read_bytes())[0] == 200
        assert not ctx.keeper.on and ctx.keeper.store().list() == [], "nothing is kept while keeping is off"
        ctx.keeper.set(True, 50)
        label = page.predict(image=handle_file(str(_picture(tiny_dataset))), run=run_id, api_name="/predict")
        page.predict(image=handle_file(str(_picture(tiny_dataset))), run=run_id, api_name="/answer")  # the same
        visitor = Client(demo.local_url, verbose=False)
        visitor.predict(image=handle_file(str(_picture(tiny_dataset, "circle"))), run="", api_name="/predict")
        status, answer, _ = _post(f"{app.local_url}api/v1/predict", _picture(tiny_dataset, "square").read_bytes())
        assert status == 200
        assert _post(f"{app.local_url}api/v1/predict", b"not a picture")[0] == 422  # broken: nothing kept
        kept = ctx.keeper.store().list()
        assert [p.source for p in kept] == ["predict", "demo", "api"]
        assert kept[0].predicted == label["label"] and kept[0].run == run_id and len(kept[0].top) == 3
        assert kept[2].predicted == answer["top"][0]["label"] and not kept[2].not_sure == (not answer["not_sure"])
        assert all(p.path.parent == ctx.runs_dir / "kept" for p in kept)

        notice = json.dumps(_get(f"{demo.local_url}config")[1].decode())
        assert "keeping-notice" in notice
        assert set(visitor.view_api(return_format="dict", print_info=False)["named_endpoints"]) == {
            "/predict", "/answer", "/evaluate"}
        for url in _file_urls(demo.local_url, kept[0].path) + [
                f"{demo.local_url}gradio_api/file={urllib.parse.quote(str(ctx.runs_dir / 'kept'))}"]:
            status, body = _get(url)
            assert status in (403, 404) and body != kept[0].path.read_bytes(), url
    finally:
        app.close()
        demo.close()


def test_visitors_read_that_their_pictures_are_kept_only_while_they_are(keeping_ctx):
    from gui.demo import keeping_notice

    ctx, _ = keeping_ctx
    assert keeping_notice(ctx) == ""
    ctx.keeper.set(True)
    assert keeping_notice(ctx) == words.KEEPING_NOTICE


def test_the_launch_flag_keeps_for_one_start_and_settings_remember(tmp_path):
    forced = Keeper(tmp_path / "runs", tmp_path / "cache", forced_on=True)
    assert forced.on and not Keeper(tmp_path / "runs", tmp_path / "cache").on
    Keeper(tmp_path / "runs", tmp_path / "cache").set(True, 7)
    again = Keeper(tmp_path / "runs", tmp_path / "cache")
    assert again.on and again.settings().cap_mb == 7


def test_webcam_frames_are_kept_at_most_once_a_second_and_when_the_answer_changes(tmp_path, monkeypatch):
    from PIL import Image

    clock = [100.0]
    monkeypatch.setattr("gui.keeping.time.monotonic", lambda: clock[0])
    keeper = Keeper(tmp_path / "runs", tmp_path / "cache", forced_on=True)

    def frame(shade):
        return Image.new("RGB", (32, 32), (shade, 0, 0))

    top = [("cat", 0.9), ("dog", 0.1)]
    keeper.keep_frame(frame(1), "s", "run-1", top, True)  # the first frame
    keeper.keep_frame(frame(2), "s", "run-1", [("dog", 0.9)], True)  # within the second: no
    clock[0] += FRAME_EVERY_S
    keeper.keep_frame(frame(3), "s", "run-1", top, True)  # the same sure answer: no
    keeper.keep_frame(frame(4), "s", "run-1", [("dog", 0.8)], True)  # a changed answer: yes
    clock[0] += FRAME_EVERY_S
    keeper.keep_frame(frame(5), "s", "run-1", [("dog", 0.4)], False)  # not sure: yes
    kept = keeper.store().list()
    assert [p.predicted for p in kept] == ["cat", "dog", "dog"] and {p.source for p in kept} == {"webcam"}
