"""The runtime's tokenizer must give Keras TextVectorization's ids, token for token."""

import numpy as np
import pytest

from rakuten_edge.data.prepared import load_split
from rakuten_edge.runtime.preprocess import TextVectorizer

keras = pytest.importorskip("keras", reason="training extra not installed")

TRICKY = [
    "Élégant ÉTÉ café CAFÉ l'été\xa0insécable co-op l’apostrophe x\u2009y",
    "Prix: 12,50€ !!! (neuf) -- [lot] {x} a/b c\\d «guillemets» naïve Œuvre",
    "tab\tnewline\nretour\r\nfin",
    "",
    "   ",
    "UNSEEN zzzqqq mot-inconnu",
]


@pytest.mark.parametrize("max_tokens, length", [(300, 20), (12000, 150)])
def test_identical_to_keras(prepared_dir, max_tokens, length):
    texts = load_split(prepared_dir, "train").texts
    probe = load_split(prepared_dir, "val").texts + TRICKY
    ours = TextVectorizer.adapt(texts + TRICKY[:2], max_tokens, length)
    layer = keras.layers.TextVectorization(max_tokens=max_tokens, output_sequence_length=length)
    layer.adapt(texts + TRICKY[:2])
    assert ours.vocabulary == [str(t) for t in layer.get_vocabulary()]
    expected = np.asarray(layer(probe))
    got = ours(probe)
    assert got.dtype == np.int32 and got.shape == expected.shape
    assert np.array_equal(got, expected)
    assert (got == 1).any()  # OOV exercised
    if max_tokens < 1000:
        assert len(ours.vocabulary) == max_tokens  # the cut-off (and its tie-breaking) was exercised


def test_save_load_roundtrip(tmp_path):
    v = TextVectorizer.adapt(TRICKY, 50, 8)
    v.save(tmp_path / "vocab.txt")
    w = TextVectorizer.load(tmp_path / "vocab.txt", 8)
    assert w.vocabulary == v.vocabulary and np.array_equal(w(TRICKY), v(TRICKY))
