"""The n-gram model's text features (runtime/ngrams.py) against the rule its docstring and manifest write out, and
against scikit-learn's TF-IDF; then the trained tiny model through the one path."""

import zlib

import numpy as np
import pytest

from rakuten_edge.runtime.ngrams import HashedNgrams, NgramSpec, fit_idf

TEXTS = [
    "Le Petit-Prince, édition illustrée",
    "Piscine tubulaire ronde 3,05 x 0,76 m avec pompe",
    "jeu de société pour enfants; jeu de cartes",
    "",
    "Lot de 3 figurines Pop! Star Wars",
]


def test_features_follow_the_written_rule():
    spec = NgramSpec(word_ngrams=(1, 2), char_ngrams=(3, 4))
    # Keras' rule: ASCII lower-casing ("É" would stay), its punctuation set removed ("-" and "," too), ASCII split.
    assert spec.features("Le Petit-Prince, Été") == [
        "w:le",
        "w:petitprince",
        "w:Été",
        "w:le petitprince",
        "w:petitprince Été",
        *("c: le", "c:le "),
        "c: le ",
        *(f"c:{' petitprince '[i : i + 3]}" for i in range(11)),
        *(f"c:{' petitprince '[i : i + 4]}" for i in range(10)),
        *("c: Ét", "c:Été", "c:té "),
        *("c: Été", "c:Été "),
    ]
    assert NgramSpec(max_words=2).features("a b c")[:3] == ["w:a", "w:b", "w:a b"]


def test_hash_is_crc32_as_the_manifest_says():
    # CRC-32/ISO-HDLC's check value: what a re-implementation (the page's JS, another runtime) can test against.
    assert zlib.crc32(b"123456789") == 0xCBF43926
    spec = NgramSpec(buckets=1000, seed=7, word_ngrams=(1, 1), char_ngrams=(5, 5))
    assert spec.counts("ab ab") == {zlib.crc32(b"w:ab", 7) % 1000: 2}


def test_weights_are_scikit_learns_sublinear_tfidf():
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfTransformer

    spec = NgramSpec(buckets=2048)
    train = TEXTS * 3 + ["piscine hors sol", "figurine pop marvel"]

    def counts(texts):
        rows = [spec.counts(t) for t in texts]
        data = [(c, r, i) for r, row in enumerate(rows) for i, c in row.items()]
        values, r, c = zip(*data) if data else ((), (), ())
        return csr_matrix((values, (r, c)), shape=(len(texts), spec.buckets), dtype=np.float64)

    theirs = TfidfTransformer(sublinear_tf=True).fit(counts(train)).transform(counts(TEXTS)).toarray()
    encoder = HashedNgrams(spec, fit_idf(spec, train))
    ids, weights = encoder(TEXTS)
    ours = np.zeros((len(TEXTS), spec.buckets))
    for r in range(len(TEXTS)):
        np.add.at(ours[r], ids[r], weights[r])
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert ids.dtype == np.int32 and weights.dtype == np.float32
    assert not weights[3].any(), "an empty text has no features"
    for row_ids, row_w in zip(ids, weights):
        kept = row_ids[row_w > 0]
        assert (np.diff(kept) > 0).all(), "ids in ascending order"


