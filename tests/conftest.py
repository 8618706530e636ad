"""Shared fixtures: small real datasets written by the tests, and real app servers on free ports."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from core.data.demo import make_shapes_dataset


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def private_health_cache(tmp_path_factory):
    """Health checks made by the tests (and the apps they start) remember files in a temporary folder."""
    before = os.environ.get("TRANSFER_STUDIO_CACHE")
    os.environ["TRANSFER_STUDIO_CACHE"] = str(tmp_path_factory.mktemp("health-cache"))
    yield
    if before is None:
        os.environ.pop("TRANSFER_STUDIO_CACHE", None)
    else:
        os.environ["TRANSFER_STUDIO_CACHE"] = before


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """4 shape classes, 10 training and 5 validation images each, real JPEG files."""
    return make_shapes_dataset(tmp_path_factory.mktemp("data") / "shapes", train_per_class=10, valid_per_class=5, size=112)


@pytest.fixture
def served_app(tiny_dataset, tmp_path):
    """The real Gradio app on 127.0.0.1 and a free port, serving the tiny dataset; closed after the test."""
    from gui import AppContext, start

    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    demo = start(ctx, "127.0.0.1", free_port())
    try:
        yield demo, ctx
    finally:
        demo.close()
