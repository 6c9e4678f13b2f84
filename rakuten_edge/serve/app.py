"""The FastAPI app: one bundle, loaded and warmed before it reports ready; every bad input a 4xx, never a 500."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import signal
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from ..runtime.answers import STRICT, InputError
from ..runtime.classifier import Classifier
from .batcher import MicroBatcher
from .limits import BodyLimit, Gate
from .metrics import Metrics
from .models import Models, Slot
from .oip_routes import add_oip_routes

MAX_BATCH_ITEMS = 64
PREDICT_ROUTES = {"/v1/predict", "/v1/predict/batch"}  # and every /v2/models/.../infer (limits.Gate)


@dataclass
class State:
    metrics: Metrics = field(default_factory=Metrics)
    inflight: int = 0
    ready: bool = False


class Item(BaseModel):
    image: str = Field(description="the image file's bytes, base64-encoded")
    designation: str
    description: str | None = None


class BatchRequest(BaseModel):
    items: list[Item] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)
    top_k: int = 3  # checked against the bundle's labels (Classifier.check_top_k)


def model_summary(clf: Classifier) -> dict:
    m = clf.manifest
    keys = (
        "model_key",
        "title",
        "run",
        "format",
        "precision",
        "batch_invariant",
        "inputs",
        "outputs",
        "parity",
        "training",
        "tools",
    )
    return {
        **{k: m.get(k) for k in keys},
        "recipe": (m.get("quantization") or {}).get("chosen"),
        "provider": clf.providers[0],
        "labels": clf.labels,
    }


def create_app(
    models: Models,
    api_key: str | None = None,
    workers: int = 2,
    max_body: int = 10 * 2**20,
    window_ms: float = 2.0,
    max_batch: int = 32,
    max_inflight: int = 64,
    batcher_class=None,
) -> FastAPI:
    """The app over `models` (models.py: loaded, not yet warm). /v1 answers with the default model. `batcher_class`
    takes MicroBatcher's arguments and interface (Ray Serve's replicas use `@serve.batch` through it)."""
    state = State(metrics=Metrics())
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="infer")
    batcher_class = batcher_class or MicroBatcher

    def make_batcher(clf: Classifier, name: str, version: str) -> MicroBatcher:
        metrics = state.metrics.for_model(name, version)
        batcher = batcher_class(clf, pool, metrics, window_ms, max_batch, lambda: state.inflight)
        batcher.start()
        return batcher

    models.make_batcher = make_batcher

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await models.start()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no signals off the main thread
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(models.reload()))
        state.ready = True
        yield
        state.ready = False
        await models.stop()
        pool.shutdown(wait=True)

    names = ", ".join(models.slots)
    app = FastAPI(
        title="rakuten-edge",
        version="1",
        lifespan=lifespan,
        description=f"Product-type classification with the bundles {names} (default {models.default}).",
    )

    def check_top_k(clf: Classifier, top_k: int) -> int:
        try:
            return clf.check_top_k(top_k)
        except ValueError as exc:
            raise HTTPException(422, f"top_k: {exc}") from None

    async def classify(slot: Slot, data: bytes, designation: str, description: str | None, top_k: int, where=""):
        """The runtime's path under the strict policy; `where` prefixes the field names in errors (`items[3].`)."""
        clf = slot.clf
        try:
            text = clf.text_of(designation, description, STRICT)
            decoded = await asyncio.get_running_loop().run_in_executor(pool, clf.decode_one, data, STRICT)
        except InputError as exc:
            raise HTTPException(422, f"{where}{exc.field}: {exc.reason}") from None
        row = await slot.batcher.submit(decoded.pixels, text)
        return clf.prediction(row, top_k).to_dict()

    @contextlib.contextmanager
    def holding(name: str | None = None):
        """The slot a request runs on, held until it answers (a reload retires an old slot only after)."""
        slot = models.get(name)
        slot.inflight += 1
        try:
            yield slot
        finally:
            slot.inflight -= 1

    @app.post("/v1/predict", summary="Classify one product (multipart form)")
    async def predict(
        image: UploadFile = File(...),
        designation: str = Form(...),
        description: str | None = Form(None),
        top_k: int = Form(3),
    ) -> dict:
        with holding() as slot:
            k = check_top_k(slot.clf, top_k)
            result = await classify(slot, await image.read(), designation, description, k)
            return {**slot.clf.envelope(), **result}

    @app.post("/v1/predict/batch", summary=f"Classify up to {MAX_BATCH_ITEMS} products (JSON, base64 images)")
    async def predict_batch(request: BatchRequest) -> dict:
        with holding() as slot:
            check_top_k(slot.clf, request.top_k)
            images = []
            for i, item in enumerate(request.items):
                try:
                    images.append(base64.b64decode(item.image, validate=True))
                except (binascii.Error, ValueError):
                    raise HTTPException(422, f"items[{i}].image: not valid base64") from None
            results = await asyncio.gather(
                *(
                    classify(slot, data, item.designation, item.description, request.top_k, f"items[{i}].")
                    for i, (data, item) in enumerate(zip(images, request.items))
                ),
                return_exceptions=True,
            )
            failed = next((r for r in results if isinstance(r, BaseException)), None)
            if failed is not None:
                raise failed
            return {**slot.clf.envelope(), "predictions": results}

    @app.get("/v1/model", summary="The default bundle's manifest summary")
    async def model() -> dict:
        return model_summary(models.get().clf)

    @app.get("/v1/models", summary="The served models: name, version, default")
    async def served() -> dict:
        return {
            "default": models.default,
            "models": [
                {"name": s.name, "version": s.version, "bundle": str(s.clf.bundle)} for s in models.slots.values()
            ],
        }

    @app.post("/admin/reload", summary="Load new or changed bundles, retire removed ones (behind the API key)")
    async def reload() -> dict:
        return await models.reload()

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", summary="The bundle is loaded and a warm-up prediction done")
    async def readyz():
        if not state.ready:
            raise HTTPException(503, "not ready")
        return {"status": "ready"}

    @app.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(state.metrics.render(state.inflight), media_type=CONTENT_TYPE_LATEST)

    def model_of(path: str) -> tuple[str, str] | None:
        """The (name, version) a prediction request is for, for the per-model series."""
        name = path.split("/")[3] if path.startswith("/v2/models/") and path.count("/") >= 4 else None
        slot = models.slots.get(name or models.default)
        return (slot.name, slot.version) if slot else None

    @app.exception_handler(RequestValidationError)
    async def one_line(request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's validation errors (a missing field, top_k=abc) in the one 4xx shape: a line naming the field."""
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "form", "path"))
        key = "error" if request.url.path.startswith("/v2") else "detail"
        return JSONResponse({key: f"{field or 'request'}: {first.get('msg', 'invalid')}"[:300]}, 422)

    add_oip_routes(app, models, state, pool, holding)
    app.state.bundle = ", ".join(str(s.clf.bundle) for s in models.slots.values())
    routes = {r.path for r in app.routes}
    app.add_middleware(
        Gate,
        state=state,
        api_key=api_key,
        max_inflight=max_inflight,
        routes=routes,
        predict=PREDICT_ROUTES,
        model_of=model_of,
    )
    app.add_middleware(BodyLimit, limit=max_body)
    return app
