"""The exported web page in headless Debian Chromium, served by a plain static server: it loads from its own folder
only, classifies every validation picture of the run in the browser like the app does, says "not sure" when the
app does, and makes no request once ready; pictures the browser would decode differently from the app (EXIF
rotation, transparency, a colour profile, PNG gamma, a big JPEG the app reduces, a big PNG it does not) are
decoded as the app decodes them."""
from __future__ import annotations

import base64
import functools
import http.server
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from core.data.images import load_image
from core.export.parity import PARITY_BAR
from core.inference.predict import load_predictor
from core.runstore.folder import RunFolder

# Builds a Blob from base64 bytes in the page, then calls window.transferStudio[how] on it.
CALL = """async ([how, encoded, type]) => {
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    return await window.transferStudio[how](new Blob([bytes], {type}));
}"""
# Shows each base64 picture (a Blob with no type: the page must tell a JPEG by its bytes), in order: for each, the
# ranked answer and the size of the decoded picture on the page's preview canvas.
SHOW_ALL = """async (pictures) => {
    const answers = [];
    for (const encoded of pictures) {
        const blob = new Blob([Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0))]);
        const ranked = await window.transferStudio.show(blob);
        const preview = document.getElementById("preview");
        answers.push({ranked, size: [preview.width, preview.height]});
    }
    return answers;
}"""
# The mean difference (grey levels) between the browser's default decoding of a base64 picture (colour managed)
# and the raw one: proves a test picture's colour profile or gamma would change its pixels if the page applied it.
COLOUR_MANAGED = """async (encoded) => {
    const blob = new Blob([Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0))]);
    const pixels = async (options) => {
        const bitmap = await createImageBitmap(blob, options);
        const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext("2d");
        context.drawImage(bitmap, 0, 0);
        return context.getImageData(0, 0, bitmap.width, bitmap.height).data;
    };
    const [managed, raw] = [await pixels({}), await pixels({colorSpaceConversion: "none"})];
    let total = 0;
    for (let i = 0; i < raw.length; i += 1) total += Math.abs(managed[i] - raw[i]);
    return total / raw.length;
}"""
# Makes the page's createImageBitmap behave as in a browser that knows none of its newer options (a TypeError for an
# unknown enum value, as WebIDL requires) once window.oldBrowser is set.
OLD_BROWSER = """(() => {
    const modern = window.createImageBitmap;
    window.createImageBitmap = (picture, options) => {
        if (window.oldBrowser && options && ("colorSpaceConversion" in options || "premultiplyAlpha" in options)) {
            return Promise.reject(new TypeError("The provided value 'none' is not a valid enum value."));
        }
        return modern(picture, options);
    };
})();"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 (the standard library's name)
        pass


@pytest.fixture
def served(web_export):
    """The unzipped page's folder on a static server at 127.0.0.1 and a free port: its URL."""
    handler = functools.partial(QuietHandler, directory=str(web_export.folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _call(page, how: str, data: bytes, type_: str = "image/jpeg"):
    return page.evaluate(CALL, [how, base64.b64encode(data).decode(), type_])


def test_the_page_classifies_every_validation_picture_like_the_app_offline(web_export, served, browser, tmp_path):
    page = browser.new_page()
    requests, blocked = [], []
    page.on("request", lambda request: requests.append(request.url))

    def only_the_folder(route) -> None:
        if route.request.url.startswith(served):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()
    page.route("**/*", only_the_folder)
    page.goto(served + "index.html")
    labels = page.evaluate("window.transferStudio.ready")
    loaded = len(requests)
    predictor = load_predictor(web_export.run_dir, engine="pytorch")
    assert labels["classes"] == predictor.classes and labels["not_sure_below"] == predictor.threshold
    assert not blocked, blocked

    paths = [path for path, _ in RunFolder(web_export.run_dir).split_items("valid")[1]]
    app = predictor.predict(paths, k=len(predictor.classes))
    agreed, largest = 0, 0.0
    for path, want in zip(paths, app, strict=True):
        got = _call(page, "classify", path.read_bytes())
        assert [g["confidence"] for g in got] == sorted((g["confidence"] for g in got), reverse=True)
        assert abs(sum(g["confidence"] for g in got) - 1) < 1e-4
        agreed += got[0]["label"] == want[0][0]
        wanted = dict(want)
        largest = max(largest, max(abs(g["confidence"] - wanted[g["label"]]) for g in got))
    agreement = agreed / len(paths)
    print(f"browser against the app: top-1 agreement {agreement:.2%} on {len(paths)} pictures, "
          f"largest confidence difference {largest:.4f}")
    assert agreement >= PARITY_BAR, (agreement, largest)
    assert largest < 0.03, largest

    # "not sure" exactly when the app is not sure, on a grey picture, noise and a validation picture
    rng = np.random.default_rng(0)
    odd = {"grey.png": Image.new("RGB", (200, 150), (128, 128, 128)),
           "noise.png": Image.fromarray(rng.integers(0, 256, (160, 120, 3), dtype=np.uint8))}
    for name, picture in odd.items():
        picture.save(tmp_path / name)
    for path in [tmp_path / "grey.png", tmp_path / "noise.png", paths[0]]:
        (answer,) = predictor.answer([path])
        if abs(answer.top[0][1] - predictor.threshold) < 0.02:  # too close to call: decoders differ a little
            continue
        ranked = _call(page, "show", path.read_bytes(), "image/png" if path.suffix == ".png" else "image/jpeg")
        verdict = page.locator("#verdict").inner_text()
        assert verdict.startswith("Not sure") == (not answer.sure), (path.name, verdict, answer)
        assert ranked[0]["label"] in verdict
    assert page.locator("#top li").count() == 3
    assert "pictures per second" in page.locator("#speed").inner_text()
    assert page.evaluate("window.transferStudio.picturesPerSecond()") > 0
    assert requests[loaded:] == [], "the page made requests after it was ready"
    assert not blocked, blocked


def _linear_rgb_profile() -> bytes:
    """Pillow's sRGB ICC profile with its tone curves made linear (gamma 1): a valid RGB profile that a colour-managed
    decoder would apply, brightening every mid-tone."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = int.from_bytes(profile[128:132], "big")
    for entry in range(132, 132 + 12 * count, 12):
        if profile[entry:entry + 4] in (b"rTRC", b"gTRC", b"bTRC"):
            offset = int.from_bytes(profile[entry + 4:entry + 8], "big")
            assert profile[offset:offset + 4] == b"para" and profile[offset + 8:offset + 10] == b"\0\3"
            for i, value in enumerate((1.0, 1.0, 0.0, 1.0, 0.0)):  # Y = (aX + b)^g, else cX: Y = X
                profile[offset + 12 + 4 * i:offset + 16 + 4 * i] = round(value * 65536).to_bytes(4, "big")
    profile[84:100] = bytes(16)  # no profile ID (its MD5): allowed
    ImageCms.ImageCmsProfile(io.BytesIO(bytes(profile)))  # a profile Little CMS reads
    return bytes(profile)


def _odd_pictures(source: Path, folder: Path) -> dict[str, Path]:
    """Pictures made from a validation picture that a browser decodes unlike the app unless told how."""
    picture = Image.open(source).convert("RGB")
    upright = picture.resize((180, 300), Image.BICUBIC)  # portrait: a landscape decoding would crop elsewhere
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show: stored as the upright picture turned the other way
    alpha = np.full((picture.height, picture.width), 255, dtype=np.uint8)
    alpha[:, : picture.width // 3] = 0  # transparent: grey to the app
    alpha[picture.height // 2:picture.height // 2 + 6, picture.width // 3:] = 96  # a half-transparent band
    transparent = picture.convert("RGBA")
    transparent.putalpha(Image.fromarray(alpha))
    gamma = PngImagePlugin.PngInfo()
    gamma.add(b"gAMA", (100000).to_bytes(4, "big"))  # gamma 1.0: a browser applying it brightens mid-tones
    saves = {
        "exif_rotated.jpg": (upright.transpose(Image.Transpose.ROTATE_90), {"exif": exif.tobytes()}),
        "transparent.png": (transparent, {}),
        "icc_profile.jpg": (picture.resize((200, 160), Image.BICUBIC), {"icc_profile": _linear_rgb_profile()}),
        "big_2400x3200.jpg": (picture.resize((2400, 3200), Image.BICUBIC), {"quality": 90}),
        "big_gamma_2100x2400.png": (picture.resize((2100, 2400), Image.BICUBIC), {"pnginfo": gamma}),
    }
    paths = {}
    for name, (image, options) in saves.items():
        paths[name] = folder / name
        image.save(paths[name], **options)
    return paths


def test_pictures_a_browser_decodes_unlike_the_app_are_decoded_as_the_app_does(web_export, served, browser,
                                                                               tmp_path):
    predictor = load_predictor(web_export.run_dir, engine="pytorch")
    valid = [path for path, _ in RunFolder(web_export.run_dir).split_items("valid")[1]]
    # a picture the app is sure of but not certain: confidences of 1.0 everywhere would hide any difference
    confidence = {path: top[0][1] for path, top in zip(valid, predictor.predict(valid, k=1), strict=True)}
    source = min(valid, key=lambda path: abs(confidence[path] - 0.97))
    pictures = _odd_pictures(source, tmp_path)
    app = predictor.predict(list(pictures.values()), k=len(predictor.classes))
    sizes = {name: load_image(path).size for name, path in pictures.items()}
    assert sizes["exif_rotated.jpg"] == (180, 300) and sizes["big_2400x3200.jpg"] == (1200, 1600)
    assert sizes["big_gamma_2100x2400.png"] == (2100, 2400)  # only JPEGs are reduced by the app

    page = browser.new_page()
    page.add_init_script(OLD_BROWSER)
    page.goto(served + "index.html")
    page.evaluate("window.transferStudio.ready")
    encoded = {name: base64.b64encode(path.read_bytes()).decode() for name, path in pictures.items()}
    for name in ("icc_profile.jpg", "big_gamma_2100x2400.png"):
        assert page.evaluate(COLOUR_MANAGED, encoded[name]) > 10, f"{name} would not test colour management"
    shown = page.evaluate(SHOW_ALL, list(encoded.values()))
    # the same pixels as the app's decoder but on the half-transparent band (the canvas composites with its own
    # rounding: a grey level off on some of its pixels) and in the big JPEG (shrunk on a canvas, not by libjpeg's
    # scaled IDCT); the model then differs only by ONNX Runtime Web against PyTorch
    bounds = {"transparent.png": 0.05, "big_2400x3200.jpg": 0.05}
    differences = {}
    for (name, want), got in zip(zip(pictures, app, strict=True), shown, strict=True):
        assert tuple(got["size"]) == sizes[name], (name, got["size"], sizes[name])
        if want[0][1] - want[1][1] > 2 * bounds.get(name, 0.01):  # else within what the decoders may move it
            assert got["ranked"][0]["label"] == want[0][0], (name, got["ranked"], want)
        wanted = dict(want)
        differences[name] = max(abs(g["confidence"] - wanted[g["label"]]) for g in got["ranked"])
    print("largest confidence difference, browser against the app:",
          ", ".join(f"{name} {difference:.4f}" for name, difference in differences.items()))
    assert all(difference < bounds.get(name, 0.01) for name, difference in differences.items()), differences

    # a browser that rejects the newer options still classifies (asked again with fewer), and a file that is not a
    # picture is still said to be one
    page.evaluate("window.oldBrowser = true")
    ranked = _call(page, "classify", pictures["exif_rotated.jpg"].read_bytes())
    assert ranked[0]["label"] == app[0][0][0], ranked
    with pytest.raises(Exception, match="This file is not a picture this browser can read"):
        _call(page, "classify", b"not a picture at all")
