"""Kept pictures: the pixels only (no metadata), upright and capped, nothing written for a broken file or a bomb,
the oldest evicted past the cap, ids that are never paths, and records that stay whole under threads."""
import io
import json
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms

from core.data.images import MAX_PIXELS, UnreadableImage, load_image
from core.runstore.folder import KEPT
from core.runstore.kept import (
    SOURCES,
    KeepSettings,
    KeptStore,
    read_keep_settings,
    write_keep_settings,
)
from core.runstore.table import run_folders, run_records

RUN = "20240101-120000-resnet18"
TOP = [("cat", 0.7), ("dog", 0.2), ("fox", 0.06), ("owl", 0.04)]


def jpeg(size=(40, 30), colour=(200, 30, 30), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", **save)
    return buffer.getvalue()


def noise(side: int, seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8))


def declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header is changed to declare width x height pixels: a pixel bomb of a hundred bytes."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR's width and height, then its checksum
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def store(tmp_path) -> KeptStore:
    return KeptStore(tmp_path / KEPT)


def test_a_kept_picture_has_its_answer_source_and_record_beside_it(store, tmp_path):
    source = tmp_path / "photo.png"
    Image.new("RGB", (50, 20), (10, 120, 200)).save(source)
    from_bytes = store.keep(jpeg(), RUN, TOP, False, "api")
    from_path = store.keep(source, RUN, TOP[:1], True, "folder")
    from_image = store.keep(Image.new("RGBA", (30, 30), (0, 255, 0, 128)), RUN, TOP[1:3], False, "webcam")
    assert [p.id for p in store.list()] == [from_bytes.id, from_path.id, from_image.id]  # oldest first
    assert from_bytes.id < from_path.id < from_image.id
    got = store.get(from_bytes.id)
    assert got == from_bytes and got.top == TOP[:3] and got.path == store.folder / f"{got.id}.jpg"
    assert (got.predicted, got.confidence, got.margin) == ("cat", 0.7, pytest.approx(0.5))
    assert store.get(from_path.id).margin == 0.7 and store.get(from_path.id).not_sure  # one class: the top itself
    assert got.bytes == got.path.stat().st_size and got.time.startswith("20") and got.time.endswith("+00:00")
    assert got.verdict is got.truth is got.change_id is got.dataset is None and got.source == "api"
    record = got.to_dict()
    assert json.loads(json.dumps(record)) == record and record["top"] == [["cat", 0.7], ["dog", 0.2], ["fox", 0.06]]
    assert record["path"] == str(got.path)
    assert Image.open(from_path.path).size == (50, 20) and Image.open(from_image.path).mode == "RGB"
    assert store.total_bytes() == sum(p.stat().st_size for p in store.folder.iterdir())
    moved = KeptStore(tmp_path / "moved")  # a folder moved elsewhere still finds its pictures: no path is saved
    store.folder.rename(moved.folder)
    assert [p.path for p in moved.list()] == [moved.folder / f"{p.id}.jpg" for p in (from_bytes, from_path, from_image)]


def test_nothing_is_written_for_a_broken_file_a_bomb_or_bad_details(store, tmp_path):
    bomb, huge = declaring(30_000, 30_000), declaring(10_000, 10_000)  # over Pillow's refusal; over the app's limit
    assert 10_000 * 10_000 > MAX_PIXELS
    broken = jpeg()[:200]
    (tmp_path / "bomb.png").write_bytes(bomb)
    (tmp_path / "text.jpg").write_text("not a picture")
    for picture, kind in [(bomb, "too_large"), (huge, "too_large"), (tmp_path / "bomb.png", "too_large"),
                          (broken, "corrupt not_image"), (b"", "empty"), (tmp_path / "text.jpg", "not_image"),
                          (str(tmp_path / "missing.jpg"), "corrupt"), (Image.new("RGB", (4, 4)), "tiny")]:
        with pytest.raises(UnreadableImage) as refused:
            store.keep(picture, RUN, TOP, False, "api")
        assert refused.value.kind in kind.split() and refused.value.reason
    for top, run, source in [([], RUN, "api"), ([("cat", 1.5)], RUN, "api"), ([("cat",)], RUN, "api"),
                             (TOP, "../elsewhere", "api"), (TOP, RUN, "email")]:
        with pytest.raises(ValueError):
            store.keep(jpeg(), run, top, False, source)
    with pytest.raises(TypeError):
        store.keep(12, RUN, TOP, False, "api")
    assert files(store.folder) == [] and store.list() == [] and store.total_bytes() == 0
    assert set(SOURCES) == {"predict", "demo", "link", "webcam", "folder", "api"}


