"""Catalogue scoring end to end on generated data: local engine, Ray, bad rows, strict, malformed CSVs, resume."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rakuten_edge.catalogue import CatalogueOptions, score_catalogue
from rakuten_edge.errors import UserError
from rakuten_edge.runtime import load

ROWS = 400


@pytest.fixture(scope="module")
def catalogue(raw_dir, tmp_path_factory):
    """The first ROWS generated products as a challenge-format catalogue, with four bad rows."""
    root = tmp_path_factory.mktemp("catalogue")
    with open(raw_dir / "X_train_update.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1 : ROWS + 1]
    images = root / "images"
    images.mkdir()
    col = {c: header.index(c) for c in ("designation", "description", "productid", "imageid")}
    name = lambda r: f"image_{r[col['imageid']]}_product_{r[col['productid']]}.jpg"  # noqa: E731
    for r in rows:
        shutil.copy(raw_dir / "images" / "image_train" / name(r), images / name(r))
    (images / name(rows[3])).unlink()  # missing
    (images / name(rows[10])).write_bytes((images / name(rows[11])).read_bytes()[:300])  # truncated
    (images / name(rows[20])).write_bytes(os.urandom(2000))  # random bytes
    rows[30][col["designation"]], rows[30][col["description"]] = "", ""  # empty text
    path = root / "catalogue.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    bad = {
        rows[i][0]: why
        for i, why in ((3, "image missing"), (10, "image unreadable"), (20, "image unreadable"), (30, "empty text"))
    }
    return {"csv": path, "images": images, "header": header, "rows": rows, "bad": bad, "col": col, "name": name}


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.mark.slow  # a trained model (tiny preset)
def test_local_catalogue_end_to_end(catalogue, bundles, tmp_path):
    out = tmp_path / "predictions.csv"
    summary = score_catalogue(
        catalogue["csv"],
        catalogue["images"],
        out,
        bundles["cnn3"]["fp32"],
        CatalogueOptions(top_k=3, chunk_size=64, progress=False),
    )
    lines = _read(out)
    assert lines[0] == ["", "prdtypecode"] and len(lines) == ROWS + 1
    assert [r[0] for r in lines[1:]] == [r[0] for r in catalogue["rows"]]  # input order, input index
    assert summary.rows == ROWS and summary.issues == 4 and summary.resumed_chunks == 0
    # the same codes as the runtime's own one-call path on the good rows
    clf, col, good = load(bundles["cnn3"]["fp32"]), catalogue["col"], [r for r in catalogue["rows"][:64]]
    good = [r for r in good if r[0] not in catalogue["bad"]]
    probs = clf.predict_proba(
        [catalogue["images"] / catalogue["name"](r) for r in good],
        [r[col["designation"]] for r in good],
        [r[col["description"]] for r in good],
    )
    codes = {r[0]: int(clf.labels[i]["prdtypecode"]) for r, i in zip(good, probs.argmax(1))}
    assert all(int(code) == codes[index] for index, code in lines[1:] if index in codes)
    issues = _read(out.with_name("predictions.csv.issues.csv"))
    assert issues[0] == ["index", "productid", "imageid", "reason"]
    assert {r[0]: r[3].split(" (")[0] for r in issues[1:]} == catalogue["bad"]
    top = [json.loads(line) for line in out.with_name("predictions.topk.jsonl").read_text().splitlines()]
    assert len(top) == ROWS and all(len(t["top_k"]) == 3 for t in top)
    assert [str(t["top_k"][0]["prdtypecode"]) for t in top] == [r[1] for r in lines[1:]]
    assert not list(tmp_path.glob(".*"))  # no parts, no temporary files left


@pytest.mark.slow  # a trained model (tiny preset)
def test_strict_makes_a_bad_row_an_error(catalogue, bundles, tmp_path):
    out = tmp_path / "p.csv"
    with pytest.raises(UserError, match="image missing"):
        score_catalogue(
            catalogue["csv"],
            catalogue["images"],
            out,
            bundles["cnn3"]["fp32"],
            CatalogueOptions(strict=True, chunk_size=64, progress=False),
        )
    assert not out.exists()


@pytest.mark.slow  # a trained model (tiny preset)
def test_malformed_csv_is_one_clear_error_before_any_work(catalogue, bundles, tmp_path):
    bad_columns = tmp_path / "cols.csv"
    bad_columns.write_text(",designation,productid\n0,a,1\n", encoding="utf-8")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(",designation,description,productid,imageid\n0,Tr\xe8s bon,,1,2\n".encode("latin-1"))
    duplicate = tmp_path / "dup.csv"
    duplicate.write_text(",designation,description,productid,imageid\n0,a,,1,2\n0,b,,3,4\n", encoding="utf-8")
    for path, message in ((bad_columns, "missing column"), (latin1, "not UTF-8"), (duplicate, "appears twice")):
        out = tmp_path / f"{path.stem}-out.csv"
        with pytest.raises(UserError, match=message):
            score_catalogue(path, catalogue["images"], out, bundles["cnn3"]["fp32"], CatalogueOptions(progress=False))
        assert not out.exists() and not list(tmp_path.glob(f".{out.name}*"))
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "rakuten_edge.cli",
                "predict",
                "--csv",
                str(path),
                "--images",
                str(catalogue["images"]),
                "--out",
                str(out),
                "--bundle",
                str(bundles["cnn3"]["fp32"]),
            ],
            capture_output=True,
            text=True,
        )
        assert cli.returncode == 2 and "Traceback" not in cli.stderr and message in cli.stderr, cli.stderr[-500:]


def _cli(catalogue, bundle, out, *extra):
    return [
        sys.executable,
        "-m",
        "rakuten_edge.cli",
        "predict",
        "--csv",
        str(catalogue["csv"]),
        "--images",
        str(catalogue["images"]),
        "--out",
        str(out),
        "--bundle",
        str(bundle),
        "--top-k",
        "2",
        *extra,
    ]


@pytest.mark.slow  # a trained model (tiny preset)
def test_killed_run_resumes_to_the_same_files(catalogue, bundles, tmp_path):
    bundle = bundles["cnn3"]["int8"]
    slow = ["--chunk-size", "8", "--batch-size", "1", "--workers", "1"]
    reference = tmp_path / "ref" / "p.csv"
    reference.parent.mkdir()
    subprocess.run(_cli(catalogue, bundle, reference, *slow), check=True, capture_output=True)
    out = tmp_path / "run" / "p.csv"
    out.parent.mkdir()
    parts = out.with_name(".p.csv.parts")
    proc = subprocess.Popen(_cli(catalogue, bundle, out, *slow), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list(parts.glob("*.done"))) < 5 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(parts.glob("*.done")))
    assert not out.exists() and 5 <= done < ROWS // 8, done  # killed mid-run: no submission file yet
    again = subprocess.run(_cli(catalogue, bundle, out, *slow), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-1000:]
    assert json.loads(again.stdout)["resumed_chunks"] >= 5
    for name in ("p.csv", "p.csv.issues.csv", "p.topk.jsonl"):
        assert (out.parent / name).read_bytes() == (reference.parent / name).read_bytes(), name
    assert not parts.exists()


@pytest.mark.slow  # a trained model (tiny preset)
@pytest.mark.ray
def test_ray_engine_gives_the_local_output(catalogue, bundles, tmp_path):
    pytest.importorskip("ray")
    outs = {}
    for engine in ("local", "ray"):
        outs[engine] = tmp_path / engine / "p.csv"
        outs[engine].parent.mkdir()
        summary = score_catalogue(
            catalogue["csv"],
            catalogue["images"],
            outs[engine],
            bundles["cnn3"]["fp32"],
            CatalogueOptions(top_k=3, chunk_size=100, engine=engine, workers=2, progress=False),
        )
        assert summary.engine == engine and summary.rows == ROWS
    assert outs["local"].read_bytes() == outs["ray"].read_bytes()
    for suffix in (".issues.csv",):
        assert Path(f"{outs['local']}{suffix}").read_bytes() == Path(f"{outs['ray']}{suffix}").read_bytes()
    a, b = ([json.loads(x) for x in (o.parent / "p.topk.jsonl").read_text().splitlines()] for o in outs.values())
    pa = np.array([[c["probability"] for c in t["top_k"]] for t in a])
    pb = np.array([[c["probability"] for c in t["top_k"]] for t in b])
    assert [[c["prdtypecode"] for c in t["top_k"]] for t in a] == [[c["prdtypecode"] for c in t["top_k"]] for t in b]
    assert np.abs(pa - pb).max() <= 1e-6


def test_catalogue_import_stays_light():
    code = "import sys, rakuten_edge.catalogue, rakuten_edge.runtime; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
