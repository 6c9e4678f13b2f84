"""The generator's text against the real catalogue's figures (issue 13): a long tail, not a closed word list."""

import pytest

from rakuten_edge.data.baseline import tfidf_accuracy
from rakuten_edge.data.longtail import pseudo_word, reference, roughen, strip_accents
from rakuten_edge.data.synth import make_products
from rakuten_edge.data.textstats import REAL_DISTINCT, REAL_HAPAX_SHARE, REAL_ROWS, REAL_TOKENS, text_stats
from rakuten_edge.runtime.preprocess import product_text


def _stats(n: int, seed: int = 42):
    return text_stats(product_text(p.designation, p.description) for p in make_products(n, seed))


def test_vocabulary_matches_the_real_long_tail():
    real_per_1000 = 1000 * REAL_DISTINCT / REAL_TOKENS
    got = _stats(REAL_ROWS)
    assert got.per_1000 == pytest.approx(real_per_1000, rel=0.30), got
    assert got.hapax_share == pytest.approx(REAL_HAPAX_SHARE, abs=0.10), got
    assert got.tokens / got.rows == pytest.approx(REAL_TOKENS / REAL_ROWS, rel=0.30), got


@pytest.mark.slow  # about 11 s: 8,495 generated texts
def test_vocabulary_keeps_growing_with_the_corpus():
    # Heaps' law: distinct ~ K * tokens^beta with 0 < beta < 1 (real text: about 0.4-0.7).
    small, large = _stats(REAL_ROWS), _stats(4 * REAL_ROWS, seed=43)
    growth = large.distinct / small.distinct
    assert 1.6 < growth < 4 * 0.9, (small, large)
    assert large.per_1000 < small.per_1000


def test_long_tail_pieces():
    assert pseudo_word(5, 0) == pseudo_word(5, 0) != pseudo_word(5, 1)
    assert len({pseudo_word(r, 0) for r in range(2000)}) > 1900  # ranks map to distinct words
    assert strip_accents("crème brûlée") == "creme brulee"
    import numpy as np

    rng = np.random.default_rng(0)
    assert all(ref and " " not in ref for ref in (reference(rng) for _ in range(200)))
    words = ["été", "pièces", "télévision"] * 50
    rough = roughen(rng, words, 0.1, 0.3)
    assert len(rough) == len(words) and rough != words


@pytest.mark.slow  # about 30 s: 10,000 texts and a logistic regression
def test_tfidf_baseline_stays_as_hard_as_before():
    # Issue 13: on 10,000 generated texts the baseline must not rise above the old generator's ~0.84 (0.8165 by
    # this exact recipe); on 8,000 real texts it scores about 0.67. The long tail made it 0.809. The same objective
    # through newton-cg: 0.8140 against lbfgs' 0.8145 on today's generator, in 17 s instead of 29.
    products = make_products(10_000, 42)
    accuracy = tfidf_accuracy(
        [product_text(p.designation, p.description) for p in products],
        [p.prdtypecode for p in products],
        solver="newton-cg",
    )
    assert 0.5 < accuracy <= 0.84
