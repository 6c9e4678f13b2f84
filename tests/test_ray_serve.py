"""`serve --engine ray`: the same app as a Ray Serve deployment, answers equal to the runtime's, bad input a 4xx;
and the options' one-line errors. (`@serve.batch` runs only inside a replica, so the batcher is tested there.)"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("fastapi")
from images import prepared_images  # noqa: E402
from serving import server  # noqa: E402

from rakuten_edge.runtime import load  # noqa: E402

TEXTS = ["Piscine hors sol tubulaire", "Lot de 3 cartes Pokémon", "Jeu de société familial", "Coque iPhone"]


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """The command in this process (its argument checks need no subprocess): exit code and stderr."""
    from rakuten_edge.cli import main

    monkeypatch.setattr(sys, "argv", ["rakuten-edge", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args, says",
    [
        (["--replicas", "3"], "need --engine ray"),
        (["--ray-address", "auto"], "need --engine ray"),
        (["--engine", "ray", "--autoscaling", "{max"], "--autoscaling is not JSON"),
        (["--engine", "ray", "--autoscaling", "[1]"], "must be a JSON object"),
        (["--engine", "ray", "--replicas", "0"], "--replicas must be at least 1"),
        (["--ray-ingress", "haproxy"], "need --engine ray"),
        (["--engine", "ray", "--ray-ingress", "nginx"], "--ray-ingress must be one of proxy, haproxy"),
        (["--engine", "ray", "--ray-ingress", "haproxy", "--ray-address", "auto"], "is for a local Ray"),
    ],
)
def test_ray_options_are_one_line_errors(tmp_path, monkeypatch, capsys, args, says):
    code, err = _cli(monkeypatch, capsys, "serve", str(tmp_path), *args)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.slow  # imports Ray in a subprocess (~5 s)
@pytest.mark.ray
def test_haproxy_ingress_without_haproxy_is_one_line(tmp_path):
    """Without HAProxy's binary Ray's HAProxy actor would fail over and over and the server never answer: the command
    stops first, before Ray starts (so no server binds anything here)."""
    import subprocess

    pytest.importorskip("ray.serve")
    env = {**os.environ, "RAY_SERVE_HAPROXY_BINARY_PATH": str(tmp_path / "no-haproxy")}
    env.pop("RAY_ADDRESS", None)
    args = ["serve", str(tmp_path), "--engine", "ray", "--ray-ingress", "haproxy"]
    done = subprocess.run([sys.executable, "-m", "rakuten_edge.cli", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--ray-ingress haproxy needs HAProxy" in done.stderr and "no-haproxy" in done.stderr


@pytest.mark.slow  # a local Ray cluster and the toy bundle
@pytest.mark.ray
def test_ray_serve_answers_like_the_runtime(toy_bundle, prepared_dir):
    pytest.importorskip("ray.serve")
    images = [p.read_bytes() for p in prepared_images(prepared_dir, 4)]
    clf = load(toy_bundle)
    start = time.perf_counter()
    with server(toy_bundle, "--engine", "ray", "--replicas", "2", timeout=240) as (base, proc):
        started = time.perf_counter() - start
        # 16 products at once: @serve.batch groups them in the replicas, and each still gets its own answer.
        products = [(images[i % 4], f"{TEXTS[i % 4]} {i}") for i in range(16)]

        def ask(product):
            image, text = product
            return requests.post(f"{base}/v1/predict", files={"image": image}, data={"designation": text}, timeout=60)

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, products))
        for (image, text), r in zip(products, answers):
            assert r.status_code == 200, r.text
            best = clf.prediction(clf.predict_proba([image], [text])[0], 3)
            assert r.json()["prdtypecode"] == best.prdtypecode
            assert r.json()["probability"] == pytest.approx(best.probability, abs=1e-5)
        bad = requests.post(f"{base}/v1/predict", files={"image": b"not an image"}, data={"designation": "x"})
        assert bad.status_code == 422 and list(bad.json()) == ["detail"] and "image" in bad.json()["detail"]
        meta = requests.get(f"{base}/v2/models/{toy_bundle.name}")
        assert meta.status_code == 200 and meta.json()["name"] == toy_bundle.name
        assert "rakuten_inference_request_success_total" in requests.get(f"{base}/metrics").text
    assert proc.returncode is not None
    print(f"Ray Serve ready in {started:.0f} s")
