import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from gui.context import AppContext, OutsideServedFolders


@pytest.fixture
def ctx(tmp_path):
    data = tmp_path / "data"
    (data / "shapes" / "train").mkdir(parents=True)
    return AppContext(data_root=data, runs_dir=tmp_path / "runs", initial_dataset=data / "shapes")


def test_paths_inside_the_data_folder_resolve(ctx):
    assert ctx.resolve_dataset("shapes") == ctx.data_root / "shapes"
    assert ctx.resolve_dataset(str(ctx.data_root / "shapes")) == ctx.data_root / "shapes"


@pytest.mark.parametrize("text", ["/etc", "../", "shapes/../../..", "~"])
def test_paths_outside_the_served_folders_are_refused(ctx, text):
    with pytest.raises(OutsideServedFolders, match="outside the folders this app serves"):
        ctx.resolve_dataset(text)


def test_missing_folder_inside_is_explained(ctx):
    with pytest.raises(OutsideServedFolders, match="does not exist"):
        ctx.resolve_dataset("nothing-here")


def test_run_ids_are_names_not_paths(ctx):
    with pytest.raises(LookupError, match="No trained run"):
        ctx.run_by_id("../../etc")


def test_many_sessions_begin_and_stop_at_once_and_each_stop_reaches_its_own_job(ctx):
    sessions = [f"s{i}" for i in range(64)]
    ready, events = threading.Barrier(len(sessions)), {}

    def session(name: str) -> None:
        with ctx.job("train", name) as stop:
            events[name] = stop
            ready.wait()  # every job is running before any stop is asked
            assert ctx.request_stop("train", name)
            assert stop.wait(5)

    with ThreadPoolExecutor(len(sessions)) as pool:
        list(pool.map(session, sessions))
    assert len({id(e) for e in events.values()}) == len(sessions) and all(e.is_set() for e in events.values())
    assert not any(ctx.request_stop("train", name) for name in sessions)  # each ended job was forgotten


def test_stop_reaches_only_the_asked_kind_and_session(ctx):
    train, check, other = ctx.begin("train", "a"), ctx.begin("check", "a"), ctx.begin("train", "b")
    assert ctx.request_stop("train", "a") and train.is_set()
    assert not check.is_set() and not other.is_set()
    assert not ctx.request_stop("train", "nobody")


def test_a_newer_job_stops_the_one_it_replaces_and_outlives_its_finish(ctx):
    old = ctx.begin("check", "a")
    new = ctx.begin("check", "a")
    assert old.is_set() and not new.is_set()
    ctx.finish("check", "a", old)  # the replaced job ends late: the newer one is still stoppable
    assert ctx.request_stop("check", "a") and new.is_set()
    ctx.finish("check", "a", new)
    assert not ctx.request_stop("check", "a")


def test_racing_replacements_leave_one_job_and_stop_every_other(ctx):
    stops = []

    def begin(_):
        stops.append(ctx.begin("check", "same"))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(begin, range(400)))
    running = [s for s in stops if not s.is_set()]
    assert len(running) == 1 and ctx.request_stop("check", "same") and running[0].is_set()


def test_downloads_share_one_folder_and_old_files_are_removed(tmp_path):
    import os

    from gui import AppContext

    ctx = AppContext(data_root=tmp_path, runs_dir=tmp_path / "runs", initial_dataset=tmp_path)
    first = ctx.download_path("a.zip")
    first.write_bytes(b"x")
    os.utime(first, (0, 0))  # handed over long ago
    fresh = ctx.download_path("b.csv")
    fresh.write_bytes(b"y")
    assert not first.exists() and fresh.parent == first.parent
    ctx.download_path("c.zip")
    assert fresh.exists(), "a file handed over a moment ago stays"
