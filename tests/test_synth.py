import csv
import re
from collections import Counter

from PIL import Image

from rakuten_edge.categories import categories
from rakuten_edge.data.synth import X_TEST, X_TRAIN, Y_TRAIN, class_counts, make_products, synth


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_challenge_format(raw_dir, n_products):
    x, y, t = _rows(raw_dir / X_TRAIN), _rows(raw_dir / Y_TRAIN), _rows(raw_dir / X_TEST)
    assert x[0] == ["", "designation", "description", "productid", "imageid"]
    assert y[0] == ["", "prdtypecode"]
    assert t[0] == x[0]
    assert len(x) - 1 == len(y) - 1 == n_products and len(t) - 1 == 30
    assert [r[0] for r in x[1:]] == [r[0] for r in y[1:]] == [str(i) for i in range(n_products)]
    assert t[1][0] == str(n_products)  # the test index continues the train index, as in the challenge
    names = {p.name for p in (raw_dir / "images/image_train").iterdir()}
    assert len(names) == n_products
    for row in x[1:]:
        assert f"image_{row[4]}_product_{row[3]}.jpg" in names
    img = Image.open(raw_dir / "images/image_train" / sorted(names)[0])
    assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (500, 500))
    assert len(list((raw_dir / "images/image_test").iterdir())) == 30


def test_class_proportions(raw_dir, n_products):
    counts = Counter(int(r[1]) for r in _rows(raw_dir / Y_TRAIN)[1:])
    expected = class_counts(n_products)
    total = sum(c.train_count for c in categories())
    # Label noise moves about 2% of rows; proportions stay within a few rows of the real ones.
    for c in categories():
        assert abs(counts[c.prdtypecode] - expected[c.prdtypecode]) <= max(6, 0.15 * expected[c.prdtypecode])
        assert abs(expected[c.prdtypecode] - n_products * c.train_count / total) < 1
    assert sum(expected.values()) == n_products


def test_quirks_present(raw_dir):
    rows = _rows(raw_dir / X_TRAIN)[1:]
    desc = [r[2] for r in rows]
    n = len(rows)
    empty = sum(not d for d in desc) / n
    assert 0.28 < empty < 0.42
    assert sum(bool(re.search(r"<(br|p|ul|li|strong|span|div)\b", d)) for d in desc) / n > 0.05
    assert sum("&" in r[1] + r[2] and ";" in r[1] + r[2] for r in rows) / n > 0.25
    assert any("Ã" in r[1] + r[2] for r in rows)  # mojibake
    assert any(d in ("nc", "NC", "N/C") for d in desc)
    assert any(re.search(r"\b(und|für|the|with)\b", r[1]) for r in rows)  # German/English rows
    assert max(len(d) for d in desc) > 2500
    assert max(len(r[1]) for r in rows) <= 250


def test_deterministic_for_a_seed():
    a, b, c = make_products(200, 3), make_products(200, 3), make_products(200, 4)
    assert a == b and a != c


def test_refuses_foreign_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    import pytest

    from rakuten_edge.errors import UserError

    with pytest.raises(UserError, match="not empty"):
        synth(tmp_path, n=30, test_n=0)
    assert (tmp_path / "notes.txt").read_text() == "mine"
