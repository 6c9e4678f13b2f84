"""Hostile input, as a user or a file can send it: each case ends in a valid answer or one clear error
(ValueError from the image loader, BundleError from the runtime, exit 2 from the CLI), never anything else."""

import numpy as np
import pytest
from images import encoded, png_claiming
from PIL import Image

from rakuten_edge.runtime.preprocess import TextVectorizer, keras_tokens, load_image, product_text

_save = encoded


def _gradient(mode="RGB", size=(300, 200)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 200, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)


def _exif_rotated() -> bytes:
    img = Image.new("L", (300, 100), 128)
    img.paste(0, (0, 0, 150, 100))  # left half black, right half grey: nothing white to crop
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    return _save(img, "JPEG", exif=exif)


def _animated_gif() -> bytes:
    frames = [Image.new("P", (64, 64), i * 40) for i in range(4)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


JPEG = _save(_gradient(), "JPEG", quality=80)
VALID = {
    "cmyk jpeg": lambda: _save(_gradient("CMYK"), "JPEG"),
    "16-bit png": lambda: _save(Image.fromarray(np.arange(120 * 80, dtype=np.uint16).reshape(80, 120) * 7), "PNG"),
    "float tiff": lambda: _save(Image.fromarray(np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)), "TIFF"),
    "rgba png with alpha": lambda: _save(_gradient("RGBA"), "PNG"),
    "palette png": lambda: _save(_gradient("P"), "PNG"),
    "1-bit png": lambda: _save(_gradient("1"), "PNG"),
    "la png": lambda: _save(_gradient("LA"), "PNG"),
    "1x1": lambda: _save(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"),
    "5000x1": lambda: _save(Image.new("L", (5000, 1), 0), "PNG"),
    "1x5000": lambda: _save(Image.new("L", (1, 5000), 0), "PNG"),
    "all white": lambda: _save(Image.new("RGB", (200, 200), "white"), "JPEG"),
    "animated gif": _animated_gif,
    "exif-rotated jpeg": _exif_rotated,
    "progressive jpeg": lambda: _save(_gradient(), "JPEG", progressive=True),
    "webp": lambda: _save(_gradient(), "WEBP"),
    "bmp": lambda: _save(_gradient(), "BMP"),
    "float array in [0,1]": lambda: np.linspace(0, 1, 50 * 40, dtype=np.float64).reshape(50, 40),
    "int64 array": lambda: np.full((30, 30, 3), 300, dtype=np.int64),
    "hwc1 array": lambda: np.zeros((20, 20, 1), np.uint8),
}
INVALID = {
    "truncated jpeg": lambda: JPEG[: len(JPEG) // 3],
    "random bytes": lambda: np.random.default_rng(1).bytes(4096),
    "empty bytes": lambda: b"",
    "svg renamed .jpg": lambda: b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
    "html": lambda: b"<html><body>not an image</body></html>",
    "bomb by header (40000x40000 png)": lambda: png_claiming(40_000, 40_000),
    "bomb by content (9000x9000 png)": lambda: _save(Image.new("L", (9_000, 9_000), 255), "PNG"),
    "png header only": lambda: _save(Image.new("L", (8, 8)), "PNG")[:40],
    "nan array": lambda: np.full((10, 10), np.nan, np.float32),
    "inf array": lambda: np.full((10, 10), np.inf, np.float32),
    "empty array": lambda: np.zeros((0, 0), np.uint8),
    "4-d array": lambda: np.zeros((2, 2, 2, 2), np.uint8),
    "string array": lambda: np.array([["a", "b"]]),
    "complex array": lambda: np.zeros((4, 4), np.complex64),
}


@pytest.mark.parametrize("case", list(VALID))
def test_odd_but_valid_images_are_classifiable(case):
    pixels = load_image(VALID[case]())
    assert pixels.shape == (128, 128) and pixels.dtype == np.uint8


@pytest.mark.parametrize("case", list(INVALID))
def test_bad_images_are_one_value_error(case):
    with pytest.raises(ValueError) as info:
        load_image(INVALID[case]())
    assert "\n" not in str(info.value) and len(str(info.value)) <= 300


def test_exif_orientation_is_honoured():
    pixels = load_image(_exif_rotated())
    # displayed (rotated 90° clockwise) the strip stands upright, its left (black) half on top, padded left and right;
    # read without the rotation the same spot would be white padding above a wide strip
    assert pixels[10:50, 50:78].mean() < 30 and abs(pixels[80:120, 50:78].mean() - 128) < 10
    assert pixels[:, :30].mean() > 250  # white padding at the sides


def test_paths_that_are_not_images(tmp_path):
    (tmp_path / "dir.jpg").mkdir()
    for path in (tmp_path / "dir.jpg", tmp_path / "missing.jpg"):
        with pytest.raises(ValueError):
            load_image(path)
    unicode = tmp_path / "ünïcødé 商品 📦.jpg"
    unicode.write_bytes(JPEG)
    assert load_image(unicode).shape == (128, 128)


TEXTS = {
    "empty": "",
    "whitespace": " \t\n ",
    "1 MB": "piscine " * (2**20 // 8),
    "nul bytes": "Piscine\x00 hors\x00sol",
    "lone surrogates": "Piscine \ud800 hors \udfff sol",
    "control characters": "".join(chr(i) for i in range(32)) + "Piscine",
    "rtl": "\u202eلوس رهاب مسبح\u202c Piscine",
    "emoji and zwj": "👩‍👩‍👧 Piscine 🏊",
    "combining marks": "Pisc\u0327ine\u0301 e\u0301te\u0301",
    "html soup": "<div><script>alert(1)</script>&amp;eacute;&#x0;&#xD800;</div>",
    "mojibake": "TrÃ¨s bon Ã©tat â€™",
    "nan": "nan",
}


@pytest.mark.parametrize("case", list(TEXTS))
def test_any_text_cleans_and_vectorizes(case):
    text = product_text(TEXTS[case], TEXTS[case])
    assert isinstance(text, str)
    vectorizer = TextVectorizer(["", "[UNK]", "piscine", "hors", "sol"], 20)
    ids = vectorizer([text])
    assert ids.shape == (1, 20) and ids.dtype == np.int32 and ids.min() >= 0 and ids.max() < 5
    keras_tokens(text)


# ------------------------------------------------------------------------------------------------ bundles
def _rehash(bundle, name):
    import hashlib
    import json

    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _edit_manifest(change):
    def apply(bundle, bundles):
        import json

        manifest = json.loads((bundle / "manifest.json").read_text())
        change(manifest)
        (bundle / "manifest.json").write_text(json.dumps(manifest))

    return apply


def _write(name, data):
    return lambda bundle, bundles: (bundle / name).write_bytes(data)


def _truncate(bundle, bundles):
    model = bundle / "model.onnx"
    model.write_bytes(model.read_bytes()[:-1000])


def _flip(bundle, bundles):
    data = bytearray((bundle / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0x01
    (bundle / "model.onnx").write_bytes(bytes(data))


def _other_model(key):
    def apply(bundle, bundles):
        (bundle / "model.onnx").write_bytes((bundles[key]["fp32"] / "model.onnx").read_bytes())
        _rehash(bundle, "model.onnx")

    return apply


def _escape(bundle, bundles):
    _edit_manifest(lambda m: m["files"].update({"../../../../etc/passwd": "0" * 64}))(bundle, bundles)


BUNDLE_CASES = {
    "truncated model": (_truncate, "sha256"),
    "flipped byte": (_flip, "sha256"),
    "manifest not json": (_write("manifest.json", b"{not json"), "unreadable manifest"),
    "manifest not an object": (_write("manifest.json", b"[1, 2, 3]"), "not a JSON object"),
    "manifest binary": (_write("manifest.json", b"\xff\xfe\x00garbage"), "unreadable manifest"),
    "wrong schema": (_edit_manifest(lambda m: m.update(schema_version=99)), "schema version"),
    "missing inputs": (_edit_manifest(lambda m: m.pop("inputs")), "missing or malformed"),
    "missing labels": (_edit_manifest(lambda m: m.pop("labels")), "missing or malformed"),
    "labels of the wrong type": (_edit_manifest(lambda m: m.update(labels="x")), "missing or malformed"),
    "files not a mapping": (_edit_manifest(lambda m: m.update(files=["model.onnx"])), "must map file names"),
    "path escaping the bundle": (_escape, "outside the bundle"),
    "absolute path": (_edit_manifest(lambda m: m["files"].update({"/etc/passwd": "0" * 64})), "outside the bundle"),
    "vocabulary escaping": (
        _edit_manifest(lambda m: m["preprocessing"]["text"].update(vocabulary="../x")),
        "outside the bundle",
    ),
    "unknown format": (_edit_manifest(lambda m: m.update(format="tensorrt-fp8")), "not a bundle format"),
    "unknown text kind": (
        _edit_manifest(lambda m: m["preprocessing"]["text"].update(kind="bpe")),
        "unknown text preprocessing",
    ),
    "vocabulary missing": (lambda bundle, bundles: (bundle / "vocab.txt").unlink(), "vocab.txt is missing"),
    "another token model's graph": (_other_model("cnn2"), "not this bundle's model"),
    "a transformer's graph": (_other_model("camembert-ft"), "not this bundle's model"),
}


CLI_CASES = {
    "truncated model",
    "manifest not an object",
    "path escaping the bundle",
    "missing inputs",
    "another token model's graph",
}


@pytest.mark.parametrize("case", list(BUNDLE_CASES))
@pytest.mark.slow  # a trained model (tiny preset)
def test_bad_bundles_are_one_bundle_error(case, bundles, tmp_path):
    import shutil
    import subprocess
    import sys

    from rakuten_edge.runtime import BundleError, load

    bundle = tmp_path / "bundle"
    shutil.copytree(bundles["cnn3"]["fp32"], bundle)
    change, message = BUNDLE_CASES[case]
    change(bundle, bundles)
    with pytest.raises(BundleError, match=message):
        load(bundle)
    if case not in CLI_CASES:  # the command's one-line path is the same for every BundleError: a few suffice
        return
    image = tmp_path / "x.jpg"
    image.write_bytes(JPEG)
    cli = subprocess.run(
        [sys.executable, "-m", "rakuten_edge.cli", "predict", str(image), "Piscine", "--bundle", str(bundle)],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2 and "Traceback" not in cli.stderr and len(cli.stderr.strip().splitlines()) == 1, (
        cli.stderr[-800:]
    )


@pytest.mark.slow  # a trained model (tiny preset)
def test_python_api_errors_are_clear(bundles):
    from rakuten_edge.runtime import STRICT, InputError, load

    clf = load(bundles["cnn3"]["fp32"])
    with pytest.raises(ValueError, match="texts is None"):
        clf.predict(JPEG, None)
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((50, 50), np.nan), "Piscine")
    with pytest.raises(ValueError, match="images but"):
        clf.predict_proba([JPEG, JPEG], ["a"])
    # The Python API's policy: empty text is scored as empty text (all padding), and the answer says so.
    empty = clf.predict(JPEG, "")
    pixels = load_image(JPEG, clf.image_size)[None]
    expected = clf.prediction(clf.run(clf.encode(pixels, [""]))[0], 3)
    assert empty.issues == ("empty text",) and empty.top_k == expected.top_k
    assert not clf.encode(pixels, [""])[clf.input_names[1]].any()  # the text input is all padding
    # Under the strict policy (predict, serve) the same input is one error naming the field.
    with pytest.raises(InputError, match="product text is empty") as strict:
        clf.predict(JPEG, "", policy=STRICT)
    assert strict.value.field == "designation"


def test_manifest_file_name_with_a_nul_byte(tmp_path):
    # found by `make fuzz`: Path.resolve raised ValueError("embedded null byte") instead of a BundleError
    import json

    from rakuten_edge.runtime import BundleError, read_manifest

    (tmp_path / "manifest.json").write_text(json.dumps({"schema_version": 1, "files": {"model\x00.onnx": "0"}}))
    with pytest.raises(BundleError, match="outside the bundle"):
        read_manifest(tmp_path)
