"""The edge runtime must never import a deep-learning framework."""

import subprocess
import sys

HEAVY = ("tensorflow", "keras", "torch", "transformers", "optimum", "tf2onnx", "onnx")


def test_runtime_import_is_light():
    code = (
        "import sys, rakuten_edge.runtime, rakuten_edge.runtime.preprocess\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported: {out.stdout}"
