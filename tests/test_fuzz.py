"""Fuzzing (hypothesis): whatever bytes, images, text or JSON arrive, the answer is valid or one clear error.

`make test` runs the small `ci` profile; `make fuzz` runs the `fuzz` profile (10,000 examples per property).
"""

import contextlib
import io
import json
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from rakuten_edge.runtime import BundleError, read_manifest
from rakuten_edge.runtime.preprocess import TextVectorizer, load_image, product_text

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("fuzz", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FORMATS = {
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"},
    "JPEG": {"L", "RGB", "CMYK"},
    "TIFF": {"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "I;16", "F"},
    "BMP": {"1", "L", "P", "RGB"},
    "GIF": {"L", "P"},
    "WEBP": {"RGB", "RGBA"},
}
WIDE = {"I": np.int32, "I;16": np.uint16, "F": np.float32}  # built from arrays, not by conversion


def _valid(pixels) -> bool:
    return isinstance(pixels, np.ndarray) and pixels.shape == (128, 128) and pixels.dtype == np.uint8


@given(st.binary(max_size=4096))
def test_image_loader_on_random_bytes(data):
    with contextlib.suppress(ValueError):  # a clear ValueError is an allowed answer; anything else fails
        assert _valid(load_image(data))


@given(
    st.binary(min_size=8, max_size=64),
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"RIFF"]),
)
def test_image_loader_on_corrupt_files_with_real_magic(tail, magic):
    with contextlib.suppress(ValueError):
        assert _valid(load_image(magic + tail))


@st.composite
def images(draw):
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(sorted(FORMATS[fmt])))
    width, height = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if mode in WIDE:
        img = Image.fromarray((rng.random((height, width)) * 60000).astype(WIDE[mode]))
    else:
        img = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(images())
def test_image_loader_on_every_mode_and_size(data):
    assert _valid(load_image(data))


@given(st.text(), st.one_of(st.none(), st.text()))
def test_text_cleaning_and_vectorizing_on_any_unicode(designation, description):
    text = product_text(designation, description)
    assert isinstance(text, str) and text == text.strip() and "  " not in text
    assert "\t" not in text and "\n" not in text  # whitespace is collapsed to single spaces
    ids = TextVectorizer(["", "[UNK]", "a", "b"], 16)([text])
    assert ids.shape == (1, 16) and ids.dtype == np.int32 and ids.min() >= 0 and ids.max() <= 3


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@st.composite
def manifests(draw):
    base = draw(st.dictionaries(st.text(max_size=12), JSON, max_size=6))
    if draw(st.booleans()):
        base["schema_version"] = 1
    if draw(st.booleans()):
        base["files"] = draw(st.one_of(JSON, st.dictionaries(st.text(max_size=20), st.text(max_size=64))))
    return draw(st.one_of(st.just(base), JSON))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifests())
def test_manifest_reader_on_any_json(tmp_path, manifest):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    try:
        assert isinstance(read_manifest(tmp_path), dict)
    except BundleError as exc:
        assert "\n" not in str(exc)
