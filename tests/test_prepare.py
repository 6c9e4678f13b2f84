import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from images import prepared_image

from rakuten_edge.data.prepare import prepare, split_indices
from rakuten_edge.data.prepared import load_split
from rakuten_edge.data.synth import X_TRAIN, Y_TRAIN, synth
from rakuten_edge.errors import UserError
from rakuten_edge.models.config import TINY_IMAGE
from rakuten_edge.runtime.preprocess import clean_text, load_image, product_text


def test_layout(prepared_dir, n_products):
    assert {p.name for p in prepared_dir.iterdir()} >= {"split_train", "split_val", "labels.json", "prepare.json"}
    train, val = load_split(prepared_dir, "train"), load_split(prepared_dir, "val")
    assert len(train) + len(val) == n_products and len(val) == round(0.2 * n_products)
    assert train.pixels.shape == (len(train), TINY_IMAGE.size, TINY_IMAGE.size) and train.pixels.dtype == np.uint8
    assert not set(train.productid) & set(val.productid)
    labels = json.loads((prepared_dir / "labels.json").read_text())
    assert [r["index"] for r in labels] == list(range(27))
    code_of = {r["index"]: r["prdtypecode"] for r in labels}
    assert all(code_of[label] == c for label, c in zip(val.labels, val.prdtypecode))
    # one folder per prdtypecode holding that split's images
    for pid, iid, code in zip(val.productid[:20], val.imageid[:20], val.prdtypecode[:20]):
        assert (prepared_dir / "split_val" / str(code) / f"image_{iid}_product_{pid}.jpg").is_file()


def test_text_is_clean(prepared_dir):
    texts = load_split(prepared_dir, "train").texts
    assert not any("<br" in t or "&eacute;" in t or "Ã©" in t or "  " in t for t in texts)


def test_cached_pixels_equal_runtime_image_path(prepared_dir):
    val = load_split(prepared_dir, "val")
    for i in range(10):
        path = prepared_image(prepared_dir, val, i)
        assert np.array_equal(load_image(path, TINY_IMAGE.size), val.pixels[i])
        assert np.array_equal(load_image(path.read_bytes(), TINY_IMAGE.size), val.pixels[i])


def test_split_reproducible_and_idempotent(raw_dir, prepared_dir, tmp_path):
    a, b = split_indices(1000, 0.2, 42), split_indices(1000, 0.2, 42)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], split_indices(1000, 0.2, 43)[1])
    again = prepare(raw_dir, prepared_dir, seed=42, image_size=TINY_IMAGE.size)
    assert again["skipped"] is True


def test_clean_text():
    assert clean_text("Caf&eacute; <br />cr&egrave;me&#39;s  <b>bio</b>") == "Café crème's bio"
    assert clean_text("CafÃ© Ã\xa0 la crÃ¨me lâ€™été") == "Café à la crème l’été"
    assert clean_text("&amp;eacute;t&amp;eacute;") == "été"
    assert clean_text(None) == "" and clean_text("nan") == ""
    assert product_text("Titre", "") == "Titre"
    assert product_text("Titre", "<p>desc</p>") == "Titre desc"


@pytest.fixture(scope="module")
def pristine_raw(tmp_path_factory):
    out = tmp_path_factory.mktemp("small") / "raw"
    synth(out, n=40, test_n=0, seed=1)
    return out


@pytest.fixture()
def small_raw(pristine_raw, tmp_path):
    """A fresh copy per test (each test corrupts its own); generated once per module."""
    out = tmp_path / "raw"
    shutil.copytree(pristine_raw, out)
    return out


def _rewrite(path, fn):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows = fn(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda raw: next((raw / "images/image_train").iterdir()).unlink(), "missing image"),
        (lambda raw: _rewrite(raw / X_TRAIN, lambda r: r[:2] + [[r[2][0]] + r[1][1:]] + r[3:]), "duplicate productid"),
        (lambda raw: _rewrite(raw / Y_TRAIN, lambda r: r[:3] + [[r[3][0], "9999"]] + r[4:]), "unknown prdtypecode"),
        (
            lambda raw: _rewrite(raw / X_TRAIN, lambda r: [[c for i, c in enumerate(row) if i != 4] for row in r]),
            "missing column",
        ),
        (lambda raw: (raw / Y_TRAIN).unlink(), "missing file"),
    ],
    ids=["missing-image", "duplicate-id", "unknown-code", "missing-column", "missing-file"],
)
def test_bad_raw_data_is_reported(small_raw, tmp_path, corrupt, message):
    corrupt(small_raw)
    out = tmp_path / "prep"
    with pytest.raises(UserError, match=message):
        prepare(small_raw, out)
    assert not out.exists()  # nothing written half-way
    cli = subprocess.run(
        [sys.executable, "-m", "rakuten_edge.cli", "data", "prepare", "--raw", str(small_raw), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2
    assert "Traceback" not in cli.stderr and message in cli.stderr
    assert len(cli.stderr.strip().splitlines()) == 1


def test_failed_prepare_keeps_previous_output(small_raw, tmp_path):
    out = tmp_path / "prep"
    prepare(small_raw, out)
    before = (out / "prepare.json").read_text()
    shutil.rmtree(small_raw / "images")
    with pytest.raises(UserError):
        prepare(small_raw, out, seed=1)
    assert (out / "prepare.json").read_text() == before


def test_image_size_is_checked_when_preparing_and_when_training(small_raw, prepared_dir, tmp_path):
    out = tmp_path / "prep"
    command = ["data", "prepare", "--raw", str(small_raw), "--out", str(out), "--image-size", "4"]
    cli = subprocess.run([sys.executable, "-m", "rakuten_edge.cli", *command], capture_output=True, text=True)
    assert cli.returncode == 2 and cli.stderr.strip() == "error: image size must be between 8 and 512 px, got 4"
    assert not out.exists()
    from rakuten_edge.training import train

    # the seed's models want 128 px; the session's data holds the tiny preset's side: the message names the fix
    tiny = TINY_IMAGE.size
    expected = rf"caches {tiny}px images but the model expects 128px: train with --image-size {tiny},"
    with pytest.raises(UserError, match=expected):
        train("cnn2", data=prepared_dir, out=tmp_path / "runs", preset="seed")
    # --image-size replaces the preset's side before the data are checked against it, and has the same bounds
    with pytest.raises(UserError, match=rf"caches {tiny}px images but the model expects 48px: .*--image-size 48 "):
        train("cnn2", data=prepared_dir, out=tmp_path / "runs", preset="tiny", image_size=48)
    with pytest.raises(UserError, match=r"^image size must be between 8 and 512 px, got 600$"):
        train("cnn2", data=prepared_dir, out=tmp_path / "runs", preset="tiny", image_size=600)
    assert not (tmp_path / "runs").exists()
