"""Prometheus metrics through prometheus-client, named the way serving stacks name them: per model and version,
requests by outcome (Triton's nv_inference_request_success / _failure), request, queue and compute duration
histograms (BentoML's *_request_duration_seconds), batch sizes and requests in flight. One registry per app, so
several apps in one process (tests, several models) never share a series by accident.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
MODEL = ("model", "version")


class Metrics:
    """Updated from the event loop's thread (middleware and batcher); prometheus-client's own locks cover the rest."""

    def __init__(self):
        self.registry = registry = CollectorRegistry()
        self.started = time.time()
        self.http = Counter(
            "rakuten_http_requests", "HTTP requests by endpoint and status.", ["endpoint", "status"], registry=registry
        )
        self.http_errors = Counter(
            "rakuten_http_errors", "Responses with a 4xx or 5xx status.", ["endpoint", "status"], registry=registry
        )
        self.duration = Histogram(
            "rakuten_request_duration_seconds",
            "Request duration, from the first byte in to the last byte out.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.success = Counter(
            "rakuten_inference_request_success", "Prediction requests answered.", MODEL, registry=registry
        )
        self.failure = Counter(
            "rakuten_inference_request_failure",
            "Prediction requests refused (bad input, overload) or failed.",
            [*MODEL, "status"],
            registry=registry,
        )
        self.queue = Histogram(
            "rakuten_inference_queue_duration_seconds",
            "Time a decoded product waited for its micro-batch to start.",
            MODEL,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.compute = Histogram(
            "rakuten_inference_compute_duration_seconds",
            "Time of one micro-batch in the engine (encode and run).",
            MODEL,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "rakuten_inference_batch_size", "Products per engine call.", MODEL, buckets=BATCH_BUCKETS, registry=registry
        )
        self.inflight = Gauge("rakuten_requests_in_flight", "Prediction requests being served.", registry=registry)
        self.uptime = Gauge("rakuten_uptime_seconds", "Seconds since start.", registry=registry)

    def request(self, endpoint: str, status: int, seconds: float, model: tuple[str, str] | None = None) -> None:
        """One HTTP request; `model` (name, version) when it was a prediction request for that model."""
        self.http.labels(endpoint, str(status)).inc()
        if status >= 400:
            self.http_errors.labels(endpoint, str(status)).inc()
        self.duration.labels(endpoint).observe(seconds)
        if model is not None:
            if status < 400:
                self.success.labels(*model).inc()
            else:
                self.failure.labels(*model, str(status)).inc()

    def for_model(self, name: str, version: str) -> ModelMetrics:
        return ModelMetrics(self, (name, version))

    def render(self, inflight: int) -> bytes:
        self.inflight.set(inflight)
        self.uptime.set(round(time.time() - self.started, 1))
        return generate_latest(self.registry)


class ModelMetrics:
    """One model's series, for its micro-batcher."""

    def __init__(self, metrics: Metrics, labels: tuple[str, str]):
        self.metrics, self.labels = metrics, labels

    def batch(self, size: int, waited: list[float], seconds: float) -> None:
        m = self.metrics
        m.batch_size.labels(*self.labels).observe(size)
        for w in waited:
            m.queue.labels(*self.labels).observe(w)
        m.compute.labels(*self.labels).observe(seconds)
