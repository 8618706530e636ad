"""The one zip reader: paths, links, entry count, declared and actual sizes, per-kind caps, disk room and the datasets
budget are checked before anything is written, and a refused member leaves no file."""
import io
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from core.data.archive import (
    PICTURE,
    RUN_FILE,
    MemberDamaged,
    ZipLimits,
    copy_at_most,
    members,
    open_zip,
    size_problem,
    unpack,
)
from core.data.builder import extract_zip
from core.data.demo import make_shapes_dataset
from core.errors import DatasetError

MB = 2**20


def lie_about_size(path: Path, name: str, declared: int) -> None:
    """Patch the uncompressed size of member `name` in its local and central headers (CRC left as it was)."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at:start + name_at + len(encoded)] == encoded:
                struct.pack_into("<I", data, start + size_at, declared)
                break
            start += 4
        else:
            raise AssertionError(f"no {signature!r} header for {name}")
    path.write_bytes(bytes(data))


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture
def picture(tmp_path) -> bytes:
    dataset = make_shapes_dataset(tmp_path / "shapes", train_per_class=1, valid_per_class=0, size=32)
    return next(dataset.rglob("*.jpg")).read_bytes()


def test_a_lying_header_is_refused_and_nothing_past_its_declared_size_stays(tmp_path, picture):
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("cats/good.jpg", picture)
        z.writestr("cats/liar.png", b"\0" * (5 * MB))  # 5 MB of zeros, its headers say 1,000 bytes
    lie_about_size(archive, "cats/liar.png", 1000)
    with zipfile.ZipFile(archive) as z:
        assert z.getinfo("cats/liar.png").file_size == 1000
    target = tmp_path / "data" / "datasets" / "cats"
    target.mkdir(parents=True)
    result = extract_zip(archive, target)
    assert [p.name for p in result.written] == ["good.jpg"]
    (refused,) = result.rejected
    assert refused["name"] == "cats/liar.png" and "damaged inside the zip" in refused["reason"], refused
    assert "CRC" in refused["reason"]  # the zip module cut it at 1,000 bytes, then found other bytes than declared
    assert [p.name for p in _files(tmp_path / "data")] == ["good.jpg"]


def test_the_counter_stops_at_the_declared_size_whatever_the_stream_gives():
    out = io.BytesIO()
    with pytest.raises(MemberDamaged, match="more than the 1,000 bytes its header declares"):
        copy_at_most(io.BytesIO(b"x" * 50_000), out, 1000, chunk=300)
    assert len(out.getvalue()) <= 1000
    out = io.BytesIO()
    copy_at_most(io.BytesIO(b"x" * 1000), out, 1000, chunk=300)
    assert out.getvalue() == b"x" * 1000


def test_unpack_leaves_no_file_when_a_member_is_damaged(tmp_path):
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a/b.bin", b"\0" * MB)
    lie_about_size(archive, "a/b.bin", 10)
    with open_zip(archive) as z:
        (member,) = members(z, ZipLimits())
        with pytest.raises(MemberDamaged, match="damaged inside the zip"):
            unpack(z, member, tmp_path / "out" / "b.bin")
    assert _files(tmp_path / "out") == []


def test_a_picture_past_the_picture_cap_is_refused_alone_and_a_run_file_has_its_own_cap(tmp_path, picture):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("cats/small.jpg", picture)
        z.writestr("cats/big.png", b"\0" * (3 * MB))
    target = tmp_path / "t"
    target.mkdir()
    result = extract_zip(archive, target, ZipLimits(picture_bytes=2 * MB))
    assert [p.name for p in result.written] == ["small.jpg"]
    assert result.rejected == [{"name": "cats/big.png",
                                "reason": "too large (3 MB unpacked; at most 2 MB per picture)"}]
    with open_zip(archive) as z:
        big = next(m for m in members(z, ZipLimits()) if m.name == "cats/big.png")
    assert size_problem(big, RUN_FILE, ZipLimits(picture_bytes=2 * MB)) is None
    assert "per run file" in size_problem(big, RUN_FILE, ZipLimits(run_file_bytes=MB))
    assert size_problem(big, PICTURE, ZipLimits()) is None  # 3 MB is under the default 50 MB


@pytest.mark.parametrize("name, problem", [
    ("/tmp/evil.jpg", "an absolute path"),
    ("C:/evil.jpg", "an absolute path"),
    ("cats/../../evil.jpg", "a path with .."),
    ("cats\\..\\..\\evil.jpg", "a path with .."),
    ("cats/link.jpg", "a symbolic link"),
    ("cats/./one.jpg", "a second file of the same name"),
])
def test_each_unsafe_path_is_named_and_never_written(tmp_path, picture, name, problem):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        z.writestr("cats/one.jpg", picture)
        info = zipfile.ZipInfo(name)
        if "link" in name:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, picture)
    with open_zip(archive) as z:
        found = members(z, ZipLimits())
    assert [m.problem for m in found] == [None, found[1].problem] and found[1].problem.startswith(problem)
    target = tmp_path / "data" / "t"
    target.mkdir(parents=True)
    before = set(_files(tmp_path))
    result = extract_zip(archive, target)
    assert [p.name for p in result.written] == ["one.jpg"] and result.rejected[0]["name"] == name
    assert set(_files(tmp_path)) - before == {target / "cats" / "one.jpg"}


def test_too_many_entries_folders_included_refuse_the_zip_before_writing(tmp_path, picture):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("cats/", b"")
        z.writestr("dogs/", b"")
        z.writestr("cats/1.jpg", picture)
    target = tmp_path / "t"
    target.mkdir()
    with pytest.raises(DatasetError, match="holds 3 files and folders; at most 2 are accepted"):
        extract_zip(archive, target, ZipLimits(files=2))
    assert list(target.iterdir()) == []
    assert len(extract_zip(archive, target, ZipLimits(files=3)).written) == 1


def test_no_room_on_the_disk_or_in_the_datasets_budget_refuses_before_writing(tmp_path, picture):
    archive = tmp_path / "pics.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("cats/1.jpg", picture)
    room = tmp_path / "data" / "datasets"
    target = room / "t"
    target.mkdir(parents=True)
    (room / "other.bin").write_bytes(b"\0" * MB)
    with pytest.raises(DatasetError, match=r"MB free; this needs .* Free some space"):
        extract_zip(archive, target, ZipLimits(margin_bytes=2**62))
    with pytest.raises(DatasetError, match="holds 1 MB and may hold at most 1 MB.*--max-data-mb"):
        extract_zip(archive, target, ZipLimits(data_bytes=MB + 10), room=room)
    assert list(target.iterdir()) == []
    assert len(extract_zip(archive, target, ZipLimits(data_bytes=2 * MB), room=room).written) == 1


def test_a_file_that_is_not_a_zip_is_a_sentence(tmp_path):
    (tmp_path / "not.zip").write_text("nope")
    with pytest.raises(ValueError, match="not.zip is not a readable .zip file"):
        open_zip(tmp_path / "not.zip", ValueError)
