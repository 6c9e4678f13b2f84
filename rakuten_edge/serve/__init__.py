"""`rakuten-edge serve`: the bundle over HTTP (FastAPI + uvicorn, from the `serve` extra).

POST /v1/predict        multipart: image, designation, [description], [top_k]  -> predict --json's answer
POST /v1/predict/batch  JSON {"items": [{"image": base64, "designation", "description"}], "top_k"}
GET  /v1/model  /healthz  /readyz  /metrics  /docs
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..choices import Engine, at_least_one
from ..errors import UserError


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"  # loopback unless told otherwise
    port: int = 8000
    threads: int | None = None  # onnxruntime intra-op threads (default: the cores)
    api_key: str | None = None
    max_body_mb: float = 10.0
    batch_window_ms: float = 2.0  # 0 turns micro-batching off
    max_batch: int = 32
    max_inflight: int = 64  # prediction requests served at once before 503
    workers: int | None = None  # decode/inference pool (default: the cores)
    # onnxruntime threads busy-wait between calls. Off by default: a service shares its cores (decoding, other jobs);
    # seed cnn2 int8 beside 2 busy processes took 6.08 ms per call spinning, 2.59 ms not (bench --load 2).
    spin: bool = False
    # The engine: pinned here, else the bundle's latency tuning for this CPU, else onnxruntime (runtime/tuning.py).
    backend: str | None = None
    precision: str | None = None

    def check(self) -> ServeOptions:
        if not 0 <= self.port <= 65535:
            raise UserError(f"port must be between 0 and 65535, got {self.port}")
        at_least_one(self, "max_batch", "max_inflight", "threads", "workers")
        if self.max_body_mb <= 0 or self.batch_window_ms < 0:
            raise UserError("max_body_mb must be positive and batch_window_ms not negative")
        return self


# On a 2-core box two replicas taking a whole CPU each leave nothing for Ray's proxy and controller, and the
# deployment never becomes healthy; half a CPU each schedules (the catalogue's Ray engine met the same).
REPLICA_CPUS = 0.5


@dataclass(frozen=True)
class RayIngress:
    """How HTTP reaches the replicas: Ray Serve's switch, set in the environment before Ray starts (its processes
    read it once, at import)."""

    haproxy: bool
    help: str

    @property
    def env(self) -> dict[str, str]:
        # Both ways, so a RAY_SERVE_ENABLE_HA_PROXY left in the shell cannot pick the other ingress.
        return {"RAY_SERVE_ENABLE_HA_PROXY": "1" if self.haproxy else "0"}


# Measured with benchmarks/serve_goals.py (2026-12-01, AMD EPYC without AVX-512, 2 cores; seed-size cnn3 int8,
# 2 replicas, 2,000 real photos at concurrency 32), two runs: Ray's proxy 63.5 / 58.1 requests/s, the proxy spending
# 16.6-18.2 CPU s and the replicas 41.5-45.1; HAProxy 114.5 / 121.6 requests/s, HAProxy 0.7 CPU s and the replicas
# 28-30; one plain process 122.5-155.2.
RAY_INGRESSES = {
    "proxy": RayIngress(False, "Ray Serve's HTTP proxy actor on each node (Ray's default)"),
    "haproxy": RayIngress(True, "Ray Serve's HAProxy on each node, in front of each replica's own HTTP server"),
}


@dataclass(frozen=True)
class RayOptions:
    """`serve --engine ray`: the same app as a Ray Serve deployment (serve/ray_serve.py)."""

    replicas: int = 2
    address: str | None = None  # None: a local Ray on this machine (or RAY_ADDRESS's cluster)
    cpus_per_replica: float = REPLICA_CPUS
    # Passed through to Ray Serve (min_replicas, max_replicas, target_ongoing_requests, ...); replaces `replicas`.
    autoscaling: dict | None = None
    ingress: str = "proxy"  # a key of RAY_INGRESSES

    @classmethod
    def of(
        cls, engine: Engine, replicas: int, address: str | None, autoscaling: str | None, ingress: str = "proxy"
    ) -> RayOptions | None:
        """The CLI's --engine/--replicas/--ray-address/--autoscaling/--ray-ingress: None for the local engine."""
        if engine == Engine.local:
            if address or autoscaling or replicas != cls.replicas or ingress != cls.ingress:
                raise UserError("--replicas, --ray-address, --autoscaling and --ray-ingress need --engine ray")
            return None
        return cls(replicas, address, autoscaling=parse_autoscaling(autoscaling), ingress=ingress)

    @property
    def local(self) -> bool:
        """Ray starts on this machine (no cluster address given, none in RAY_ADDRESS)."""
        return not (self.address or os.environ.get("RAY_ADDRESS"))

    def check(self) -> RayOptions:
        if self.replicas < 1 or self.cpus_per_replica <= 0:
            raise UserError("--replicas must be at least 1 and the CPUs per replica positive")
        if self.ingress not in RAY_INGRESSES:
            raise UserError(f"--ray-ingress must be one of {', '.join(RAY_INGRESSES)}, got {self.ingress!r}")
        # A cluster's processes read the switch when its nodes start, not from this command's environment.
        ingress = RAY_INGRESSES[self.ingress]
        if ingress.haproxy and not self.local:
            env = " ".join(f"{k}={v}" for k, v in ingress.env.items())
            raise UserError(f"--ray-ingress {self.ingress} is for a local Ray; on a cluster start its nodes with {env}")
        return self


