"""One look for every long loop: a rich progress bar on stderr."""

import contextlib
import logging
import warnings

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True)


def progress_bar(rate: bool = False) -> Progress:
    """The one look of every bar; `rate` adds items/s (catalogue scoring)."""
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    columns += [RateColumn()] if rate else []
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    return Progress(*columns, console=console, transient=False)


@contextlib.contextmanager
def quiet_converters(verbose: bool = False):
    """Converters (tf2onnx, optimum, onnx, TensorFlow) log about a hundred WARNING lines per export that say
    nothing a user can act on: keep them at ERROR unless asked for (`--verbose`)."""
    if verbose:
        yield
        return
    names = ("tf2onnx", "onnx", "tensorflow", "absl", "optimum", "transformers", "torch.onnx", "onnxscript")
    # the root logger too: onnxruntime's quantizer warns through logging.warning()
    loggers = [logging.getLogger(n) for n in names] + [logging.getLogger()]
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


class RateColumn(ProgressColumn):
    def render(self, task) -> Text:
        return Text(f"{task.speed:,.0f} items/s" if task.speed else "", style="progress.data.speed")


@contextlib.contextmanager
def catalogue_bar(total: int, done: int = 0, enabled: bool = True):
    """A bar over `total` items with items/s and ETA; yields advance(n). Disabled: a no-op."""
    if not enabled:
        yield lambda n: None
        return
    bar = progress_bar(rate=True)
    with bar:
        task = bar.add_task("scoring", total=total, completed=done)
        yield lambda n: bar.advance(task, n)
