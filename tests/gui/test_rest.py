"""The plain HTTP endpoint: image bytes in, top-k JSON out, the same answers as the Gradio API, bad input named."""
import http.client
import json
import urllib.error
import urllib.request

from gradio_client import Client, handle_file


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_http_endpoint_answers_like_the_gradio_api_and_names_bad_input(served_app, tiny_dataset, frozen_run,
                                                                      monkeypatch):
    import gui.rest

    demo, ctx = served_app
    url = f"{demo.local_url}api/v1/predict"
    image = sorted((tiny_dataset / "valid" / "star").iterdir())[0]
    status, answer = _post(url, image.read_bytes())
    assert status == 404 and "No trained run yet" in answer["error"]

    frozen_run.copy_into(ctx.runs_dir)
    status, answer = _post(f"{url}?k=4&run={frozen_run.run_id}", image.read_bytes())
    assert status == 200 and answer["run"] == frozen_run.run_id
    labels = {item["label"]: item["confidence"] for item in answer["top"]}
    assert labels.keys() == {"circle", "square", "star", "triangle"} and abs(sum(labels.values()) - 1) < 1e-4
    via_gradio = Client(demo.local_url, verbose=False).predict(image=handle_file(str(image)), api_name="/predict")
    assert via_gradio["label"] == answer["top"][0]["label"]
    for item in via_gradio["confidences"]:
        assert abs(item["confidence"] - labels[item["label"]]) < 1e-4

    status, answer = _post(url, image.read_bytes()[:200])
    assert status == 422 and "truncated or corrupt" in answer["error"]
    status, answer = _post(f"{url}?run=../../etc", image.read_bytes())
    assert status == 404 and "no run called" in answer["error"]
    status, answer = _post(f"{url}?k=three", image.read_bytes())
    assert status == 400 and "whole number" in answer["error"]
    monkeypatch.setattr(gui.rest, "MAX_BYTES", 100)
    status, answer = _post(url, image.read_bytes())
    assert status == 413 and "images up to" in answer["error"]
    connection = http.client.HTTPConnection("127.0.0.1", demo.server_port, timeout=60)
    try:  # chunked: no declared length, so the limit is checked on what arrives
        connection.request("POST", "/api/v1/predict", body=iter([image.read_bytes()]), encode_chunked=True)
        reply = connection.getresponse()
        assert reply.status == 413 and "images up to" in json.loads(reply.read())["error"]
    finally:
        connection.close()
