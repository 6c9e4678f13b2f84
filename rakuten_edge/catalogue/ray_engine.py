"""The Ray engine: the same chunks as a Ray Data pipeline. The dataset is the catalogue's chunk list (byte spans
found by the validation pass); `map_batches` runs them on a fixed actor pool, each actor holding one runtime
Classifier, reading its chunk's rows and images itself; the driver writes the parts in input order.

On a cluster the catalogue, the images and the bundle must be readable at the same paths from every node (shared
storage); the driver writes the outputs. Ray comes from the `scale` extra: nothing else imports this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import UserError
from .chunk import ChunkResult, score_rows
from .source import Catalogue, Span, read_span

# On a 2-core machine an actor pool of 2 taking the default 1 CPU each starves the read task and the pipeline
# hangs forever; half a CPU each leaves room for it (measured here).
ACTOR_CPUS = 0.5
DEFAULT_ACTORS = 2
FIELDS = ("number", "predictions", "top_k", "issues", "rows", "issue_count")


class ChunkScorer:
    """One actor: one Classifier, a small decode pool; scores whole chunks."""

    def __init__(
        self,
        bundle: str,
        csv: str,
        header: tuple,
        spans: dict,
        images: str,
        top_k: int,
        batch_size: int | None,
        strict: bool,
        threads: int | None,
        providers: list[str] | None,
        spin: bool = True,
        backend: str | None = None,
        precision: str | None = None,
    ):
        from ..runtime.classifier import Classifier

        self.clf = Classifier(bundle, providers, threads, spin, backend, precision, job="throughput")
        self.csv, self.header, self.images = Path(csv), tuple(header), Path(images)
        self.spans = {int(k): Span(**v) for k, v in spans.items()}
        self.top_k, self.batch_size, self.strict = top_k, batch_size, strict
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="decode")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = []
        for number in batch["chunk"]:
            span = self.spans[int(number)]
            rows = read_span(self.csv, self.header, span)
            results.append(
                score_rows(
                    self.clf, span.number, rows, self.images, self.pool, self.top_k, self.batch_size, self.strict
                )
            )
        return {f: np.array([getattr(r, f) for r in results], dtype=object) for f in FIELDS}


def _user_error(exc: BaseException) -> UserError | None:
    """The UserError an actor raised, found through Ray's wrappers (RayTaskError keeps it as its cause)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, UserError):
            return seen
        seen = getattr(seen, "cause", None) or seen.__cause__
    text = str(exc)
    marker = "UserError: "
    if marker in text:
        return UserError(text.split(marker, 1)[1].splitlines()[0])
    return None


def run_ray(
    bundle: Path,
    catalogue: Catalogue,
    pending: list[Span],
    images: Path,
    options,
    on_chunk: Callable[[ChunkResult], None],
) -> None:
    try:
        import ray
    except ImportError:
        raise UserError("engine ray needs Ray: pip install 'rakuten-edge[scale]'") from None
    if not pending:
        return
    address = options.ray_address or os.environ.get("RAY_ADDRESS")
    started = not ray.is_initialized()
    if started:
        # A local Ray for the job unless an address is given; no dashboard, workers' logs not echoed.
        ray.init(
            address=address,
            num_cpus=None if address else os.cpu_count(),
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
            configure_logging=False,
        )
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # parts arrive in input order
        context.enable_progress_bars = False  # the command draws its own bar
        actors = min(options.workers or DEFAULT_ACTORS, len(pending))
        spans = {str(s.number): asdict(s) for s in catalogue.spans}
        kwargs = {
            "bundle": str(Path(bundle).resolve()),
            "csv": str(catalogue.path.resolve()),
            "header": catalogue.header,
            "spans": spans,
            "images": str(images.resolve()),
            "top_k": options.top_k,
            "batch_size": options.batch_size,
            "strict": options.strict,
            "threads": options.threads or 1,
            "providers": options.providers,
            "spin": options.spin,
            "backend": options.backend,
            "precision": options.precision,
        }
        ds = ray.data.from_items([{"chunk": s.number} for s in pending], override_num_blocks=len(pending))
        ds = ds.map_batches(
            ChunkScorer,
            batch_size=1,
            fn_constructor_kwargs=kwargs,
            num_cpus=ACTOR_CPUS,
            compute=ray.data.ActorPoolStrategy(size=actors),
        )
        for row in ds.iter_rows():
            on_chunk(
                ChunkResult(
                    **{f: (int(row[f]) if f in ("number", "rows", "issue_count") else str(row[f])) for f in FIELDS}
                )
            )
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - Ray wraps an actor's errors: surface the user's one line
        found = _user_error(exc)
        if found:
            raise found from None
        raise
    finally:
        if started:
            ray.shutdown()
