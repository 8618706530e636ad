"""Many visitors predicting at once while a training runs: are all answered, and how long does each wait?

    python bench/visitors.py [--data DIR] [--rest 13] [--gradio 3] [--each 3]

Starts the real app on 127.0.0.1 with a run trained first (frozen, 3 epochs), starts a long training through /train,
then sends every client's requests at the same moment: `--rest` threads POST to /api/v1/predict (httpx), `--gradio`
threads call /predict through gradio_client. Writes bench/results/visitors.json (median and p95 per route).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results" / "visitors.json"


def _p95(values: list[float]) -> float | None:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)] if values else None


def _summary(seconds: list[float]) -> dict:
    return {"answered": len(seconds), "median_s": statistics.median(seconds) if seconds else None,
            "p95_s": _p95(seconds), "max_s": max(seconds, default=None)}


def visit(url: str, image: Path, run_id: str, rest_clients: int = 13, gradio_clients: int = 3,
          each: int = 3) -> dict:
    """Send `each` predictions from every client at once (REST threads and gradio_client threads) and return how
    many were asked and answered, with the latencies (median, p95) of each route."""
    import httpx
    from gradio_client import Client, handle_file

    data, base = image.read_bytes(), url.rstrip("/")
    latencies: dict[str, list[float]] = {"rest": [], "gradio": []}
    failures: list[str] = []
    gate = threading.Barrier(rest_clients + gradio_clients)
    lock = threading.Lock()

    def record(route: str, started: float) -> None:
        with lock:
            latencies[route].append(time.perf_counter() - started)

    def rest() -> None:
        with httpx.Client(timeout=120) as http:
            gate.wait()
            for _ in range(each):
                started = time.perf_counter()
                response = http.post(f"{base}/api/v1/predict?run={run_id}", content=data)
                if response.status_code == 200 and response.json().get("top"):
                    record("rest", started)
                else:
                    failures.append(f"rest {response.status_code}: {response.text[:200]}")

    def gradio() -> None:
        client = Client(url, verbose=False)
        gate.wait()
        for _ in range(each):
            started = time.perf_counter()
            try:
                label = client.predict(image=handle_file(str(image)), run=run_id, api_name="/predict")
            except Exception as err:  # noqa: BLE001 -- counted as unanswered, with its sentence
                failures.append(f"gradio: {err}")
                continue
            if label and label.get("label"):
                record("gradio", started)

    threads = ([threading.Thread(target=rest) for _ in range(rest_clients)]
               + [threading.Thread(target=gradio) for _ in range(gradio_clients)])
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"clients": rest_clients + gradio_clients, "asked": (rest_clients + gradio_clients) * each,
            "answered": len(latencies["rest"]) + len(latencies["gradio"]), "wall_s": time.perf_counter() - started,
            "rest": _summary(latencies["rest"]), "gradio": _summary(latencies["gradio"]), "failures": failures[:5]}


def main() -> None:
    from core import TrainConfig, train
    from core.data.demo import ensure_demo_dataset
    from gui import AppContext, start

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--rest", type=int, default=13)
    parser.add_argument("--gradio", type=int, default=3)
    parser.add_argument("--each", type=int, default=3)
    args = parser.parse_args()
    data = Path(args.data or ensure_demo_dataset(Path(__file__).resolve().parents[1] / "data"))
    with tempfile.TemporaryDirectory() as out:
        finished = list(train(TrainConfig(data=str(data), out=out, freeze="frozen", epochs=3)))[-1]
        ctx = AppContext(data_root=data.parent, runs_dir=Path(out), initial_dataset=data)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        demo = start(ctx, "127.0.0.1", port)
        try:
            from gradio_client import Client

            trainer = Client(demo.local_url, verbose=False)
            training = trainer.submit(dataset=str(data), freeze="finetune", epochs=50, api_name="/train")
            while not ctx.trainings.busy():
                time.sleep(0.2)
            time.sleep(5)  # past its first steps
            image = next(p for p in sorted(data.rglob("*")) if p.suffix.lower() in {".jpg", ".png"})
            alone = visit(demo.local_url, image, finished.run_id, 1, 0, 5)
            busy = visit(demo.local_url, image, finished.run_id, args.rest, args.gradio, args.each)
            still_training = not training.done()
            trainer.predict(api_name="/stop")
            training.result()
        finally:
            demo.close()
    figures = {"while_training": busy, "training_still_running": still_training,
               "one_client_while_training_rest_median_s": alone["rest"]["median_s"],
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "platform": platform.platform()}}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
