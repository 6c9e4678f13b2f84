"""The /v2 routes (oip.py holds the protocol): health, metadata, readiness and infer for the served bundle."""

from __future__ import annotations

import asyncio

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ..runtime.answers import STRICT, InputError
from . import oip
from .models import Models, Slot


def add_oip_routes(app: FastAPI, models: Models, state, pool, holding) -> None:
    """`holding(name)`: the app's context manager that holds a model's slot for one request."""

    def error(message: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": message}, status)

    def model_error(model: str, ver: str | None) -> JSONResponse | None:
        slot = models.slots.get(model)
        if slot is None:
            return error(f"unknown model {model!r} (served: {', '.join(models.slots)})", 404)
        if ver is not None and ver != slot.version:
            return error(f"model {model} has no version {ver!r} (served: {slot.version})", 404)
        return None

    def metadata(slot: Slot) -> dict:
        platform = f"rakuten-edge/{slot.clf.engine.name}"
        return oip.model_metadata(slot.name, slot.version, len(slot.clf.labels), platform)

    @app.get("/v2", summary="Server metadata (Open Inference Protocol)")
    async def v2_server() -> dict:
        return oip.server_metadata()

    @app.get("/v2/health/live", summary="The process is up (OIP)")
    async def v2_live() -> dict:
        return {}

    @app.get("/v2/health/ready", summary="Every model is loaded and warm (OIP)")
    async def v2_ready():
        return {} if state.ready else error("not ready", 503)

    @app.get("/v2/models/{model}", summary="Model metadata (OIP)")
    @app.get("/v2/models/{model}/versions/{ver}", summary="Model metadata of a version (OIP)")
    async def v2_model(model: str, ver: str | None = None):
        return model_error(model, ver) or metadata(models.get(model))

    @app.get("/v2/models/{model}/ready", summary="Model readiness (OIP)")
    @app.get("/v2/models/{model}/versions/{ver}/ready", summary="Model readiness of a version (OIP)")
    async def v2_model_ready(model: str, ver: str | None = None):
        return model_error(model, ver) or ({} if state.ready else error("not ready", 503))

    async def score(slot: Slot, data: bytes, designation: bytes, description: bytes | None, i: int) -> np.ndarray:
        """One item through the runtime's path (strict policy); errors name the input and the item."""
        clf = slot.clf
        try:
            text = clf.text_of(
                designation.decode("utf-8", "replace"),
                description.decode("utf-8", "replace") if description is not None else None,
                STRICT,
            )
            decoded = await asyncio.get_running_loop().run_in_executor(pool, clf.decode_one, data, STRICT)
        except InputError as exc:
            raise oip.OipError(f"inputs.{exc.field}[{i}]: {exc.reason}") from None
        return await slot.batcher.submit(decoded.pixels, text)

    @app.post("/v2/models/{model}/infer", summary="Classify N products (OIP, binary tensor data extension)")
    @app.post("/v2/models/{model}/versions/{ver}/infer", summary="Classify N products with a version (OIP)")
    async def v2_infer(model: str, request: Request, ver: str | None = None):
        refused = model_error(model, ver)
        if refused is not None:
            return refused
        with holding(model) as slot:
            try:
                inputs, req = oip.parse_request(await request.body(), request.headers.get(oip.HEADER))
                top_k = slot.clf.check_top_k(oip.top_k_of(req))
                n = len(inputs["image"])
                texts, descriptions = inputs["designation"], inputs.get("description") or [None] * n
                rows = await asyncio.gather(
                    *(score(slot, inputs["image"][i], texts[i], descriptions[i], i) for i in range(n)),
                    return_exceptions=True,
                )
                failed = next((r for r in rows if isinstance(r, BaseException)), None)
                if failed is not None:
                    raise failed
                outputs = oip.outputs_of(np.stack(rows), slot.clf.label_codes, top_k)
                body, headers = oip.response(slot.name, slot.version, req, outputs)
            except ValueError as exc:  # OipError, and check_top_k's range
                return error(str(exc), getattr(exc, "status", 400))
        return Response(body, headers=headers, media_type=headers["content-type"])
