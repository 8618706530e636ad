"""Dataset builder: uploads land in class folders; a malicious zip writes nothing outside its target."""
import io
import stat
import zipfile

import pytest
from PIL import Image

from core.data.archive import ZipLimits
from core.data.builder import add_images, class_images, dataset_folder, extract_zip, remove_image, safe_name
from core.data.scan import scan_dataset
from core.errors import DatasetError


def jpeg_bytes(color=(200, 50, 50), size=32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, "JPEG")
    return out.getvalue()


def test_upload_and_webcam_images_make_a_dataset_that_scans_as_flat(tmp_path):
    folder = dataset_folder(tmp_path / "data", "My pets")
    assert folder == (tmp_path / "data/datasets/My pets").resolve()
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for i in range(3):
        (uploads / f"c{i}.jpg").write_bytes(jpeg_bytes((200, 20 * i, 50)))
    (uploads / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (uploads / "notes.txt").write_text("x")
    cats = add_images(folder, "cat", sorted(uploads.iterdir()))
    assert [p.name for p in cats.written] == ["c0.jpg", "c1.jpg", "c2.jpg"]
    assert {r["name"] for r in cats.rejected} == {"broken.jpg", "notes.txt"}
    again = add_images(folder, "cat", [uploads / "c0.jpg"])
    assert again.written[0].name == "c0-1.jpg"  # a second upload of the same name never overwrites
    dogs = add_images(folder, "dog", [Image.new("RGB", (40, 30), (10, 10, 200)) for _ in range(2)])
    assert len(dogs.written) == 2 and all(p.suffix == ".jpg" for p in dogs.written)
    remove_image(folder, cats.written[1])
    assert {k: len(v) for k, v in class_images(folder).items()} == {"cat": 3, "dog": 2}
    assert scan_dataset(folder).layout == "flat"
    with pytest.raises(DatasetError):
        remove_image(folder, tmp_path / "uploads" / "c0.jpg")
    assert (uploads / "c0.jpg").exists()


@pytest.mark.parametrize("text,name", [("  cats ", "cats"), ("../../etc", "etc"), ("a/b\\c", "a-b-c"), ("Kätzchen 🐱", "Kätzchen 🐱")])
def test_names_cannot_leave_the_folder(text, name):
    assert safe_name(text) == name


def test_empty_names_are_refused():
    with pytest.raises(DatasetError, match="Type a"):
        safe_name(" ../ ")


def test_malicious_zip_writes_nothing_outside_its_target(tmp_path):
    target = tmp_path / "data/datasets/zipped"
    target.mkdir(parents=True)
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("pets/cat/1.jpg", jpeg_bytes())
        z.writestr("pets/dog/2.jpg", jpeg_bytes((20, 20, 200)))
        z.writestr("pets/../../escaped.jpg", jpeg_bytes())
        z.writestr("/tmp/absolute.jpg", jpeg_bytes())
        z.writestr("C:/windows.jpg", jpeg_bytes())
        link = zipfile.ZipInfo("pets/cat/link.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
        z.writestr("pets/cat/readme.txt", "hello")
        z.writestr("pets/cat/broken.jpg", b"\xff\xd8 not really")
        z.writestr("__MACOSX/pets/cat/._1.jpg", b"junk")
    before = {p for p in tmp_path.rglob("*")}
    result = extract_zip(archive, target)
    written = {p for p in tmp_path.rglob("*")} - before
    assert all(target.resolve() in p.resolve().parents for p in written), written
    assert sorted(p.relative_to(target.resolve()).as_posix() for p in result.written) == ["cat/1.jpg", "dog/2.jpg"]
    reasons = {r["name"]: r["reason"] for r in result.rejected}
    assert set(reasons) == {"pets/../../escaped.jpg", "/tmp/absolute.jpg", "C:/windows.jpg", "pets/cat/link.jpg",
                            "pets/cat/readme.txt", "pets/cat/broken.jpg"}
    assert "outside" in reasons["pets/../../escaped.jpg"] and "link" in reasons["pets/cat/link.jpg"]
    assert not (tmp_path / "data/escaped.jpg").exists() and not (tmp_path / "escaped.jpg").exists()


def test_zip_size_and_count_limits_refuse_before_writing(tmp_path):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for i in range(5):
            z.writestr(f"c/{i}.jpg", b"\0" * 1_000_000)
    target = tmp_path / "t"
    target.mkdir()
    with pytest.raises(DatasetError, match="at most 3 are accepted"):
        extract_zip(archive, target, ZipLimits(files=3))
    with pytest.raises(DatasetError, match="unpacks to 5.0 MB; at most 2.0 MB"):
        extract_zip(archive, target, ZipLimits(total_bytes=2_000_000))
    (tmp_path / "not.zip").write_text("nope")
    with pytest.raises(DatasetError, match="not a readable .zip"):
        extract_zip(tmp_path / "not.zip", target)
    assert list(target.iterdir()) == []
