"""Several bundles behind one server, and a reload under load: a new bundle is added, a corrupted one is refused,
and every request meanwhile gets its answer from a version that is ready (bounded loop, loopback only)."""

from __future__ import annotations

import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("fastapi")
from images import prepared_images  # noqa: E402
from serving import server  # noqa: E402

pytestmark = pytest.mark.slow  # a real server on copies of the toy bundle
H = {"X-API-Key": "k"}


def test_reload_under_load_adds_refuses_and_never_drops(toy_bundle, prepared_dir, tmp_path):
    root = tmp_path / "bundles"
    shutil.copytree(toy_bundle, root / "toy-a")
    image = prepared_images(prepared_dir, 1)[0].read_bytes()
    with server(root, "--api-key", "k") as (base, proc):

        def ask(i: int) -> tuple[int, str]:
            files = {"image": ("x.jpg", image)}
            r = requests.post(f"{base}/v1/predict", files=files, data={"designation": f"Piscine {i}"}, headers=H)
            return r.status_code, r.json().get("bundle", r.text)

        with ThreadPoolExecutor(8) as pool:
            first = pool.map(ask, range(100))
            shutil.copytree(toy_bundle, root / "toy-b")  # a new model
            added = requests.post(f"{base}/admin/reload", headers=H, timeout=60).json()
            corrupt = root / "toy-c"
            shutil.copytree(toy_bundle, corrupt)
            data = bytearray((corrupt / "model.onnx").read_bytes())
            data[len(data) // 2] ^= 0xFF  # half-written or tampered: its hash no longer matches
            (corrupt / "model.onnx").write_bytes(bytes(data))
            refused = requests.post(f"{base}/admin/reload", headers=H, timeout=60).json()
            second = pool.map(ask, range(100, 200))
            answers = list(first) + list(second)
        assert [s for s, _ in answers] == [200] * 200, [a for a in answers if a[0] != 200][:3]
        assert all(b.endswith("toy-a") for _, b in answers)  # the default model answered throughout
        assert [line.split()[0] for line in added["loaded"]] == ["toy-b"] and not added["refused"], added
        assert not refused["loaded"] and "toy-c: refused" in refused["refused"][0] and "sha256" in refused["refused"][0]
        served = requests.get(f"{base}/v1/models", headers=H, timeout=30).json()
        assert [m["name"] for m in served["models"]] == ["toy-a", "toy-b"] and served["default"] == "toy-a"
        assert requests.get(f"{base}/v2/models/toy-b/ready", headers=H, timeout=30).status_code == 200
        assert requests.get(f"{base}/v2/models/toy-c/ready", headers=H, timeout=30).status_code == 404
        # SIGHUP reloads too: toy-b removed, then retired
        shutil.rmtree(root / "toy-b")
        shutil.rmtree(corrupt)
        proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 30
        while time.time() < deadline:
            names = [m["name"] for m in requests.get(f"{base}/v1/models", headers=H, timeout=30).json()["models"]]
            if names == ["toy-a"]:
                break
            time.sleep(0.2)
        assert names == ["toy-a"]
        assert requests.post(f"{base}/admin/reload", timeout=30).status_code == 401  # behind the API key