def test_per_kind_norm_gives_words_and_characters_unit_length_each():
    """norm "per-kind": scikit-learn's sublinear TF-IDF of the word n-grams and of the character n-grams, each
    L2-normalised, summed per bucket; the cap keeps the largest sums and does not normalise again."""
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfTransformer

    spec = NgramSpec(buckets=2048, norm="per-kind")
    train = TEXTS * 3 + ["piscine hors sol", "figurine pop marvel"]
    idf = fit_idf(spec, train)

    def kind(texts, k):
        rows = [spec.kind_counts(t)[k] for t in texts]
        data = [(c, r, i) for r, row in enumerate(rows) for i, c in row.items()]
        values, r, c = zip(*data) if data else ((), (), ())
        return csr_matrix((values, (r, c)), shape=(len(texts), spec.buckets), dtype=np.float64)

    tfidf = TfidfTransformer(sublinear_tf=True)
    tfidf.fit(kind(train, 0) + kind(train, 1))  # one IDF per bucket over both kinds, as fit_idf
    np.testing.assert_allclose(tfidf.idf_, idf, rtol=1e-6)
    theirs = sum(tfidf.transform(kind(TEXTS, k)).toarray() for k in (0, 1))
    ids, weights = HashedNgrams(spec, idf)(TEXTS)
    ours = np.zeros((len(TEXTS), spec.buckets))
    for r in range(len(TEXTS)):
        np.add.at(ours[r], ids[r], weights[r])
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert np.linalg.norm(ours[1]) > 1.1, "two unit-length kinds, not one unit vector"
    capped_ids, capped = HashedNgrams(NgramSpec(buckets=2048, norm="per-kind", max_features=8), idf)([TEXTS[1]])
    top = sorted(zip(-weights[1], ids[1]))[:8]
    assert sorted(capped_ids[0].tolist()) == sorted(int(i) for _, i in top)
    np.testing.assert_allclose(sorted(capped[0]), sorted(-w for w, _ in top), rtol=1e-6)
    with pytest.raises(ValueError, match="norm"):
        NgramSpec(norm="l1")
    assert NgramSpec.from_dict({**spec.__dict__, "norm": "per-kind"}).norm == "per-kind"
    old = {k: v for k, v in spec.__dict__.items() if k != "norm"}
    assert NgramSpec.from_dict(old).norm == "joint", "a manifest from before `norm` keeps its rule"


def test_cap_keeps_the_largest_weights_then_renormalises():
    spec, capped = NgramSpec(buckets=4096), NgramSpec(buckets=4096, max_features=8)
    idf = fit_idf(spec, TEXTS)
    full_ids, full_w = HashedNgrams(spec, idf)([TEXTS[1]])
    ids, w = HashedNgrams(capped, idf)([TEXTS[1]])
    assert ids.shape == (1, 8) and np.linalg.norm(w) == pytest.approx(1, abs=1e-6)
    top = sorted(zip(-full_w[0], full_ids[0]))[:8]
    assert sorted(ids[0].tolist()) == sorted(int(i) for _, i in top)
    assert ids.shape[1] < full_ids.shape[1]


def test_padding_width_and_bad_specs():
    encoder = HashedNgrams(NgramSpec(buckets=512), fit_idf(NgramSpec(buckets=512), TEXTS))
    ids, w = encoder(TEXTS[:1])
    wide_ids, wide_w = encoder(TEXTS[:1], width=ids.shape[1] + 5)
    assert (wide_ids[0, : ids.shape[1]] == ids[0]).all() and not wide_w[0, ids.shape[1] :].any()
    assert encoder([""])[0].shape == (1, 1)
    with pytest.raises(ValueError, match="word_ngrams"):
        NgramSpec(word_ngrams=(2, 1))
    with pytest.raises(ValueError, match="buckets"):
        HashedNgrams(NgramSpec(buckets=8), np.ones(9, np.float32))


def test_spec_round_trips_through_the_manifest_section(tmp_path):
    spec = NgramSpec(buckets=1024, max_features=64, seed=3)
    encoder = HashedNgrams(spec, fit_idf(spec, TEXTS))
    assert encoder.save(tmp_path) == ["ngram_idf.f32", "ngram.json"]
    again = HashedNgrams.from_run(tmp_path)
    assert again.spec == spec and np.array_equal(again.idf, encoder.idf)
    assert (tmp_path / "ngram_idf.f32").stat().st_size == 4 * 1024


@pytest.mark.slow  # a trained model (tiny preset)
def test_trained_ngram_bundle_answers_do_not_depend_on_padding(bundles, prepared_dir):
    from rakuten_edge.data.prepared import load_split
    from rakuten_edge.runtime import load

    val = load_split(prepared_dir, "val").head(24)
    clf = load(bundles["ngram"]["fp32"])
    text = clf.manifest["preprocessing"]["text"]
    assert NgramSpec.from_dict(text).buckets == text["buckets"] and text["idf"] in clf.manifest["files"]
    together = clf.run(clf.encode(val.pixels, val.texts))  # padded to the longest row of the 24
    alone = np.concatenate([clf.run(clf.encode(val.pixels[i : i + 1], val.texts[i : i + 1])) for i in range(24)])
    widths = {clf.encode(val.pixels[i : i + 1], val.texts[i : i + 1])["ngram_ids"].shape[1] for i in range(24)}
    assert len(widths) > 1, "the rows should differ in width for this to test padding"
    np.testing.assert_allclose(together, alone, atol=1e-6)


