"""Speed benchmark: this project's training and prediction against the naive PyTorch ways, on the same data.

    python bench/speed.py [--data DIR] [--per-class 450] [--seed-epochs 1] [--requests 50]

1. the seeds' recipe: frozen backbone run in full on every image every epoch, model.train(), eager NCHW fp32;
2. the naive floor: one eager NCHW fp32 forward pass over train + valid;
3. this project's frozen training, 10 epochs, with a cold cache (ONNX export included) and a warm one, next to
   a linear probe (logistic regression) on the same features;
4. fine-tuning images/s: a plain eager fp32 loop against this project's loop (`python -m core train`);
5. prediction latency through the app's HTTP endpoint (/api/v1/predict, a keep-alive connection from another
   process, as a script would call it) and through gradio_client (/predict), against a bare ONNX Runtime forward
   of the same model (uint8 pixels in, logits out); 16 concurrent clients each;
6. peak RSS of training (frozen, cold cache) and of fine-tuning, each in its own process.
Prints each figure and the ratios, and writes bench/results/speed.json. Data: generated shapes (256-px JPEGs,
4 classes x per-class images, 80 % train) or any ImageFolder given with --data.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from core import EpochDone, RunFinished, TrainConfig, train  # noqa: E402
from core.data.datasets import ImageFiles, collate_skipping_bad
from core.data.demo import make_shapes_dataset  # noqa: E402
from core.data.scan import scan_dataset  # noqa: E402
from core.data.transforms import eval_transform  # noqa: E402
from core.models.backbones import get_backbone, load_efficientnet_lite  # noqa: E402
from core.system import cpu_threads  # noqa: E402
from core.training.features import FeatureSet, dataset_features  # noqa: E402

SPEC = get_backbone("efficientnet_lite0")


def _loader(items, batch: int) -> DataLoader:
    return DataLoader(ImageFiles(items, eval_transform(224, SPEC.mean, SPEC.std)), batch_size=batch,
                      collate_fn=collate_skipping_bad)


def seeds_recipe(index, epochs: int) -> dict:
    """The usual tutorial loop: requires_grad off, model.train(), every image through the whole network each epoch."""
    net = load_efficientnet_lite(0, 224, pretrained=True, with_classifier=True, fast=False)
    net.requires_grad_(False)
    net._fc = nn.Linear(net._fc.in_features, len(index.classes))
    optimizer = torch.optim.Adam(net._fc.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        net.train()
        for x, y, _ in _loader(index.splits["train"], 32):
            loss = nn.functional.cross_entropy(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        net.eval()
        correct = 0
        with torch.no_grad():
            for x, y, _ in _loader(index.splits["valid"], 64):
                correct += (net(x).argmax(1) == y).sum().item()
    seconds = time.perf_counter() - start
    return {"epochs": epochs, "wall_s": round(seconds, 1), "per_epoch_s": round(seconds / epochs, 1),
            "valid_acc": correct / len(index.splits["valid"])}


def naive_floor(index) -> dict:
    """One plain eager NCHW fp32 forward pass (decode included) over every image: the least a naive loop pays."""
    net = load_efficientnet_lite(0, 224, pretrained=True, fast=False).eval()
    items = index.splits["train"] + index.splits["valid"]
    start = time.perf_counter()
    with torch.no_grad():
        for x, _, _ in _loader(items, 64):
            net(x)
    seconds = time.perf_counter() - start
    return {"images": len(items), "wall_s": round(seconds, 1), "images_per_s": round(len(items) / seconds, 1)}


def frozen_training(data: Path, out: Path) -> dict:
    """This project's frozen recipe, 10 epochs: cold (empty cache: export and one backbone pass) then warm."""
    os.environ["TRANSFER_STUDIO_CACHE"] = tempfile.mkdtemp(dir=out, prefix="cache-")
    result = {}
    for label in ("cold", "warm"):
        start = time.perf_counter()
        events = list(train(TrainConfig(data=str(data), out=str(out / "runs"), freeze="frozen", epochs=10,
                                        patience=0)))
        finished = events[-1]
        assert isinstance(finished, RunFinished)
        result[label] = {"wall_s": round(time.perf_counter() - start, 2), "valid_acc": finished.best_valid_acc,
                         "last_valid_acc": [e for e in events if isinstance(e, EpochDone)][-1].valid_acc,
                         "run_dir": finished.run_dir}
    result["linear_probe_valid_acc"] = linear_probe(data)
    return result


