"""TensorFlow's C++ start-up lines stay off stderr under the CLI's import hook; Python errors still come through."""

import subprocess
import sys

import pytest

pytest.importorskip("tensorflow")
# Each case starts TensorFlow in a fresh process (about 10 s on 2 cores): one process serves both checks.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("quiet")]  # one TensorFlow start-up (13 s), one worker

IMPORT = "from rakuten_edge.quiet import quiet_tensorflow_import as q; q(); import keras, tensorflow as tf; "
CODE = (
    IMPORT + "print(tf.constant(2).numpy()); import sys; print('after the import', file=sys.stderr); "
    "raise SystemExit('a clear line')"
)


@pytest.fixture(scope="module")
def stderr() -> str:
    return subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120).stderr


def test_the_hook_keeps_tensorflows_start_up_lines_off_stderr(stderr):
    assert "oneDNN" not in stderr and "InitializeLog" not in stderr, stderr


def test_stderr_works_again_after_the_import(stderr):
    assert "after the import" in stderr and "a clear line" in stderr
