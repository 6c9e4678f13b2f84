"""What every request passes before a handler runs, as raw ASGI middleware: the body-size limit (413), then the
API key (401), admission control (503) and request metrics."""

from __future__ import annotations

import hmac
import json
import time


class BodyTooLarge(Exception):
    pass


async def reply(send, status: int, detail: str, headers: list[tuple[bytes, bytes]] = (), path: str = "") -> None:
    """One line: {"detail": ...} on /v1 and elsewhere, the Open Inference Protocol's {"error": ...} on /v2."""
    body = json.dumps({"error" if path.startswith("/v2") else "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body over `limit` bytes: from Content-Length when sent, else counted while it streams in."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                return await reply(send, 400, "invalid Content-Length header")
            if too_big:
                return await reply(send, 413, f"request body over the limit of {self.limit} bytes", (), scope["path"])
        received, started = 0, False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await reply(send, 413, f"request body over the limit of {self.limit} bytes", (), scope["path"])


def guarded(path: str) -> bool:
    """The paths behind the API key: /v1/, /admin/ and /v2/ (OIP), but not /v2/health/ (a load balancer's probes)."""
    if path.startswith(("/v1/", "/admin/")):
        return True
    return path.startswith("/v2") and not path.startswith("/v2/health/")


def infer_route(path: str) -> bool:
    return path.startswith("/v2/models/") and path.endswith("/infer")


class Gate:
    """API key on /v1/ and /v2/ (401), admission control on the prediction endpoints (503 + Retry-After when
    `max_inflight` are already being served), and request metrics for every route."""

    def __init__(
        self, app, state, api_key: str | None, max_inflight: int, routes: set[str], predict: set[str], model_of
    ):
        self.app, self.state, self.api_key, self.max_inflight = app, state, api_key, max_inflight
        self.routes, self.predict, self.model_of = routes, predict, model_of

    def _authorised(self, headers: dict) -> bool:
        given = headers.get(b"x-api-key") or headers.get(b"authorization", b"").removeprefix(b"Bearer ")
        return bool(given) and hmac.compare_digest(given, self.api_key.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, t0, status = scope["path"], time.perf_counter(), 500
        endpoint = path if path in self.routes else ("/v2/models/{model}/infer" if infer_route(path) else "other")

        async def observed(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if guarded(path) and self.api_key and not self._authorised(dict(scope.get("headers") or [])):
                status = 401
                return await reply(send, 401, "missing or wrong API key (X-API-Key or Authorization: Bearer)", (), path)
            if path in self.predict or infer_route(path):
                if self.state.inflight >= self.max_inflight:
                    status = 503
                    return await reply(
                        send,
                        503,
                        "overloaded: too many requests in flight, retry shortly",
                        [(b"retry-after", b"1")],
                        path,
                    )
                self.state.inflight += 1
                try:
                    return await self.app(scope, receive, observed)
                finally:
                    self.state.inflight -= 1
            return await self.app(scope, receive, observed)
        finally:
            model = self.model_of(path) if path in self.predict or infer_route(path) else None
            self.state.metrics.request(endpoint, status, time.perf_counter() - t0, model)