def linear_probe(data: Path) -> float:
    """Logistic regression (scikit-learn) on the same frozen features, read from the cache the runs filled."""
    from sklearn.linear_model import LogisticRegression

    index = scan_dataset(data)
    backbone = load_efficientnet_lite(0, 224, pretrained=True)
    train_items, valid_items = index.splits["train"], index.splits["valid"]
    features = [x for x in dataset_features(SPEC, backbone, TrainConfig(data=str(data)), train_items, valid_items,
                                            torch.device("cpu")) if isinstance(x, FeatureSet)][0]
    n = len(train_items)
    (tx, ty), (vx, vy) = features.subset(0, n), features.subset(n, n + len(valid_items))
    probe = LogisticRegression(max_iter=3000).fit(tx.numpy(), ty.numpy())
    return float(probe.score(vx.numpy(), vy.numpy()))


def plain_finetune(index, steps: int, batch: int = 32) -> dict:
    """Every layer, eager NCHW fp32, BatchNorm in train mode: images/s of forward + backward + step."""
    net = load_efficientnet_lite(0, 224, pretrained=True, with_classifier=True, fast=False)
    net._fc = nn.Linear(net._fc.in_features, len(index.classes))
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    net.train()
    times = []
    for i, (x, y, _) in enumerate(_loader(index.splits["train"][: batch * (steps + 1)], batch)):
        start = time.perf_counter()
        loss = nn.functional.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i:  # the first step warms up the allocator
            times.append(time.perf_counter() - start)
    return {"steps": len(times), "batch": batch, "images_per_s": round(batch / statistics.median(times), 2)}


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, which (unlike ru_maxrss) does not count a parent's pages."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_task(task: str, settings: dict) -> dict | list:
    """What a child process measures: a `core.train` run, the plain fine-tuning loop, or an HTTP client."""
    from core import StepDone

    if task == "rest":
        return rest_client(**settings)
    torch.set_num_threads(cpu_threads())
    if task == "plain":
        return {**plain_finetune(scan_dataset(settings["data"]), settings["steps"]), "peak_rss_mb": peak_rss_mb()}
    start, rates, acc = time.perf_counter(), [], None
    for event in train(TrainConfig(**settings)):
        if isinstance(event, StepDone):
            rates.append(event.images_per_s)
        if isinstance(event, RunFinished):
            acc = event.best_valid_acc
    return {"wall_s": time.perf_counter() - start, "step_images_per_s": rates, "valid_acc": acc,
            "peak_rss_mb": peak_rss_mb()}


