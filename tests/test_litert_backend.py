"""`export --litert` and `--backend litert`: gated flatbuffers in the fp32 bundle, hashed like every file, run through
the runtime's one path, in blocks of 32 and row by row, with the same answers as the ONNX graph."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from rakuten_edge.data.prepared import load_split  # noqa: E402
from rakuten_edge.runtime import BundleError, load  # noqa: E402
from rakuten_edge.tune import settings  # noqa: E402

# a trained model (tiny preset) and its LiteRT conversion, made once for the module: its tests stay on one worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("litert")]


@pytest.fixture(scope="module")
def litert_bundle(trained_runs, prepared_dir, tmp_path_factory):
    from rakuten_edge.export import export_run

    out = tmp_path_factory.mktemp("litert")
    (fp32,) = export_run(trained_runs["cnn3"], out, data=prepared_dir, litert=True)
    return out / fp32["bundle"].rsplit("/", 1)[-1]


def test_flatbuffers_are_gated_hashed_and_answer_like_onnx(litert_bundle, prepared_dir):
    manifest = json.loads((litert_bundle / "manifest.json").read_text())
    section = manifest["litert"]
    assert {g["precision"] for g in section["gates"]} == {"f32", "int8"}
    assert all(g["passed"] == (g["precision"] in section["precisions"]) for g in section["gates"])
    assert section["precisions"]["f32"] == {"1": "litert/f32-b1.tflite", "32": "litert/f32-b32.tflite"}
    for files in section["precisions"].values():
        assert set(files.values()) <= set(manifest["files"])  # hashed like the graph
    val = load_split(prepared_dir, "val").head(40)  # one block of 32, then 8 rows one by one
    onnx = load(litert_bundle)
    lite = load(litert_bundle, backend="litert")
    assert lite.providers == ["LiteRT CPU f32"]
    feeds = onnx.encode(val.pixels, val.texts)
    expected, got = onnx.run(feeds), lite.run(feeds)
    assert np.abs(got - expected).max() <= 1e-4 and (got.argmax(1) == expected.argmax(1)).all()
    one_by_one = np.concatenate([lite.run({k: v[i : i + 1] for k, v in feeds.items()}) for i in range(40)])
    np.testing.assert_allclose(got, one_by_one, atol=1e-6)
    carried = {s.precision for s in settings([1], manifest) if s.backend == "litert"}
    assert carried == set(section["precisions"])  # tune measures only what the bundle carries


def test_missing_or_tampered_flatbuffers_are_one_line(litert_bundle, bundles, tmp_path):
    with pytest.raises(BundleError, match="no LiteRT f32 flatbuffers"):
        load(bundles["cnn3"]["fp32"], backend="litert")  # exported without --litert
    bad = tmp_path / "bad"
    shutil.copytree(litert_bundle, bad)
    flat = bad / "litert" / "f32-b1.tflite"
    flat.write_bytes(flat.read_bytes()[:1000])
    with pytest.raises(BundleError, match="f32-b1.tflite does not match its sha256"):
        load(bad, backend="litert")
    assert settings([1], json.loads((bundles["cnn3"]["fp32"] / "manifest.json").read_text())) == [
        s for s in settings([1]) if s.backend != "litert"
    ]