@pytest.mark.slow  # a trained model (tiny preset, two bags)
def test_trained_ngram_run_keeps_the_mean_of_its_heads(trained_runs, prepared_dir):
    """The run trains on the heads (training/heads.py) and keeps the model that answers their mean: the accuracy its
    history recorded for the best epoch is the kept model's on split_val."""
    import json

    keras = pytest.importorskip("keras")
    from rakuten_edge.data.prepared import load_split
    from rakuten_edge.runtime.preprocess import image_tensor

    run, val = trained_runs["ngram"], load_split(prepared_dir, "val")
    model = keras.saving.load_model(run / "model.keras")
    assert "heads" in {layer.name for layer in model.layers} and model.output.shape == (None, 27)
    probs = model.predict([image_tensor(val.pixels), *HashedNgrams.from_run(run)(val.texts)], verbose=0)
    accuracy = float((probs.argmax(1) == val.labels).mean())
    metrics = json.loads((run / "metrics.json").read_text())
    history = json.loads((run / "history.json").read_text())
    assert accuracy > 0.2 and accuracy == pytest.approx(metrics["accuracy"], abs=1e-4)
    assert history["val_accuracy"][metrics["best_epoch"] - 1] == pytest.approx(accuracy, abs=1e-4)


HOSTILE = [
    "ÉCOLE élève Über straße",
    "emoji 😀😀 and CJK 漢字かな",
    "lone \ud800 surrogate",
    "no\u00a0break space\ttab\nnewline",
    "İstanbul ΣΊΣΥΦΟΣ ǅ",
    "a a a a b b c " * 40,  # tf > 1, and more n-grams than the cap keeps (ties broken by id)
    "",
    "!!!",
]


@pytest.mark.parametrize("norm", ["joint", "per-kind"])
def test_the_pages_javascript_computes_the_same_features(tmp_path, norm):
    """preprocess.js's hashedNgrams under Node against runtime/ngrams.py: the same ids, the same weights."""
    import json
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    # Not a skip: `make setup` runs npm, so a machine that builds the project has Node; without it this check of the
    # page's mirror would silently vanish.
    assert node is not None, "node is not installed (make setup installs it with npm for the page)"
    site = Path(__import__("rakuten_edge.web", fromlist=["x"]).__file__).parent / "site"
    shutil.copyfile(site / "preprocess.js", tmp_path / "preprocess.mjs")
    (tmp_path / "run.mjs").write_text(
        'import { hashedNgrams, crc32 } from "./preprocess.mjs";\n'
        'import { readFileSync } from "node:fs";\n'
        'const { texts, spec, idf } = JSON.parse(readFileSync(0, "utf8"));\n'
        "const rows = texts.map((t) => hashedNgrams(t, spec, Float32Array.from(idf)).map((a) => Array.from(a)));\n"
        'console.log(JSON.stringify({ rows, check: crc32(new TextEncoder().encode("123456789")) }));\n'
    )
    spec = NgramSpec(buckets=4096, max_features=48, seed=5, norm=norm)
    encoder = HashedNgrams(spec, fit_idf(spec, TEXTS + HOSTILE))
    texts = TEXTS + HOSTILE
    payload = {"texts": texts, "spec": {**spec.__dict__}, "idf": encoder.idf.tolist()}
    done = subprocess.run(
        [node, str(tmp_path / "run.mjs")], input=json.dumps(payload), capture_output=True, text=True, check=True
    )
    answer = json.loads(done.stdout)
    assert answer["check"] == 0xCBF43926
    for text, (js_ids, js_weights) in zip(texts, answer["rows"]):
        ids, weights = encoder([text])
        assert js_ids == ids[0].tolist(), text
        np.testing.assert_allclose(np.float32(js_weights), weights[0], rtol=0, atol=1e-7, err_msg=text)
