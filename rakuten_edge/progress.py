"""One look for every long loop: a rich progress bar on stderr."""

import contextlib
import logging
import warnings

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


@contextlib.contextmanager
def quiet_converters(verbose: bool = False):
    """Converters (tf2onnx, optimum, onnx, TensorFlow) log about a hundred WARNING lines per export that say
    nothing a user can act on: keep them at ERROR unless asked for (`--verbose`)."""
    if verbose:
        yield
        return
    names = ("tf2onnx", "onnx", "tensorflow", "absl", "optimum", "transformers", "torch.onnx", "onnxscript")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
