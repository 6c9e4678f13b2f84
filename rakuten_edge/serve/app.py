"""The FastAPI app: one bundle, loaded and warmed before it reports ready; every bad input a 4xx, never a 500."""

from __future__ import annotations

import asyncio
import base64
import binascii
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
from ..runtime.preprocess import blank_image
from .batcher import MicroBatcher
from .limits import BodyLimit, Gate
from .metrics import Metrics
from .oip import version_of
from .oip_routes import add_oip_routes

MAX_BATCH_ITEMS = 64
PREDICT_ROUTES = {"/v1/predict", "/v1/predict/batch"}  # and every /v2/models/.../infer (limits.Gate)


@dataclass
class State:
    metrics: Metrics = field(default_factory=Metrics)
    inflight: int = 0
    ready: bool = False
    batcher: MicroBatcher | None = None


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
    clf: Classifier,
    api_key: str | None = None,
    workers: int = 2,
    max_body: int = 10 * 2**20,
    window_ms: float = 2.0,
    max_batch: int = 32,
    max_inflight: int = 64,
) -> FastAPI:
    state = State(metrics=Metrics(clf.bundle.name, version_of(clf.manifest)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="infer")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.batcher = MicroBatcher(clf, pool, state.metrics, window_ms, max_batch, lambda: state.inflight)
        state.batcher.start()
        await state.batcher.submit(
            blank_image(clf.image_size), "warm up"
        )  # the first session call allocates: not a client's wait
        state.ready = True
        yield
        state.ready = False
        await state.batcher.stop()
        pool.shutdown(wait=True)

    app = FastAPI(
        title="rakuten-edge",
        version="1",
        lifespan=lifespan,
        description=f"Product-type classification with the bundle {clf.bundle.name}.",
    )

    def check_top_k(top_k: int) -> int:
        try:
            return clf.check_top_k(top_k)
        except ValueError as exc:
            raise HTTPException(422, f"top_k: {exc}") from None

    async def classify(data: bytes, designation: str, description: str | None, top_k: int, where: str = "") -> dict:
        """The runtime's path under the strict policy; `where` prefixes the field names in errors (`items[3].`)."""
        try:
            text = clf.text_of(designation, description, STRICT)
            decoded = await asyncio.get_running_loop().run_in_executor(pool, clf.decode_one, data, STRICT)
        except InputError as exc:
            raise HTTPException(422, f"{where}{exc.field}: {exc.reason}") from None
        row = await state.batcher.submit(decoded.pixels, text)
        return clf.prediction(row, top_k).to_dict()

    @app.post("/v1/predict", summary="Classify one product (multipart form)")
    async def predict(
        image: UploadFile = File(...),
        designation: str = Form(...),
        description: str | None = Form(None),
        top_k: int = Form(3),
    ) -> dict:
        result = await classify(await image.read(), designation, description, check_top_k(top_k))
        return {**clf.envelope(), **result}

    @app.post("/v1/predict/batch", summary=f"Classify up to {MAX_BATCH_ITEMS} products (JSON, base64 images)")
    async def predict_batch(request: BatchRequest) -> dict:
        check_top_k(request.top_k)
        images = []
        for i, item in enumerate(request.items):
            try:
                images.append(base64.b64decode(item.image, validate=True))
            except (binascii.Error, ValueError):
                raise HTTPException(422, f"items[{i}].image: not valid base64") from None
        results = await asyncio.gather(
            *(
                classify(data, item.designation, item.description, request.top_k, f"items[{i}].")
                for i, (data, item) in enumerate(zip(images, request.items))
            ),
            return_exceptions=True,
        )
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed
        return {**clf.envelope(), "predictions": results}

    @app.get("/v1/model", summary="The bundle's manifest summary")
    async def model() -> dict:
        return model_summary(clf)

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

    @app.exception_handler(RequestValidationError)
    async def one_line(request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's validation errors (a missing field, top_k=abc) in the one 4xx shape: a line naming the field."""
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "form", "path"))
        key = "error" if request.url.path.startswith("/v2") else "detail"
        return JSONResponse({key: f"{field or 'request'}: {first.get('msg', 'invalid')}"[:300]}, 422)

    add_oip_routes(app, clf, state, pool)
    app.state.bundle = clf.bundle
    routes = {r.path for r in app.routes}
    app.add_middleware(
        Gate, state=state, api_key=api_key, max_inflight=max_inflight, routes=routes, predict=PREDICT_ROUTES
    )
    app.add_middleware(BodyLimit, limit=max_body)
    return app
