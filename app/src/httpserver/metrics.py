"""Prometheus metrics, one registry per application (so tests can build many apps).

The per-request numbers (requests by route/method/status, the latency histogram, the Fibonacci cache's
hits and misses) are plain numbers in RequestStats and CacheStats, turned into Prometheus families only
when /metrics is scraped: recording costs a few dict and list operations instead of prometheus_client's
locked value updates."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class RequestStats(Collector):
    """Request counts and latencies, kept as plain numbers and exposed at collect time."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts: dict[tuple[str, str, int], int] = {}
        # route -> [count per bucket (the last one is +Inf), sum of seconds]
        self.latency: dict[str, tuple[list[int], list[float]]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        entry = self.latency.get(route)
        if entry is None:
            entry = self.latency[route] = ([0] * (len(self.buckets) + 1), [0.0])
        entry[0][bisect_left(self.buckets, seconds)] += 1
        entry[1][0] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "httpserver_requests", "HTTP requests served, by route, method and status code.",
            labels=("route", "method", "status"),
        )  # fmt: skip
        for (route, method, status), count in sorted(self.counts.items()):
            requests.add_metric((route, method, str(status)), count)
        yield requests
        latency = HistogramMetricFamily(
            "httpserver_request_duration_seconds",
            "Time from the request's arrival to its response, by route.",
            labels=("route",),
        )
        for route, (bucket_counts, total) in sorted(self.latency.items()):
            cumulative, running = [], 0
            for bound, count in zip((*self.buckets, float("inf")), bucket_counts, strict=True):
                running += count
                cumulative.append((_bound_text(bound), running))
            latency.add_metric((route,), cumulative, total[0])
        yield latency


class CacheStats(Collector):
    """Fibonacci cache hits, misses and size, kept as plain numbers like RequestStats."""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.entries = 0

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily("httpserver_fibo_cache_hits", "Fibonacci cache hits.", value=self.hits)
        yield CounterMetricFamily(
            "httpserver_fibo_cache_misses", "Fibonacci cache misses.", value=self.misses
        )
        yield GaugeMetricFamily(
            "httpserver_fibo_cache_entries", "Entries in the Fibonacci cache.", self.entries
        )


def _bound_text(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


class Metrics:
    """Every metric of one service: request stats, in-flight gauge, Fibonacci cache counters, build info."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, env: str, version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = RequestStats()
        self.registry.register(self.requests)
        self.observe_request = self.requests.observe
        self.in_flight = Gauge(
            "httpserver_requests_in_flight", "Requests being handled now.", registry=self.registry
        )
        self.cache = CacheStats()
        self.registry.register(self.cache)
        self.info = Gauge(
            "httpserver_build_info",
            "Always 1; labels say the version and env.",
            ("version", "env"),
            registry=self.registry,
        )
        self.info.labels(version, env).set(1)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