def in_child(task: str, settings: dict, cache: str) -> dict:
    """Measure in a fresh process (an honest peak RSS; no state left by earlier measurements)."""
    env = {**os.environ, "TRANSFER_STUDIO_CACHE": cache}
    done = subprocess.run([sys.executable, __file__, "--child", task, json.dumps(settings)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def frozen_rss(data: Path, out: Path) -> dict:
    """Peak RSS of a frozen run, 10 epochs, cold cache, in its own process."""
    child = in_child("train", {"data": str(data), "out": str(out / "rss-runs"), "freeze": "frozen", "epochs": 10,
                               "patience": 0}, tempfile.mkdtemp(dir=out))
    return {"wall_s": round(child["wall_s"], 1), "valid_acc": child["valid_acc"],
            "peak_rss_mb": round(child["peak_rss_mb"])}


def project_finetune(data: Path, out: Path, steps: int, batch: int = 32) -> dict:
    """`core.train` fine-tuning every layer for one epoch of (steps + 1) batches; the steps' own images/s."""
    subset = out / "finetune-subset"
    index = scan_dataset(data)
    train_items, valid_items = list(index.splits["train"]), list(index.splits["valid"])
    random.Random(0).shuffle(train_items)
    random.Random(0).shuffle(valid_items)
    picks = [("train", item) for item in train_items[: batch * (steps + 1)]]
    for split, (path, label) in picks + [("valid", item) for item in valid_items[:16]]:
        target = subset / split / index.classes[label] / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(path)
    child = in_child("train", {"data": str(subset), "out": str(out / "runs"), "freeze": "finetune", "epochs": 1,
                               "batch": batch, "patience": 0}, tempfile.mkdtemp(dir=out))
    rates = child["step_images_per_s"][1:]
    return {"steps": len(rates), "batch": batch, "images_per_s": round(statistics.median(rates), 2),
            "epoch_wall_s": round(child["wall_s"], 1), "peak_rss_mb": round(child["peak_rss_mb"])}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(call, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times


def _concurrently(calls: list) -> tuple[int, float]:
    """Run the calls at once, one thread each: how many answered, and the slowest answer in seconds."""
    answered, slowest = [], []

    def one(call):
        t0 = time.perf_counter()
        answered.append(bool(call()))
        slowest.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=one, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return sum(answered), max(slowest, default=0.0)


def _rest_call(port: int, body: bytes):
    """A keep-alive HTTP connection posting the image's bytes to /api/v1/predict."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port)

    def call():
        connection.request("POST", "/api/v1/predict?k=3", body=body)
        reply = connection.getresponse()
        return reply.status == 200 and json.loads(reply.read())["top"]

    return call


def rest_client(port: int, image: str, requests: int) -> list[float]:
    """Seconds per request of one keep-alive client, as a separate program would see them (after 5 warm-ups)."""
    call = _rest_call(port, Path(image).read_bytes())
    _timed(call, 5)
    return _timed(call, requests)


def prediction_latency(run_dir: str, image: Path, requests: int, clients: int = 16, rounds: int = 10) -> dict:
    """p50/p95 through the app's HTTP endpoint and through gradio_client, the bare ORT forward, and concurrency."""
    from gradio_client import Client, handle_file

    from core.data.images import load_image
    from gui import AppContext, start

    root = image.parents[2]
    ctx = AppContext(data_root=root, runs_dir=Path(run_dir).parent, initial_dataset=root)
    port = free_port()
    demo = start(ctx, "127.0.0.1", port)
    body = image.read_bytes()
    try:
        predictor = ctx.predictors.get(run_dir)  # the very session the endpoint runs
        assert predictor.engine == "onnxruntime", "the bare forward to compare with is ONNX Runtime's"
        pixels = predictor.logits.pixels([load_image(image)])
        bare, whole, rest_times = [], [], []
        for _ in range(rounds):  # interleaved, so that both sides see the same machine (2 shared cores drift)
            bare += _timed(lambda: predictor.logits.runner(pixels), requests // rounds)
            whole += _timed(lambda: predictor.predict([image]), requests // rounds)
            client_run = subprocess.run([sys.executable, __file__, "--child", "rest", json.dumps(
                {"port": port, "image": str(image), "requests": requests // rounds})],
                capture_output=True, text=True, check=True)
            rest_times += json.loads(client_run.stdout.strip().splitlines()[-1])
        rest_answered, rest_slowest = _concurrently([_rest_call(port, body) for _ in range(clients)])
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        gradio = lambda c=client: c.predict(image=handle_file(str(image)), api_name="/predict")  # noqa: E731
        _timed(gradio, 3)
        gradio_times = _timed(gradio, requests)
        others = [Client(f"http://127.0.0.1:{port}/", verbose=False) for _ in range(clients)]
        gradio_answered, gradio_slowest = _concurrently(
            [lambda c=c: c.predict(image=handle_file(str(image)), api_name="/predict").get("label") for c in others])
    finally:
        demo.close()
    ms = lambda s: round(1000 * s, 1)  # noqa: E731
    return {
        "engine": predictor.engine, "requests": requests, "image_px": list(load_image(image).size),
        "bare_forward_p50_ms": ms(statistics.median(bare)),
        "decode_preprocess_forward_p50_ms": ms(statistics.median(whole)),
        "http_api_p50_ms": ms(statistics.median(rest_times)), "http_api_p95_ms": ms(percentile(rest_times, 0.95)),
        "gradio_client_p50_ms": ms(statistics.median(gradio_times)),
        "gradio_client_p95_ms": ms(percentile(gradio_times, 0.95)),
        "concurrent_clients": clients,
        "http_concurrent_answered": rest_answered, "http_concurrent_slowest_ms": ms(rest_slowest),
        "gradio_concurrent_answered": gradio_answered, "gradio_concurrent_slowest_ms": ms(gradio_slowest),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an ImageFolder (default: generated shapes)")
    parser.add_argument("--per-class", type=int, default=450, help="generated images per class (4 classes)")
    parser.add_argument("--seed-epochs", type=int, default=1, help="epochs of the seeds' recipe to time")
    parser.add_argument("--finetune-steps", type=int, default=6)
    parser.add_argument("--requests", type=int, default=100, help="per latency figure, in 10 interleaved rounds")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "speed.json")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_task(args.child[0], json.loads(args.child[1]))))
        return
    torch.set_num_threads(cpu_threads())
    report = {"machine": {"cpu_threads": cpu_threads(), "platform": platform.platform(), "torch": torch.__version__,
                          "cuda": torch.cuda.is_available()}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = args.data
        if data is None:
            train_n = round(args.per_class * 0.8)
            data = make_shapes_dataset(tmp / "shapes", train_per_class=train_n,
                                       valid_per_class=args.per_class - train_n, size=256)
        index = scan_dataset(data)
        report["data"] = {"path": str(args.data or "generated shapes, 256 px JPEG"),
                          "images": {k: len(v) for k, v in index.splits.items()}, "classes": len(index.classes)}
        steps = [
            ("peak_rss_frozen", lambda: frozen_rss(data, tmp)),
            ("naive_floor", lambda: naive_floor(index)),
            ("seeds_recipe", lambda: seeds_recipe(index, args.seed_epochs)),
            ("frozen", lambda: frozen_training(data, tmp)),
            ("finetune_plain", lambda: in_child("plain", {"data": str(data), "steps": args.finetune_steps},
                                                tempfile.mkdtemp(dir=tmp))),
            ("finetune_project", lambda: project_finetune(data, tmp, args.finetune_steps)),
        ]
        for name, measure in steps:
            report[name] = measure()
            print(f"{name}: {json.dumps(report[name])}", flush=True)
        image = index.splits["valid"][0][0]
        report["prediction"] = prediction_latency(report["frozen"]["warm"]["run_dir"], image, args.requests)
        print(f"prediction: {json.dumps(report['prediction'])}", flush=True)
    floor = report["naive_floor"]["wall_s"]
    report["ratios"] = {
        "frozen_cold_vs_floor": round(report["frozen"]["cold"]["wall_s"] / floor, 3),
        "frozen_warm_vs_floor": round(report["frozen"]["warm"]["wall_s"] / floor, 3),
        "seeds_10_epochs_vs_frozen_cold": round(10 * report["seeds_recipe"]["per_epoch_s"]
                                                / report["frozen"]["cold"]["wall_s"], 1),
        "finetune_project_vs_plain": round(report["finetune_project"]["images_per_s"]
                                           / report["finetune_plain"]["images_per_s"], 2),
        "http_api_p50_vs_bare_forward": round(report["prediction"]["http_api_p50_ms"]
                                              / report["prediction"]["bare_forward_p50_ms"], 2),
        "http_api_p50_vs_decode_preprocess_forward": round(
            report["prediction"]["http_api_p50_ms"] / report["prediction"]["decode_preprocess_forward_p50_ms"], 2),
        "gradio_client_p50_vs_bare_forward": round(report["prediction"]["gradio_client_p50_ms"]
                                                   / report["prediction"]["bare_forward_p50_ms"], 1),
    }
    report["targets"] = {
        "frozen cold <= 0.3x floor": report["ratios"]["frozen_cold_vs_floor"] <= 0.3,
        "frozen warm <= 0.05x floor": report["ratios"]["frozen_warm_vs_floor"] <= 0.05,
        "frozen valid acc >= linear probe": report["frozen"]["cold"]["valid_acc"]
        >= report["frozen"]["linear_probe_valid_acc"],
        "fine-tuning >= 1.8x plain loop": report["ratios"]["finetune_project_vs_plain"] >= 1.8,
        "HTTP API p50 <= 1.5x bare forward": report["ratios"]["http_api_p50_vs_bare_forward"] <= 1.5,
        "16 concurrent clients answered (HTTP and gradio_client)":
            report["prediction"]["http_concurrent_answered"] == report["prediction"]["gradio_concurrent_answered"] == 16,
        "training peak RSS <= 2 GB (frozen, and fine-tuning)": max(report["peak_rss_frozen"]["peak_rss_mb"],
                                                                   report["finetune_project"]["peak_rss_mb"]) <= 2048,
    }
    print("\nratios:", json.dumps(report["ratios"], indent=1))
    for target, met in report["targets"].items():
        print(f"  {'met ' if met else 'MISS'}  {target}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
