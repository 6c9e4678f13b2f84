"""Prometheus text exposition, by hand: a few counters and histograms need no client library."""

from __future__ import annotations

import bisect
import time
from collections import Counter

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]):
        self.buckets, self.counts, self.sum, self.count = buckets, [0] * len(buckets), 0.0, 0

    def observe(self, value: float) -> None:
        i = bisect.bisect_left(self.buckets, value)
        if i < len(self.counts):
            self.counts[i] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str, labels: str = "") -> list[str]:
        out, running = [], 0
        sep = "," if labels else ""
        for bound, n in zip(self.buckets, self.counts):
            running += n
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {running}')
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.count}')
        suffix = f"{{{labels}}}" if labels else ""
        return out + [f"{name}_sum{suffix} {self.sum:.6f}", f"{name}_count{suffix} {self.count}"]


class Metrics:
    """Updated from the event loop's thread only (middleware and batcher), so no lock is needed."""

    def __init__(self):
        self.started = time.time()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.latency: dict[str, Histogram] = {}
        self.batch_size = Histogram(BATCH_BUCKETS)
        self.rejected_overload = 0

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests[(endpoint, status)] += 1
        self.latency.setdefault(endpoint, Histogram(LATENCY_BUCKETS)).observe(seconds)

    def render(self, inflight: int) -> str:
        lines = [
            "# HELP rakuten_requests_total HTTP requests by endpoint and status.",
            "# TYPE rakuten_requests_total counter",
        ]
        lines += [
            f'rakuten_requests_total{{endpoint="{e}",status="{s}"}} {n}' for (e, s), n in sorted(self.requests.items())
        ]
        lines += [
            "# HELP rakuten_errors_total Responses with a 4xx or 5xx status, by endpoint and status.",
            "# TYPE rakuten_errors_total counter",
        ]
        lines += [
            f'rakuten_errors_total{{endpoint="{e}",status="{s}"}} {n}'
            for (e, s), n in sorted(self.requests.items())
            if s >= 400
        ]
        lines += ["# HELP rakuten_request_seconds Request latency.", "# TYPE rakuten_request_seconds histogram"]
        for endpoint, hist in sorted(self.latency.items()):
            lines += hist.lines("rakuten_request_seconds", f'endpoint="{endpoint}"')
        lines += ["# HELP rakuten_batch_size Products per session call.", "# TYPE rakuten_batch_size histogram"]
        lines += self.batch_size.lines("rakuten_batch_size")
        lines += [
            "# HELP rakuten_inflight_requests Prediction requests being served.",
            "# TYPE rakuten_inflight_requests gauge",
            f"rakuten_inflight_requests {inflight}",
            "# HELP rakuten_uptime_seconds Seconds since start.",
            "# TYPE rakuten_uptime_seconds gauge",
            f"rakuten_uptime_seconds {time.time() - self.started:.1f}",
        ]
        return "\n".join(lines) + "\n"
