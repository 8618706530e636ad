"""The shared decoder: odd-but-valid files come out as the right RGB pixels, bad files get a reason."""
import struct
import zlib

import pytest

from core.data.images import MAX_PIXELS, UnreadableImage, load_image, load_image_bytes
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


def test_a_6000x4000_jpeg_is_decoded_in_draft_mode_at_the_smallest_scale_keeping_1024_px(messy):
    """JPEG draft mode decodes at 1/2, 1/4 or 1/8 of the size, a fraction of the work of a full decode."""
    path = messy / "cat/large.jpg"
    assert load_image(path).size == (3000, 2000)  # 1/4 would leave 1000 px on the short side, under 1024
    assert load_image(path, draft_side=500).size == (750, 500)  # 1/8
    assert load_image(path, draft_side=0).size == (6000, 4000)  # draft mode off: the full decode
    assert close(load_image(path).getpixel((1500, 1000)), load_image(path, draft_side=0).getpixel((3000, 2000)),
                 tol=40), "the reduced decode shows the same picture"


@pytest.mark.parametrize("name,reason", sorted((k, v) for k, v in BAD.items() if not k.endswith(".txt")))
def test_bad_files_raise_with_a_reason(messy, name, reason):
    with pytest.raises(UnreadableImage) as err:
        load_image(messy / name)
    assert reason in err.value.reason


def _png_without_pixels(width: int, height: int) -> bytes:
    """A 1-bit PNG claiming width x height pixels, its data cut off after a few bytes: only its size can be read."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_an_image_one_row_over_the_pixel_limit_is_refused_by_its_size_alone():
    """The limit is this decoder's own, below Pillow's bomb error, and is checked before any pixel is decoded."""
    width = 10_000
    height = MAX_PIXELS // width + 1
    with pytest.raises(UnreadableImage) as err:
        load_image_bytes(_png_without_pixels(width, height))
    assert err.value.kind == "too_large" and f"{width}x{height}" in err.value.reason
    with pytest.raises(UnreadableImage) as err:  # at the limit the size passes; the missing pixels do not
        load_image_bytes(_png_without_pixels(width, MAX_PIXELS // width))
    assert err.value.kind != "too_large"
