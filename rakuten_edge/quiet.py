"""TensorFlow's start-up lines kept off the terminal: absl's "All log messages before absl::InitializeLog() is called
are written to STDERR" and oneDNN's "custom operations are on" notice are written by C++ while `tensorflow` is
imported, before TF_CPP_MIN_LOG_LEVEL is read (checked: TF 2.20 prints them with the variable at 3). The CLI installs
an import hook that runs that one import with file descriptor 2 pointed at /dev/null; `--verbose` leaves it out.
Python warnings and errors are unaffected (they are raised or printed after the import returns)."""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with native_stderr_silenced():
            self.loader.exec_module(module)


class _QuietFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: the real finders locate it, this loader only wraps the execution
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_import() -> None:
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        sys.meta_path.insert(0, _QuietFinder())
