"""TensorFlow's C++ start-up lines stay off stderr under the CLI's import hook; Python errors still come through."""

import subprocess
import sys

import pytest

pytest.importorskip("tensorflow")

IMPORT = "from rakuten_edge.quiet import quiet_tensorflow_import as q; q(); import keras, tensorflow as tf; "


def _stderr(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stderr


def test_the_hook_keeps_tensorflows_start_up_lines_off_stderr():
    err = _stderr(IMPORT + "print(tf.constant(2).numpy())")
    assert "oneDNN" not in err and "InitializeLog" not in err, err


def test_stderr_works_again_after_the_import():
    err = _stderr(IMPORT + "import sys; print('after the import', file=sys.stderr); raise SystemExit('a clear line')")
    assert "after the import" in err and "a clear line" in err
