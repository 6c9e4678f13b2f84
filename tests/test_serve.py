"""The real server over real HTTP: endpoints, answers equal to the runtime's, bad input never a 500, API key,
overload, graceful SIGTERM. Servers bind to 127.0.0.1 only; every request loop is bounded."""

import base64
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("fastapi")
from images import encoded, png_claiming, prepared_images  # noqa: E402
from PIL import Image  # noqa: E402
from serving import server  # noqa: E402

pytestmark = pytest.mark.xdist_group("serve")  # one server for the module, on one worker

from rakuten_edge.runtime import load  # noqa: E402

TEXT = "Piscine hors sol tubulaire avec pompe de filtration"


@pytest.fixture(scope="module")
def jpegs(prepared_dir):
    return prepared_images(prepared_dir, 8)


@pytest.fixture(scope="module")
def live(bundles):
    with server(bundles["cnn3"]["fp32"], "--max-body-mb", "1") as (base, proc):
        yield base


def _post(base, image: bytes, name="x.jpg", **fields):
    data = {"designation": TEXT, **fields}
    return requests.post(f"{base}/v1/predict", files={"image": (name, image)}, data=data, timeout=30)


@pytest.mark.slow  # a trained model (tiny preset)
def test_endpoints(live):
    assert requests.get(f"{live}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{live}/readyz", timeout=5).json() == {"status": "ready"}
    model = requests.get(f"{live}/v1/model", timeout=5).json()
    assert model["model_key"] == "cnn3" and model["precision"] == "fp32" and len(model["labels"]) == 27
    assert model["parity"]["vs_native"]["passed"] and "onnxruntime" in model["tools"]
    spec = requests.get(f"{live}/openapi.json", timeout=5).json()
    assert {"/v1/predict", "/v1/predict/batch", "/v1/model", "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    assert requests.get(f"{live}/docs", timeout=5).status_code == 200


@pytest.mark.slow  # a trained model (tiny preset)
def test_the_page_is_served_at_root(live, bundles):
    page = requests.get(f"{live}/", timeout=5)
    assert page.status_code == 200 and "onnxruntime-web" in page.text and "app.js" in page.text
    config = requests.get(f"{live}/model/config.json", timeout=5).json()
    assert config["bundle"] == bundles["cnn3"]["fp32"].name and len(config["labels"]) == 27
    assert requests.get(f"{live}/ort/ort-wasm-simd-threaded.wasm", timeout=5).status_code == 200
    assert requests.get(f"{live}/no-such-file.js", timeout=5).status_code == 404
    assert requests.get(f"{live}/healthz", timeout=5).json() == {"status": "ok"}  # API routes win over the mount


@pytest.mark.slow  # a trained model (tiny preset)
def test_predict_equals_the_runtime(live, bundles, jpegs):
    clf = load(bundles["cnn3"]["fp32"])
    for path in jpegs[:4]:
        got = _post(live, path.read_bytes(), top_k="5")
        assert got.status_code == 200, got.text
        body, want = got.json(), clf.predict(path, TEXT, top_k=5)
        assert body["prdtypecode"] == want.prdtypecode and len(body["top_k"]) == 5
        assert [c["prdtypecode"] for c in body["top_k"]] == [c.prdtypecode for c in want.top_k]
        np.testing.assert_allclose(
            [c["probability"] for c in body["top_k"]], [c.probability for c in want.top_k], atol=1e-6
        )


@pytest.mark.slow  # a trained model (tiny preset)
def test_batch_endpoint_equals_single_requests(live, jpegs):
    items = [
        {"image": base64.b64encode(p.read_bytes()).decode(), "designation": TEXT, "description": "bleu"}
        for p in jpegs[:3]
    ]
    got = requests.post(f"{live}/v1/predict/batch", json={"items": items, "top_k": 2}, timeout=30)
    assert got.status_code == 200, got.text
    batch = got.json()["predictions"]
    singles = [_post(live, p.read_bytes(), description="bleu", top_k="2").json() for p in jpegs[:3]]
    assert [b["prdtypecode"] for b in batch] == [s["prdtypecode"] for s in singles]
    np.testing.assert_allclose([b["probability"] for b in batch], [s["probability"] for s in singles], atol=1e-6)


@pytest.mark.slow  # a trained model (tiny preset)
def test_bad_inputs_get_4xx_and_leave_the_service_healthy(live, jpegs):
    good = jpegs[0].read_bytes()
    cases = {
        "text file": (lambda: _post(live, b"designation,description\n1,2\n", "x.csv"), 422),
        "random bytes": (lambda: _post(live, np.random.default_rng(0).bytes(5000)), 422),
        "truncated jpeg": (lambda: _post(live, good[: len(good) // 3]), 422),
        "empty file": (lambda: _post(live, b""), 422),
        "svg renamed .jpg": (lambda: _post(live, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.jpg"), 422),
        "bomb by header": (lambda: _post(live, png_claiming(40_000, 40_000), "x.png"), 422),
        "bomb by content": (lambda: _post(live, encoded(Image.new("L", (9_000, 9_000), 255), "PNG"), "x.png"), 422),
        "empty text": (lambda: _post(live, good, designation="  "), 422),
        "top_k 0": (lambda: _post(live, good, top_k="0"), 422),
        "top_k 99": (lambda: _post(live, good, top_k="99"), 422),
        "top_k text": (lambda: _post(live, good, top_k="three"), 422),
        "no image": (lambda: requests.post(f"{live}/v1/predict", data={"designation": TEXT}, timeout=30), 422),
        "no designation": (
            lambda: requests.post(f"{live}/v1/predict", files={"image": ("x.jpg", good)}, timeout=30),
            422,
        ),
        "json to the form endpoint": (lambda: requests.post(f"{live}/v1/predict", json={"x": 1}, timeout=30), 422),
        "body over the limit": (lambda: _post(live, b"\xff" * (2 * 2**20)), 413),
        "batch bad base64": (
            lambda: requests.post(
                f"{live}/v1/predict/batch", json={"items": [{"image": "%%%", "designation": TEXT}]}, timeout=30
            ),
            422,
        ),
        "batch too many": (
            lambda: requests.post(
                f"{live}/v1/predict/batch", json={"items": [{"image": "", "designation": TEXT}] * 65}, timeout=30
            ),
            422,
        ),
        "batch empty": (lambda: requests.post(f"{live}/v1/predict/batch", json={"items": []}, timeout=30), 422),
        "batch not json": (lambda: requests.post(f"{live}/v1/predict/batch", data=b"{", timeout=30), 422),
        "a path instead of bytes": (
            lambda: requests.post(
                f"{live}/v1/predict/batch",
                json={"items": [{"image": base64.b64encode(b"/etc/passwd").decode(), "designation": TEXT}]},
                timeout=30,
            ),
            422,
        ),
    }
    for name, (call, status) in cases.items():
        response = call()
        assert response.status_code == status, (name, response.status_code, response.text[:300])
        detail = response.json()["detail"]  # one shape for every 4xx: a line naming the field
        assert isinstance(detail, str) and "\n" not in detail and len(detail) <= 300, (name, detail)
        ok = _post(live, good)  # never left degraded for the next request
        assert ok.status_code == 200, (name, ok.text[:300])
    metrics = requests.get(f"{live}/metrics", timeout=5).text
    assert 'status="500"' not in metrics and 'rakuten_http_errors_total{endpoint="/v1/predict",status="422"}' in metrics
    assert "rakuten_inference_batch_size_bucket" in metrics and "rakuten_request_duration_seconds_bucket" in metrics
    # per model and version, in the serving world's names (prometheus-client's exposition)
    for series in (
        "rakuten_inference_request_failure_total{",
        "rakuten_inference_request_success_total{",
        "rakuten_inference_queue_duration_seconds_bucket{",
        "rakuten_inference_compute_duration_seconds_count{",
        "rakuten_inference_batch_size_bucket{",
    ):
        lines = [line for line in metrics.splitlines() if line.startswith(series)]
        assert lines and all('model="cnn3-tiny-fp32"' in line and "version=" in line for line in lines), series


@pytest.mark.slow  # a trained model (tiny preset)
def test_api_key(bundles, jpegs):
    image = jpegs[0].read_bytes()
    with server(bundles["cnn3"]["int8"], "--api-key", "s3cret") as (base, _):
        assert _post(base, image).status_code == 401
        assert (
            requests.post(
                f"{base}/v1/predict",
                files={"image": ("x.jpg", image)},
                data={"designation": TEXT},
                headers={"X-API-Key": "wrong"},
                timeout=30,
            ).status_code
            == 401
        )
        for headers in ({"X-API-Key": "s3cret"}, {"Authorization": "Bearer s3cret"}):
            ok = requests.post(
                f"{base}/v1/predict",
                files={"image": ("x.jpg", image)},
                data={"designation": TEXT},
                headers=headers,
                timeout=30,
            )
            assert ok.status_code == 200, ok.text
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200  # probes need no key


@pytest.mark.slow  # a trained model (tiny preset)
def test_overload_is_503_with_retry_after(bundles, jpegs):
    image = jpegs[0].read_bytes()
    with server(bundles["cnn3"]["fp32"], "--max-inflight", "1") as (base, _), ThreadPoolExecutor(16) as pool:
        statuses, retry = [], set()
        for _ in range(5):  # bounded: at most 5 bursts of 16
            responses = list(pool.map(lambda _: _post(base, image), range(16)))
            statuses += [r.status_code for r in responses]
            retry |= {r.headers.get("retry-after") for r in responses if r.status_code == 503}
            if 503 in statuses:
                break
    assert set(statuses) == {200, 503} and retry == {"1"}, statuses


def _admitted_all(base: str, futures, seconds: float = 30) -> bool:
    """True as soon as /metrics counts every unanswered request in flight (admitted, so uvicorn has read its
    headers), with one at least."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        found = re.search(r"^rakuten_requests_in_flight (\d+)\.0$", metrics, re.M)
        in_flight, open_ = int(found.group(1)), sum(not f.done() for f in futures)
        if in_flight >= 1 and in_flight >= open_:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow  # a trained model (tiny preset)
def test_sigterm_lets_inflight_requests_finish(bundles, jpegs):
    items = [{"image": base64.b64encode(p.read_bytes()).decode(), "designation": TEXT} for p in jpegs] * 8
    with server(bundles["cnn3"]["fp32"]) as (base, proc):
        started = threading.Event()

        def call(_):
            started.set()
            return requests.post(f"{base}/v1/predict/batch", json={"items": items}, timeout=60)

        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(call, i) for i in range(6)]
            started.wait(10)
            # A connection uvicorn has not read yet is closed at shutdown, as it should be: CI saw one reset when a
            # fixed 0.15 s pause ran out while the 2.4 MB bodies were still being sent.
            assert _admitted_all(base, futures), "no moment with every open request admitted and one in flight"
            proc.send_signal(signal.SIGTERM)
            responses = [f.result() for f in futures]
        # uvicorn finishes the requests, shuts down, then re-raises the signal: the conventional exit status
        assert proc.wait(60) in (0, -signal.SIGTERM)
        assert "Traceback" not in proc.stderr.read()
    assert [r.status_code for r in responses] == [200] * 6
    assert all(len(r.json()["predictions"]) == len(items) for r in responses)
