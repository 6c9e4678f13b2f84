"""The page `rakuten-edge web` builds, driven in headless Chromium: its probabilities against the Python runtime's,
and its messages on bad input. Skips (saying why) only where selenium or Chromium is absent; `.ci/run` installs
Chromium with `make web-tools` before `make test`."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from rakuten_edge.errors import UserError
from rakuten_edge.runtime import load
from rakuten_edge.web import build_site
from rakuten_edge.web.browser import missing_tools

REASON = missing_tools()
N_PNG, N_JPEG = 60, 100
needs_browser = pytest.mark.skipif(REASON is not None, reason=str(REASON))
pytestmark = pytest.mark.xdist_group("web")  # one browser and one site for the module, on one worker


@pytest.fixture(scope="module")
def page(bundles, tmp_path_factory):
    from rakuten_edge.web.browser import Page

    root = tmp_path_factory.mktemp("web")
    site = build_site(bundles["cnn3"]["fp32"], root / "site")
    with Page(site.out, root / "profile") as opened:
        yield opened


def _products(raw_dir, n: int):
    with open(raw_dir / "X_train_update.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[:n]
    folder = raw_dir / "images" / "image_train"
    return [
        (folder / f"image_{r['imageid']}_product_{r['productid']}.jpg", r["designation"], r["description"])
        for r in rows
    ]


def _png_parity(page, clf, products, folder) -> tuple[float, int]:
    """The page's answers on PNGs (decoded alike everywhere) against the runtime's: worst max |Δp|, top-1 agreed."""
    worst, agree = 0.0, 0
    for jpg, title, description in products:
        png = folder / (jpg.stem + ".png")
        Image.open(jpg).convert("RGB").save(png)
        answer = page.classify(png, title, description)
        assert answer.error is None, answer.error
        expected = clf.predict_proba([png], [title], [description])[0]
        worst = max(worst, float(np.abs(np.array(answer.probs) - expected).max()))
        agree += int(np.argmax(answer.probs) == np.argmax(expected))
    return worst, agree


@needs_browser
@pytest.mark.slow  # a trained model (tiny preset)
def test_png_probabilities_match_the_python_runtime(page, bundles, raw_dir, tmp_path):
    worst, agree = _png_parity(page, load(bundles["cnn3"]["fp32"]), _products(raw_dir, N_PNG), tmp_path)
    assert worst <= 1e-4, worst
    assert agree == N_PNG


@needs_browser
@pytest.mark.slow  # a trained model (tiny preset)
def test_ngram_page_matches_the_python_runtime(bundles, raw_dir, tmp_path_factory):
    """The sixth model's text rule (CRC-32 n-grams, TF-IDF) mirrored in preprocess.js: same probabilities."""
    from rakuten_edge.web.browser import Page

    root = tmp_path_factory.mktemp("web-ngram")
    site = build_site(bundles["ngram"]["fp32"], root / "site")
    assert {p.name for p in (site.out / "model").iterdir()} >= {"idf.f32", "model.onnx", "config.json"}
    with Page(site.out, root / "profile") as page:
        worst, agree = _png_parity(page, load(bundles["ngram"]["fp32"]), _products(raw_dir, 30), root)
    assert worst <= 1e-4 and agree == 30, (worst, agree)


@needs_browser
@pytest.mark.slow  # a trained model (tiny preset)
def test_jpeg_top1_agrees(page, bundles, raw_dir):
    # Python decodes JPEGs in draft mode (libjpeg at 1/2 scale), the page at full size and then averages 2x2 blocks:
    # 0.1 grey level apart on average, but one level can move the white-border crop by a pixel. On a cnn3 seed
    # trained on 4,000 rows that changed no top-1 in 200 JPEGs (median max |dp| 0.0004; benchmarks/web.py's
    # setting). This suite's cnn3 has 4 tiny epochs and many near-ties, and which rows tie depends on the CPU that
    # trained it: 98/100 agreed on an AMD EPYC with AVX-512 (one flip at a 0.065 margin); 96/100 on one without
    # AVX-512, its four flips at margins under 0.01. So: every flip is a near-tie (margin under 0.1), at least 95%
    # agree, and the probabilities are close on the typical row.
    clf = load(bundles["cnn3"]["fp32"])
    products = _products(raw_dir, N_JPEG)
    answers = [page.classify(*p) for p in products]
    assert all(a.error is None for a in answers), [a.error for a in answers if a.error][:3]
    expected = clf.predict_proba([p[0] for p in products], [p[1] for p in products], [p[2] for p in products])
    got = np.array([a.probs for a in answers])
    agree = got.argmax(1) == expected.argmax(1)
    top2 = np.sort(expected, axis=1)[:, -2:]
    margins = top2[:, 1] - top2[:, 0]
    assert (margins[~agree] < 0.1).all(), margins[~agree]
    assert agree.mean() >= 0.95, agree.sum()
    assert np.median(np.abs(got - expected).max(1)) <= 0.01


@needs_browser
@pytest.mark.slow  # a trained model (tiny preset)
def test_bad_input_shows_a_message(page, raw_dir, tmp_path):
    jpg, title, _ = _products(raw_dir, 1)[0]
    text = tmp_path / "notes.jpg"
    text.write_text("not an image at all")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    huge = tmp_path / "huge.png"
    Image.new("L", (9000, 9000), 255).save(huge)  # 81 M pixels: over the runtime's 64 M limit
    cases = {
        "not an image": (text, title, "not an image format"),
        "empty file": (empty, title, "is empty"),
        "huge image": (huge, title, "over the limit"),
        "empty title": (jpg, "   ", "title"),
        "no image": (None, title, "pick or drop"),
    }
    for case, (image, words, expected) in cases.items():
        answer = page.classify(image, words)
        assert answer.probs is None and answer.error and expected in answer.error, (case, answer)
    assert page.classify(jpg, title).error is None  # the page still works after them


@pytest.mark.slow  # a trained model (tiny preset)
def test_site_is_self_contained(bundles, tmp_path):
    site = build_site(bundles["cnn3"]["int8"], tmp_path / "site")
    names = {str(p.relative_to(site.out)) for p in site.out.rglob("*") if p.is_file()}
    assert {
        "index.html",
        "app.js",
        "preprocess.js",
        "model/model.onnx",
        "model/vocab.json",
        "ort/ort.wasm.min.js",
    } <= names
    config = json.loads((site.out / "model" / "config.json").read_text())
    assert config["text_inputs"] == [{"name": "tokens", "dtype": "int32"}] and len(config["labels"]) == 27
    for url in ("http://", "https://"):  # nothing fetched from elsewhere
        assert url not in (site.out / "index.html").read_text() + (site.out / "app.js").read_text()
    with pytest.raises(UserError, match="text preprocessing"):
        build_site(bundles["camembert-ft"]["fp32"], tmp_path / "other")
