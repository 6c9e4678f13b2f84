"""ONNX against native, parametrized over the model registry (tiny presets, generated data)."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from images import prepared_image

from rakuten_edge.data.prepared import load_split
from rakuten_edge.models.config import TINY_IMAGE
from rakuten_edge.models.registry import REGISTRY, get_model
from rakuten_edge.run import Run
from rakuten_edge.runtime import BundleError, load
from rakuten_edge.runtime.preprocess import TextVectorizer, image_tensor, load_image

KEYS = list(REGISTRY)
# Tiny models trained for a few epochs have flat probabilities, where int8 rounding flips more top-1s than
# on a fully trained model; the product gate (>= 99%) applies to real runs, this bound to the fixtures.
TINY_INT8_AGREEMENT = 0.95


@pytest.fixture(scope="module")
def val(prepared_dir):
    return load_split(prepared_dir, "val")


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.slow  # a trained model (tiny preset)
def test_fp32_matches_native(bundles, trained_runs, val, key):
    clf = load(bundles[key]["fp32"])
    feeds = clf.encode(val.pixels, val.texts)
    onnx_probs = clf.run(feeds)
    native_probs = get_model(key).exporter_module().native(Run(trained_runs[key]))(feeds)
    assert np.abs(onnx_probs - native_probs).max() <= 1e-4
    assert (onnx_probs.argmax(1) == native_probs.argmax(1)).all()
    # and the run's own saved validation probabilities (computed at training time) agree too
    saved = np.load(trained_runs[key] / "val_probs.npz")
    assert np.abs(onnx_probs - saved["probs"]).max() <= 1e-4
    assert len(np.unique(onnx_probs.argmax(1))) >= 3, "fixture predicts (almost) one class: parity means little"


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.slow  # a trained model (tiny preset)
def test_int8_agrees_with_fp32(bundles, val, key):
    fp32, int8 = load(bundles[key]["fp32"]), load(bundles[key]["int8"])
    a = fp32.run(fp32.encode(val.pixels, val.texts))
    b = int8.run(int8.encode(val.pixels, val.texts))
    agreement = (a.argmax(1) == b.argmax(1)).mean()
    assert agreement >= TINY_INT8_AGREEMENT, agreement
    q = int8.manifest["quantization"]
    assert q["chosen"] in {c["recipe"] for c in q["candidates"]} and len(q["candidates"]) >= 2
    assert (bundles[key]["int8"] / "model.onnx").stat().st_size < (bundles[key]["fp32"] / "model.onnx").stat().st_size
    assert int8.manifest["parity"]["vs_fp32"]["top1_agreement"] == pytest.approx(agreement, abs=1e-9)


@pytest.mark.parametrize("key", [k for k in KEYS if "tokens" in REGISTRY[k].inputs])
@pytest.mark.slow  # a trained model (tiny preset)
def test_runtime_tokens_equal_training_tokens(bundles, trained_runs, prepared_dir, val, key):
    config = json.loads((trained_runs[key] / "config.json").read_text())["text"]
    training = TextVectorizer.adapt(
        load_split(prepared_dir, "train").texts, config["max_tokens"], config["sequence_length"]
    )
    clf = load(bundles[key]["fp32"])
    assert np.array_equal(clf.encode(val.pixels, val.texts)["tokens"], training(val.texts))


def test_runtime_image_tensor_equals_training(prepared_dir, val):
    tf = pytest.importorskip("tensorflow")
    px = val.pixels[:16]
    trained_on = (tf.cast(tf.constant(px), tf.float32)[..., None] / 255.0).numpy()  # the tf.data map of training
    assert np.array_equal(image_tensor(px), trained_on)
    for i in range(4):
        jpeg = prepared_image(prepared_dir, val, i)
        assert np.array_equal(image_tensor(load_image(jpeg, TINY_IMAGE.size)[None]), trained_on[i : i + 1])


@pytest.mark.slow  # a trained model (tiny preset)
def test_predict_from_files_equals_batch_path(bundles, prepared_dir, val):
    clf = load(bundles["cnn3"]["fp32"])
    paths = [prepared_image(prepared_dir, val, i) for i in range(8)]
    from_files = clf.predict_proba(paths, val.texts[:8])
    from_cache = clf.run(clf.encode(val.pixels[:8], val.texts[:8]))
    np.testing.assert_allclose(from_files, from_cache, atol=1e-6)
    one = clf.predict(paths[0], val.texts[0], top_k=5)
    assert len(one.top_k) == 5 and one.prdtypecode == one.top_k[0].prdtypecode
    assert one.probability == pytest.approx(float(from_cache[0].max()), abs=1e-6)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.slow  # a trained model (tiny preset)
def test_runtime_subprocess_never_imports_frameworks(bundles, prepared_dir, val, key):
    jpeg = prepared_image(prepared_dir, val, 0)
    code = (
        "import sys\nfrom rakuten_edge.runtime import load\n"
        f"p = load({str(bundles[key]['int8'])!r}).predict({str(jpeg)!r}, {val.texts[0]!r}, top_k=2)\n"
        "frameworks = ('tensorflow', 'keras', 'torch', 'transformers', 'optimum', 'tf2onnx', 'onnx', 'sklearn')\n"
        "heavy = [m for m in frameworks if m in sys.modules]\n"
        "print(p.prdtypecode, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    code_, heavy = out.stdout.strip().split(" ", 1)
    assert heavy == "[]" and int(code_) in {
        c.prdtypecode for c in __import__("rakuten_edge.categories", fromlist=["x"]).categories()
    }


@pytest.mark.slow  # a trained model (tiny preset)
def test_tampered_bundle_rejected(bundles, prepared_dir, val, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(bundles["cnn3"]["fp32"], bad)
    data = bytearray((bad / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        load(bad)
    truncated = tmp_path / "truncated"
    shutil.copytree(bundles["cnn3"]["fp32"], truncated)
    vocab = truncated / "vocab.txt"
    vocab.write_bytes(vocab.read_bytes()[:100])
    with pytest.raises(BundleError, match="vocab.txt"):
        load(truncated)
    # A real image and text: the only thing wrong is the bundle, and the one line says what.
    image = prepared_image(prepared_dir, val, 0)
    cli = subprocess.run(
        [sys.executable, "-m", "rakuten_edge.cli", "predict", str(image), val.texts[0], "--bundle", str(bad)],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2 and "Traceback" not in cli.stderr, cli.stderr
    lines = cli.stderr.strip().splitlines()
    assert len(lines) == 1 and "model.onnx does not match its sha256" in lines[0], cli.stderr


@pytest.mark.slow  # a trained model (tiny preset)
def test_manifest_is_self_describing(bundles):
    m = json.loads((bundles["cnn3"]["int8"] / "manifest.json").read_text())
    assert m["schema_version"] == 1 and m["model_key"] == "cnn3" and m["precision"] == "int8"
    assert [i["name"] for i in m["inputs"]] == ["image", "tokens"] and m["outputs"][0]["name"] == "probs"
    assert len(m["labels"]) == 27 and {"prdtypecode", "name_fr", "name_en"} <= set(m["labels"][0])
    assert set(m["files"]) == {"model.onnx", "vocab.txt"} and all(len(h) == 64 for h in m["files"].values())
    assert {"onnxruntime", "tf2onnx", "keras"} <= set(m["tools"])
    assert m["preprocessing"]["image"]["size"] == TINY_IMAGE.size and m["preprocessing"]["text"]["sequence_length"] > 0
    assert "candidates" in m["quantization"] and "training" in m
    import onnx

    props = {p.key: p.value for p in onnx.load(str(bundles["cnn3"]["int8"] / "model.onnx")).metadata_props}
    assert "Piscine et accessoires" in props["class_names"]


@pytest.mark.slow  # a trained model (tiny preset)
def test_failed_export_keeps_previous_bundle(trained_runs, prepared_dir, tmp_path, monkeypatch):
    from rakuten_edge.errors import UserError
    from rakuten_edge.export import export_run, keras_onnx

    export_run(trained_runs["cnn2"], tmp_path, data=prepared_dir, rows=64)
    before = (tmp_path / "cnn2-tiny-fp32" / "manifest.json").read_text()
    real = keras_onnx.native

    def skewed(run, threads=None, device="cpu"):
        fn = real(run, threads, device)
        return lambda feeds: np.roll(fn(feeds), 1, axis=1)  # a broken conversion, as validation would see it

    monkeypatch.setattr(keras_onnx, "native", skewed)
    with pytest.raises(UserError, match="failed validation.*top-1 agreement"):
        export_run(trained_runs["cnn2"], tmp_path, data=prepared_dir, rows=64)
    assert (tmp_path / "cnn2-tiny-fp32" / "manifest.json").read_text() == before
    assert not list(tmp_path.glob(".*tmp-*"))


@pytest.mark.slow  # a trained model (tiny preset)
def test_evaluate_fp32_report_identical_to_native(bundles, trained_runs, prepared_dir, tmp_path):
    from rakuten_edge.evaluate import evaluate

    results = evaluate(
        [bundles["cnn3"]["fp32"], bundles["cnn3"]["int8"]],
        data=prepared_dir,
        out=tmp_path,
        runs=trained_runs["cnn3"].parent,
    )
    fp32 = results[0]
    assert fp32["vs_native"]["identical"] is True and fp32["vs_native"]["differences"] == []
    assert (tmp_path / bundles["cnn3"]["fp32"].name / "report.md").is_file()
    assert "Model comparison" in (tmp_path / "summary.md").read_text()


@pytest.mark.slow  # a trained model (tiny preset)
def test_export_cli_stdout_is_json(trained_runs, prepared_dir, tmp_path):
    # torch.onnx prints progress on stdout: the command's own stdout must stay one parseable result
    run = trained_runs["camembert-ft"]
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "rakuten_edge.cli",
            "export",
            run.name,
            "--runs",
            str(run.parent),
            "--out",
            str(tmp_path),
            "--data",
            str(prepared_dir),
        ],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr[-2000:]
    result = json.loads(cli.stdout)
    assert [r["precision"] for r in result] == ["fp32"] and result[0]["parity"]["vs_native"]["passed"]


@pytest.mark.slow  # a trained model (tiny preset)
def test_one_failing_run_does_not_stop_the_others(trained_runs, prepared_dir, tmp_path):
    from rakuten_edge.errors import UserError
    from rakuten_edge.export import export

    runs = tmp_path / "runs"
    shutil.copytree(trained_runs["cnn2"], runs / "a-cnn2")
    shutil.copytree(trained_runs["cnn2"], runs / "b-broken")
    (runs / "b-broken" / "model.keras").write_bytes(b"not a model")
    (runs / "a-cnn2" / "metrics.json").write_text(
        json.dumps({**json.loads((runs / "a-cnn2" / "metrics.json").read_text()), "data_dir": str(prepared_dir)})
    )
    with pytest.raises(UserError, match="1 export\\(s\\) failed.*b-broken.*written: a-cnn2-fp32"):
        export(runs=runs, out=tmp_path / "bundles", data=prepared_dir)
    assert (tmp_path / "bundles" / "a-cnn2-fp32" / "manifest.json").is_file()
    assert not (tmp_path / "bundles" / "b-broken-fp32").exists()
