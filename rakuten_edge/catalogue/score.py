"""`score_catalogue`: a whole catalogue CSV through a bundle into the challenge's submission file.

from rakuten_edge.catalogue import CatalogueOptions, score_catalogue
summary = score_catalogue("X_test_update.csv", "images/image_test", "predictions.csv")
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import paths
from ..bundles import best_bundle
from ..choices import Engine, at_least_one, parse
from ..errors import UserError
from ..progress import catalogue_bar
from ..runtime.classifier import Classifier
from .chunk import ChunkResult
from .output import Outputs
from .source import scan


@dataclass(frozen=True)
class CatalogueOptions:
    top_k: int = 1  # > 1 writes the top-k sidecar
    batch_size: int | None = None  # rows per session call (default: the runtime's rule)
    # 256: peak RSS flat from 2,000 to 20,000 rows (int8 155 -> 143 MB, fp32 741 -> 761 MB); 1,024-row chunks crept
    # up 13-16% (allocator growth from the larger per-chunk buffers) at the same items/s within noise.
    chunk_size: int = 256  # rows read, decoded and saved together: the resume granularity
    engine: Engine = Engine.local
    strict: bool = False  # a bad row is an error instead of an issue
    workers: int | None = None  # decode threads (local) or actors (ray); default: the cores (local), 2 (ray)
    threads: int | None = None  # onnxruntime intra-op threads per session (default: onnxruntime's)
    ray_address: str | None = None  # default: RAY_ADDRESS, else a local Ray started for the job
    providers: list[str] | None = None
    progress: bool = True
    # onnxruntime threads busy-wait between calls. Scoring 13,812 products with 2 decode threads beside the session:
    # 271-281 items/s spinning, 269-270 not (two runs each): decoding keeps the cores busy either way.
    spin: bool = True
    # The engine: pinned here, else the bundle's throughput tuning for this CPU, else onnxruntime (runtime/tuning.py).
    backend: str | None = None
    precision: str | None = None

    def check(self) -> CatalogueOptions:
        """The counts; top_k is checked against the bundle's labels once it is loaded."""
        at_least_one(self, "batch_size", "chunk_size", "workers", "threads")
        return self


@dataclass(frozen=True)
class Summary:
    rows: int
    issues: int
    seconds: float
    items_per_s: float
    bundle: str
    provider: str
    engine: str
    resumed_chunks: int
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _check_paths(csv: Path, images: Path, out: Path) -> None:
    if not images.is_dir():
        raise UserError(f"images folder not found: {images}")
    if out.is_dir():
        raise UserError(f"out must be a file path, {out} is a folder")
    if out.resolve() == csv.resolve():
        raise UserError("out would overwrite the catalogue itself")
    if not out.parent.is_dir():
        raise UserError(f"the folder of out does not exist: {out.parent}")


def score_catalogue(
    csv: str | Path,
    images: str | Path,
    out: str | Path,
    bundle: str | Path | None = None,
    options: CatalogueOptions = CatalogueOptions(),
) -> Summary:
    """Score every row of `csv`; write `out` (`,prdtypecode`), `<out>.issues.csv` and, with top_k > 1,
    `<out stem>.topk.jsonl`. A rerun after an interruption continues from the last completed chunk."""
    options = options.check()
    engine = parse(Engine, options.engine, "engine")
    csv, images, out = Path(csv), Path(images), Path(out)
    _check_paths(csv, images, out)
    chosen = Path(bundle) if bundle else best_bundle(paths.BUNDLES)
    # A bad bundle or a missing backend fails here, at once; the catalogue asks for the throughput winner.
    clf = Classifier(
        chosen, options.providers, options.threads, options.spin, options.backend, options.precision, "throughput"
    )
    try:
        clf.check_top_k(options.top_k)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    catalogue = scan(csv, options.chunk_size)
    outputs = Outputs(out, options.top_k)
    fingerprint = {
        "catalogue_sha256": catalogue.sha256,
        "bundle_files": clf.manifest["files"],
        "images": str(images.resolve()),
        "top_k": options.top_k,
        "batch_size": options.batch_size,
        "chunk_size": options.chunk_size,
        "strict": options.strict,
    }
    done = outputs.open(fingerprint)
    pending = [s for s in catalogue.spans if s.number not in done]
    resumed_rows = sum(outputs.counts(n)[0] for n in done)
    start = time.perf_counter()
    with catalogue_bar(catalogue.rows, resumed_rows, options.progress) as advance:

        def on_chunk(result: ChunkResult) -> None:
            outputs.save(result)
            advance(result.rows)

        if engine == Engine.local:
            from .local import run_local

            run_local(clf, catalogue, pending, images, options, on_chunk)
        else:
            from .ray_engine import run_ray

            run_ray(chosen, catalogue, pending, images, options, on_chunk)
    seconds = time.perf_counter() - start
    issues = sum(outputs.counts(span.number)[1] for span in catalogue.spans)
    written = outputs.finish(len(catalogue.spans))
    scored = catalogue.rows - resumed_rows
    return Summary(
        catalogue.rows,
        issues,
        round(seconds, 2),
        round(scored / seconds, 1) if seconds else 0.0,
        str(chosen),
        clf.providers[0],
        engine.value,
        len(done),
        [str(p) for p in written],
    )
