"""The shared decoder: odd-but-valid files come out as the right RGB pixels, bad files get a reason."""
import time

import pytest

from core.data.images import MAX_PIXELS, UnreadableImage, load_image
from tests.messy import BAD, BLUE, GREY, RED, make_messy_dataset


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    return make_messy_dataset(tmp_path_factory.mktemp("messy"))


def close(pixel, color, tol=12):
    return all(abs(a - b) <= tol for a, b in zip(pixel, color))


def test_exif_rotation_is_applied_so_the_photo_comes_out_upright(messy):
    image = load_image(messy / "cat/exif-rotated.jpg")
    assert image.size == (32, 64)  # stored 64x32, orientation 6 = turned a quarter clockwise
    assert close(image.getpixel((16, 2)), RED) and close(image.getpixel((16, 61)), BLUE)


@pytest.mark.parametrize("name", ["alpha.png", "palette-transparent.png"])
def test_transparency_is_composited_on_neutral_grey(messy, name):
    image = load_image(messy / "cat" / name)
    assert image.mode == "RGB"
    assert close(image.getpixel((2, 2)), RED) and close(image.getpixel((30, 30)), GREY, tol=1)


def test_other_modes_become_rgb_with_their_true_values(messy):
    assert load_image(messy / "cat/la.png").getpixel((5, 5)) == (200, 200, 200)
    assert close(load_image(messy / "cat/cmyk.jpg").getpixel((5, 5)), RED, tol=4)
    assert load_image(messy / "cat/sixteen-bit.png").getpixel((5, 5)) == (127, 127, 127)  # 32768/65535, not clipped white
    assert load_image(messy / "cat/one-bit.png").getpixel((5, 5)) == (255, 255, 255)
    assert close(load_image(messy / "cat/animated.gif").getpixel((5, 5)), RED, tol=40)  # first frame, not the blue one


@pytest.mark.parametrize("name", ["UPPER.PNG", "ünïcødé 猫.jpg", "photo.webp", "photo.bmp", "photo.tif", "nested/deeper/inside.jpg"])
def test_every_supported_format_and_name_decodes(messy, name):
    image = load_image(messy / "cat" / name)
    assert image.mode == "RGB" and image.size == (64, 64)


def test_a_6000x4000_jpeg_is_decoded_at_reduced_scale(messy):
    started = time.perf_counter()
    image = load_image(messy / "cat/large.jpg")
    assert 1024 <= min(image.size) < 4000 and image.size[0] / image.size[1] == pytest.approx(1.5)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("name,reason", sorted((k, v) for k, v in BAD.items() if not k.endswith(".txt")))
def test_bad_files_raise_with_a_reason(messy, name, reason):
    with pytest.raises(UnreadableImage) as err:
        load_image(messy / name)
    assert reason in err.value.reason


def test_the_pixel_limit_is_a_real_limit():
    assert 24_000_000 < MAX_PIXELS < 100_000_000  # a 6000x4000 photo passes, the 10000x10000 bomb does not