def test_metadata_is_stripped_and_the_picture_kept_upright(store, tmp_path):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # shown turned a quarter: the app's decoder turns the pixels
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (51.0, 30.0, 12.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    left_red = Image.new("RGB", (64, 32), (220, 20, 20))
    left_red.paste((20, 20, 220), (32, 0, 64, 32))
    source = tmp_path / "phone.jpg"
    left_red.save(source, "JPEG", quality=95, exif=exif, icc_profile=icc, xmp=b"<x:xmpmeta>secret-garden</x:xmpmeta>")
    sent = source.read_bytes()
    assert b"Exif" in sent and b"ICC_PROFILE" in sent and b"secret-garden" in sent  # the test has metadata to strip
    assert Image.open(source).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    for picture in (source, sent):
        kept = store.keep(picture, RUN, TOP, False, "predict")
        data = kept.path.read_bytes()
        assert b"Exif" not in data and b"ICC_PROFILE" not in data and b"secret-garden" not in data
        with Image.open(kept.path) as image:
            assert image.format == "JPEG" and not image.getexif() and not {"exif", "icc_profile", "xmp"} & set(image.info)
            upright = load_image(source)
            assert image.size == upright.size == (32, 64)
            difference = np.abs(np.asarray(image.convert("RGB"), float) - np.asarray(upright, float)).mean()
            assert difference < 8, "the same pixels, turned upright"


def test_the_longest_side_is_capped(tmp_path):
    store = KeptStore(tmp_path / KEPT, max_side=200)
    wide = store.keep(Image.new("RGB", (900, 300), "white"), RUN, TOP, False, "predict")
    tall = store.keep(jpeg((120, 1000)), RUN, TOP, False, "link")
    small = store.keep(jpeg((150, 100)), RUN, TOP, False, "demo")
    assert [Image.open(p.path).size for p in (wide, tall, small)] == [(200, 67), (24, 200), (150, 100)]
    for side in (0, 10, 63, True, 2.5):
        with pytest.raises(ValueError):
            KeptStore(tmp_path / KEPT, max_side=side)
    for cap in (0, -1, "1", True):
        with pytest.raises(ValueError):
            KeptStore(tmp_path / KEPT, cap_mb=cap)


def test_the_cap_evicts_the_oldest_and_never_the_picture_just_kept(tmp_path):
    store = KeptStore(tmp_path / KEPT, cap_mb=1)  # about four noisy 500 px pictures
    kept = [store.keep(noise(500, seed), RUN, TOP, False, "predict") for seed in range(7)]
    left = [p.id for p in store.list()]
    assert 3 <= len(left) <= 5 and left == [p.id for p in kept[-len(left):]], "the newest stay"
    last_evicted = kept[-len(left) - 1]  # its picture and record (under 1000 bytes) were over the cap
    assert store.total_bytes() <= 1_000_000 < store.total_bytes() + last_evicted.bytes + 1000
    assert not kept[0].path.exists() and not kept[0].path.with_suffix(".json").exists()
    tiny = KeptStore(tmp_path / KEPT, cap_mb=0.01)  # smaller than one picture: only the newest is left
    newest = tiny.keep(noise(100, 99), RUN, TOP, False, "predict")
    assert [p.id for p in tiny.list()] == [newest.id] and files(store.folder) == [f"{newest.id}.jpg", f"{newest.id}.json"]


def test_eviction_takes_unreviewed_pictures_first_and_never_a_filed_one(tmp_path):
    store = KeptStore(tmp_path / KEPT, cap_mb=1)
    filed, right, *rest = [store.keep(noise(500, seed), RUN, TOP, False, "predict") for seed in range(3)]
    store.update(filed.id, verdict="labelled", truth="cat", change_id=1, dataset=str(tmp_path))
    store.update(right.id, verdict="right")
    for seed in range(3, 9):
        store.keep(noise(500, seed), RUN, TOP, False, "predict")
    left = {p.id: p.verdict for p in store.list()}
    assert left[filed.id] == "labelled", "a filed picture stays: its dataset copy is found through it"
    assert right.id in left and rest[0].id not in left, "the unreviewed older one went before the reviewed one"


def test_an_id_is_a_name_never_a_path(store, tmp_path):
    kept = store.keep(jpeg(), RUN, TOP, False, "api")
    (tmp_path / "x.json").write_text(json.dumps(kept.to_dict()))
    (tmp_path / "x.jpg").write_bytes(jpeg())
    for bad in ("../x", "x", "", "/etc/passwd", f"{kept.id}/../../x", kept.id.upper() + "Z", f"../{KEPT}/{kept.id}",
                kept.id[:-4] + "zzzz", 12, None):
        for action in (store.get, store.delete, lambda i: store.update(i, verdict="right")):
            with pytest.raises(LookupError, match="not the id of a kept picture"):
                action(bad)
    assert (tmp_path / "x.json").is_file() and (tmp_path / "x.jpg").is_file()
    assert [p.id for p in store.list()] == [kept.id]
    with pytest.raises(LookupError, match="no kept picture"):
        store.get(kept.id[:-4] + "abcd")


def test_update_persists_and_delete_removes(store, tmp_path):
    first, second, third = (store.keep(jpeg(colour=(i * 60, 0, 0)), RUN, TOP, False, "predict") for i in range(3))
    updated = store.update(first.id, verdict="labelled", truth="dog", change_id=3, dataset=str(tmp_path / "data"))
    again = KeptStore(store.folder).get(first.id)
    assert again == updated and (again.verdict, again.truth, again.change_id) == ("labelled", "dog", 3)
    assert KeptStore(store.folder).update(first.id, verdict="right", truth=None).truth is None
    assert store.get(first.id).verdict == "right" and store.get(first.id).change_id == 3
    for fields, error in [({"verdict": "maybe"}, ValueError), ({"change_id": "3"}, ValueError),
                          ({"truth": ""}, ValueError), ({"run": "other"}, TypeError), ({"path": "/etc/x"}, TypeError)]:
        with pytest.raises(error):
            store.update(second.id, **fields)
    assert store.get(second.id) == second
    (store.folder / f"{third.id}.json").write_text("{ damaged")
    assert [p.id for p in store.list()] == [first.id, second.id]  # a damaged record is left out, not an error
    assert store.delete(first.id) and not store.delete(first.id)
    assert not first.path.exists() and [p.id for p in store.list()] == [second.id]
    with pytest.raises(LookupError):
        store.get(first.id)
    (store.folder / "notes.txt").write_text("the owner's own file")
    assert store.delete_all() == 2 and files(store.folder) == ["notes.txt"] and store.total_bytes() == 0


def test_two_threads_keeping_twenty_pictures_each_leave_forty_whole_records(tmp_path):
    folder, problems = tmp_path / KEPT, []

    def keep_twenty(thread: int) -> None:
        store = KeptStore(folder)  # a store of its own: the lock is the folder's
        try:
            for i in range(20):
                store.keep(jpeg((24, 24), (thread * 100, i * 10, 50)), RUN, [(f"t{thread}-{i}", 0.9)], False, "api")
                store.list()
        except Exception as err:  # reported below
            problems.append(err)

    threads = [threading.Thread(target=keep_twenty, args=(t,)) for t in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pictures = KeptStore(folder).list()
    assert problems == [] and len(pictures) == 40 and len({p.id for p in pictures}) == 40
    assert {p.predicted for p in pictures} == {f"t{t}-{i}" for t in range(2) for i in range(20)}
    assert all(p.path.stat().st_size == p.bytes for p in pictures) and len(files(folder)) == 80  # no temporaries


def test_settings_are_off_by_default_and_survive_a_damaged_file(tmp_path):
    path = tmp_path / "cache" / "keeping.json"
    assert read_keep_settings(path) == KeepSettings() == KeepSettings(False, 500, 1024)
    write_keep_settings(path, KeepSettings(True, 50, 800))
    assert read_keep_settings(path) == KeepSettings(True, 50, 800)
    path.write_text(json.dumps({"on": "yes", "cap_mb": 0, "max_side": 2048}))
    assert read_keep_settings(path) == KeepSettings(False, 500, 2048)
    path.write_text("{ not json")
    assert read_keep_settings(path) == KeepSettings()
    for bad in ({"on": 1}, {"cap_mb": 0}, {"cap_mb": 2.5}, {"max_side": 10}):
        with pytest.raises(ValueError):
            KeepSettings(**bad)


def test_the_kept_folder_is_never_a_run(tmp_path):
    (tmp_path / KEPT).mkdir()
    (tmp_path / KEPT / "config.json").write_text("{}")  # even with a run's file in it
    KeptStore(tmp_path / KEPT).keep(jpeg(), RUN, TOP, False, "api")
    assert run_folders(tmp_path) == [] and run_records(tmp_path) == []