def parse_autoscaling(text: str | None) -> dict | None:
    """--autoscaling: a JSON object handed to Ray Serve as the deployment's autoscaling_config."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--autoscaling is not JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise UserError('--autoscaling must be a JSON object, e.g. {"min_replicas": 1, "max_replicas": 4}')
    return value


def sources_of(bundles: list[str | Path] | str | Path | None) -> tuple[list[Path], Path | None]:
    """The folders to serve and the default model: the bundles given (the first is the default), or bundles/ with
    its best bundle as the default."""
    from ..bundles import best_bundle

    if bundles is None or bundles == []:
        return [Path(paths.BUNDLES)], best_bundle(paths.BUNDLES)
    return [Path(b) for b in ([bundles] if isinstance(bundles, (str, Path)) else bundles)], None


def build_app(
    bundles: list[str | Path] | str | Path | None = None,
    options: ServeOptions = ServeOptions(),
    default: Path | None = None,
    batcher=None,
):
    """The ASGI app for `bundles` (bundle folders or folders of bundles; default: the best exported bundle, the
    rest of bundles/ beside it); a bad bundle fails here, before serving. /v1 answers with `default`, else the first
    one. `batcher` replaces the micro-batcher (Ray Serve's `@serve.batch`, serve/ray_serve.py)."""
    try:
        from .app import create_app
    except ImportError as exc:
        raise UserError(f"serve needs its extra: pip install 'rakuten-edge[serve]' ({exc.name} is missing)") from None
    from .models import Models, Options

    options = options.check()
    cores = os.cpu_count() or 1
    sources, found_default = sources_of(bundles)
    default = default or found_default
    # Spinning trades CPU for latency: alone, with idle gaps between requests, a batch-1 call of seed-size cnn3 int8
    # took 2.9 ms spinning and 4.1 ms not (threads woken per call); beside other work spinning loses (ServeOptions).
    engine = Options(options.threads, options.spin, options.backend, options.precision)
    models = Models(sources, engine, make_batcher=None)
    models.load_all(default)
    app = create_app(
        models,
        options.api_key,
        options.workers or cores,
        int(options.max_body_mb * 2**20),
        options.batch_window_ms,
        options.max_batch,
        options.max_inflight,
        batcher,
    )
    _mount_site(app, models.get().clf.bundle)
    return app


def _mount_site(app, bundle: Path) -> None:
    """The browser page (`rakuten-edge web`) for the same bundle at `/`, mounted after the API routes; where the
    page cannot run this bundle (a CamemBERT one) or onnxruntime-web is not installed, the API runs alone."""
    import atexit
    import shutil
    import tempfile

    from fastapi.staticfiles import StaticFiles

    from ..web import build_site

    folder = Path(tempfile.mkdtemp(prefix="rakuten-edge-site-"))
    atexit.register(shutil.rmtree, folder, True)
    try:
        build_site(bundle, folder / "site")
    except UserError as exc:
        app.state.site = f"no page at / ({exc})"
        return
    app.mount("/", StaticFiles(directory=folder / "site", html=True), name="site")
    app.state.site = "page at /"


def serve(
    bundles: list[str | Path] | str | Path | None = None,
    options: ServeOptions = ServeOptions(),
    ray: RayOptions | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests finish first (graceful shutdown). SIGHUP reloads. With `ray`,
    the same app runs as a Ray Serve deployment (serve/ray_serve.py)."""
    if ray is not None:
        from .ray_serve import serve_on_ray

        serve_on_ray(bundles, options, ray)
        return
    app = build_app(bundles, options)
    import uvicorn

    print(
        f"serving {app.state.bundle} on http://{options.host}:{options.port} (docs at /docs, {app.state.site})",
        flush=True,
    )
    uvicorn.run(
        app, host=options.host, port=options.port, log_level="warning", access_log=False, timeout_graceful_shutdown=30
    )
