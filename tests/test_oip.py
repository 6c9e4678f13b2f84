"""The Open Inference Protocol on /v2, shown with a client nobody here wrote (tritonclient[http]): health, metadata,
readiness and infer, binary and JSON, answers equal to the runtime's; bad input is a 4xx with OIP's error object."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("fastapi")
httpclient = pytest.importorskip("tritonclient.http")
from images import png_claiming, prepared_images  # noqa: E402
from serving import server  # noqa: E402

from rakuten_edge.runtime import load  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("oip")]  # one real server on the toy bundle, one worker
TEXTS = ["Piscine hors sol tubulaire", "Lot de 3 cartes Pokémon", "Jeu de société familial", "Coque iPhone"]
KEY = "s3cret"


@pytest.fixture(scope="module")
def live(toy_bundle):
    # Micro-batching off: each item runs alone, so the runtime's answers row by row are the exact reference (in a
    # micro-batch the graph's reductions split differently and answers move by ~1e-6).
    with server(toy_bundle, "--api-key", KEY, "--batch-window-ms", "0") as (base, proc):
        yield base, toy_bundle


H = {"X-API-Key": KEY}


def _client(base: str):
    return httpclient.InferenceServerClient(base.removeprefix("http://"))


def _inputs(images: list[bytes], texts: list[str]):
    image = httpclient.InferInput("image", [len(images)], "BYTES")
    image.set_data_from_numpy(np.array(images, dtype=object))
    text = httpclient.InferInput("designation", [len(texts)], "BYTES")
    text.set_data_from_numpy(np.array([t.encode() for t in texts], dtype=object))
    return [image, text]


def test_tritonclient_health_metadata_and_infer(live, prepared_dir):
    base, bundle = live
    client = _client(base)
    name = bundle.name
    assert client.is_server_live(headers=H) and client.is_server_ready(headers=H)
    assert client.is_model_ready(name, headers=H)
    meta = client.get_model_metadata(name, headers=H)
    assert [i["name"] for i in meta["inputs"]] == ["image", "designation", "description"]
    assert [o["name"] for o in meta["outputs"]] == ["probs", "top_k_codes", "top_k_probs"]
    assert "binary_tensor_data" in client.get_server_metadata(headers=H)["extensions"]
    images = [p.read_bytes() for p in prepared_images(prepared_dir, 4)]
    clf = load(bundle)
    pixels = np.stack([d.pixels for d in clf.decode(images)])
    expected = clf.run(clf.encode(pixels, [clf.text_of(t) for t in TEXTS]), batch_size=1)
    # binary outputs (tritonclient's default) and JSON outputs, with the version in the path too
    for binary in (True, False):
        outputs = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("probs", "top_k_codes")]
        result = client.infer(
            name,
            _inputs(images, TEXTS),
            outputs=outputs,
            model_version=meta["versions"][0],
            parameters={"top_k": 2},
            headers=H,
        )
        probs = result.as_numpy("probs")
        assert probs.shape == (4, len(clf.labels)) and np.abs(probs - expected).max() <= 1e-6
        best = [[c.prdtypecode for c in clf.prediction(row, 2).top_k] for row in expected]
        assert result.as_numpy("top_k_codes").tolist() == best
    # no outputs named: every output, binary
    result = client.infer(name, _inputs(images[:1], TEXTS[:1]), headers=H)
    assert result.as_numpy("top_k_probs").shape == (1, 3)


def test_v2_bad_input_is_a_4xx_with_one_error_line(live, prepared_dir):
    base, bundle = live
    url = f"{base}/v2/models/{bundle.name}/infer"
    headers = {"X-API-Key": KEY}
    jpeg = prepared_images(prepared_dir, 1)[0].read_bytes()
    import base64

    image = {"name": "image", "shape": [1], "datatype": "BYTES", "data": [base64.b64encode(jpeg).decode()]}
    text = {"name": "designation", "shape": [1], "datatype": "BYTES", "data": ["Piscine"]}
    cases = {
        "no designation": ({"inputs": [image]}, 400, "designation missing"),
        "empty designation": ({"inputs": [image, {**text, "data": ["  "]}]}, 400, "inputs.designation[0]"),
        "image not base64": ({"inputs": [{**image, "data": ["%%%"]}, text]}, 400, "base64"),
        "image unreadable": (
            {"inputs": [{**image, "data": [base64.b64encode(b"not an image").decode()]}, text]},
            400,
            "inputs.image[0]: cannot read image",
        ),
        "shape mismatch": ({"inputs": [{**image, "shape": [2]}, text]}, 400, "shape [2]"),
        "top_k 0": ({"inputs": [image, text], "parameters": {"top_k": 0}}, 400, "top_k must be between 1 and 27"),
        "top_k text": ({"inputs": [image, text], "parameters": {"top_k": "abc"}}, 400, "parameters.top_k"),
        "unknown output": ({"inputs": [image, text], "outputs": [{"name": "logits"}]}, 400, "outputs"),
        "wrong datatype": ({"inputs": [image, {**text, "datatype": "FP32"}]}, 400, "datatype must be BYTES"),
    }
    for case, (body, status, fragment) in cases.items():
        r = requests.post(url, json=body, headers=headers, timeout=30)
        assert r.status_code == status and list(r.json()) == ["error"] and fragment in r.json()["error"], (case, r.text)

    # the binary extension, hostile: sizes past the data, an element's length past its tensor, a bomb by its header
    def binary(elements: list[bytes], size_delta: int = 0, length_delta: int = 0) -> bytes:
        blobs = [struct.pack("<I", len(e) + length_delta) + e for e in elements]
        head = {
            "inputs": [
                {"name": n, "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": len(b) + size_delta}}
                for n, b in zip(("image", "designation"), blobs)
            ]
        }
        raw = json.dumps(head).encode()
        return raw, {**headers, "Inference-Header-Content-Length": str(len(raw))}, b"".join(blobs)

    bomb = png_claiming(40_000, 40_000)
    for case, (args, fragment) in {
        "binary size past the data": (([jpeg, b"Piscine"], 0, 0), "does not fit"),
        "element length past its tensor": (([jpeg, b"Piscine"], 0, 50), "runs past"),
        "bomb by header, binary": (([bomb, b"Piscine"], 0, 0), "inputs.image[0]"),
    }.items():
        elements, size_delta, length_delta = args
        head, hdrs, blobs = binary(elements, size_delta, length_delta)
        if case == "binary size past the data":
            head = head.replace(b'"binary_data_size": ', b'"binary_data_size": 9', 1)
            hdrs = {**headers, "Inference-Header-Content-Length": str(len(head))}
        r = requests.post(url, data=head + blobs, headers=hdrs, timeout=30)
        assert r.status_code == 400 and list(r.json()) == ["error"] and fragment in r.json()["error"], (case, r.text)
    good_head, good_headers, good_blobs = binary([jpeg, b"Piscine"])
    assert requests.post(url, data=good_head + good_blobs, headers=good_headers, timeout=30).status_code == 200
    r = requests.post(url, data=b"{not json", headers=headers, timeout=30)
    assert r.status_code == 400 and "error" in r.json()
    r = requests.post(url, data=b'{"inputs": []}', headers={**headers, "Inference-Header-Content-Length": "999"})
    assert r.status_code == 400 and "inference-header-content-length" in r.json()["error"]
    assert requests.get(f"{base}/v2/models/other", headers=headers, timeout=30).status_code == 404
    assert requests.get(f"{base}/v2/models/{bundle.name}/versions/0", headers=headers, timeout=30).status_code == 404
    # the API key applies to /v2 as to /v1 (the health probes stay open), in OIP's error shape
    r = requests.post(url, json={"inputs": [image, text]}, timeout=30)
    assert r.status_code == 401 and list(r.json()) == ["error"]
    assert requests.get(f"{base}/v2/health/ready", timeout=30).status_code == 200
