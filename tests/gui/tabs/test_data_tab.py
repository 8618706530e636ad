"""Data tab and dataset builder handlers, called directly with real folders and images."""
import io
import zipfile

import pytest
from PIL import Image

from core.errors import DatasetError
from gui.context import AppContext
from gui.tabs.builder import add_pictures, add_zip, open_dataset
from gui.tabs.data import health_view
from tests.messy import make_messy_dataset


@pytest.fixture
def ctx(tmp_path):
    return AppContext(data_root=tmp_path / "data", runs_dir=tmp_path / "runs", initial_dataset=tmp_path / "data",
                      cache_dir=tmp_path / "cache")


def test_health_view_of_a_messy_folder_reads_as_words_not_json(ctx):
    make_messy_dataset(ctx.data_root / "pets")
    *progress, (bar, summary, warnings, chart, skipped, thumbs) = list(health_view(ctx, "pets", 25))
    assert "Checked" in bar and "one folder per class" in summary and "25%" in summary
    assert "6 files skipped" in summary
    assert "Empty class folders" in warnings and "Tiny images" in warnings and "`dog/tiny.png`" in warnings
    assert ["dog/zero.jpg", "empty file (0 bytes)"] in skipped.value["data"] and skipped.label == "Skipped files (6)"
    assert [bar.name for bar in chart.data] == ["train", "valid"] and list(chart.data[0].x) == ["cat", "dog"]
    assert {caption for _, caption in thumbs} == {"cat", "dog"} and not any("bomb" in p for p, _ in thumbs)


def test_health_view_explains_a_wrong_folder_with_the_expected_tree(ctx):
    (ctx.data_root / "just-one" / "cats").mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(ctx.data_root / "just-one" / "cats" / "a.jpg")
    (_, summary, warnings, chart, skipped, thumbs), = list(health_view(ctx, "just-one", 20))
    assert summary.startswith("⚠️") and "only one class folder" in summary and "```text" in summary
    (_, summary, *_), = list(health_view(ctx, "/etc", 20))
    assert "outside the folders this app serves" in summary


def test_builder_handlers_make_a_dataset_and_name_refused_files(ctx, tmp_path):
    folder, classes, said = open_dataset(ctx, "fruit")
    assert classes == [] and "New dataset" in said and folder.endswith("datasets/fruit")
    with pytest.raises(DatasetError, match="Add a class"):
        add_pictures(ctx, "fruit", None, [])
    good, bad = tmp_path / "apple.png", tmp_path / "pear.jpg"
    Image.new("RGB", (20, 20), "red").save(good)
    bad.write_bytes(b"")
    said = add_pictures(ctx, "fruit", "apple", [str(good), str(bad)])
    assert "Added 1 picture(s) to **apple**" in said and "`pear.jpg`: empty file (0 bytes)" in said
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as z:
        out = io.BytesIO()
        Image.new("RGB", (20, 20), "yellow").save(out, "JPEG")
        z.writestr("banana/1.jpg", out.getvalue())
        z.writestr("../evil.jpg", out.getvalue())
    said = add_zip(ctx, "fruit", str(archive))
    assert "Added 1 picture(s)" in said and "`../evil.jpg`" in said
    assert open_dataset(ctx, "fruit")[1] == ["apple", "banana"]
