"""Prometheus metrics, one registry per application (so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The service's metrics. Label children are resolved once per (route, status) and kept,
    so recording a request costs a dict lookup and two increments."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, env: str, version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "httpserver_requests",
            "HTTP requests served, by route and status code.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "httpserver_request_duration_seconds",
            "Time from the request's arrival to its response, by route.",
            ("route",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "httpserver_requests_in_flight", "Requests being handled now.", registry=self.registry
        )
        self.cache_hits = Counter(
            "httpserver_fibo_cache_hits", "Fibonacci cache hits.", registry=self.registry
        )
        self.cache_misses = Counter(
            "httpserver_fibo_cache_misses", "Fibonacci cache misses.", registry=self.registry
        )
        self.cache_entries = Gauge(
            "httpserver_fibo_cache_entries", "Entries in the Fibonacci cache.", registry=self.registry
        )
        self.info = Gauge(
            "httpserver_build_info",
            "Always 1; labels say the version and env.",
            ("version", "env"),
            registry=self.registry,
        )
        self.info.labels(version, env).set(1)
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[str, Histogram] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(route, method, str(status))
        counter.inc()
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = self.latency.labels(route)
        histogram.observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
