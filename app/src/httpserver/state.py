"""What one running service holds: its current config, readiness, metrics and the Fibonacci service."""

from __future__ import annotations

from dataclasses import dataclass, field

from httpserver.config import LOG_LEVELS, Config
from httpserver.fibo import LRUCache, fibonacci, render_result
from httpserver.logs import EventLog, set_level
from httpserver.metrics import Metrics

# Keys a config reload can change in a running process; the others need a restart.
LIVE_KEYS = ("log_level", "max_n", "cache", "cache_size", "drain_seconds", "shutdown_timeout_seconds")


class FiboService:
    """F(n) as a rendered JSON body, through a bounded LRU cache when caching is on."""

    def __init__(self, cache: bool, cache_size: int, metrics: Metrics) -> None:
        self.enabled = cache
        self.cache: LRUCache[int, bytes] = LRUCache(cache_size)
        self._stats = metrics.cache
        self._log = EventLog("fibo")

    def configure(self, cache: bool, cache_size: int) -> None:
        self.enabled = cache
        self.cache.resize(cache_size)
        if not cache:
            self.cache.clear()
        self._stats.entries = len(self.cache)

    def body(self, n: int) -> bytes:
        if not self.enabled:
            return render_result(fibonacci(n))
        stats = self._stats
        body = self.cache.get(n)
        if body is not None:
            stats.hits += 1
            return body
        stats.misses += 1
        self._log.debug("cache miss", n=n)
        body = render_result(fibonacci(n))
        self.cache.put(n, body)
        stats.entries = len(self.cache)
        self._log.debug("cache store", n=n, digits=len(body) - 12, entries=len(self.cache))
        return body


@dataclass
class AppState:
    config: Config
    metrics: Metrics
    fibo: FiboService
    ready: bool = False
    draining: bool = False
    # Connections of requests in flight (TrackingHTTPServer adds them, BaseHandler.on_finish removes them).
    active_requests: set[object] = field(default_factory=set)
    log: EventLog = field(default_factory=lambda: EventLog("config"))

    @classmethod
    def create(cls, config: Config) -> AppState:
        metrics = Metrics(config.env, config.version)
        state = cls(
            config=config, metrics=metrics, fibo=FiboService(config.cache, config.cache_size, metrics)
        )
        metrics.in_flight.set_function(lambda: state.in_flight)
        return state

    @property
    def in_flight(self) -> int:
        return len(self.active_requests)

    def apply_config(self, new: Config, source: str) -> None:
        """Take a reloaded config: live keys change now, restart-only keys are reported and kept."""
        old = self.config
        changed = {key: getattr(new, key) for key in LIVE_KEYS if getattr(new, key) != getattr(old, key)}
        kept = sorted(
            key
            for key in old.__dataclass_fields__
            if key not in LIVE_KEYS and getattr(new, key) != getattr(old, key)
        )
        self.config = old.replace(**changed)
        if "cache" in changed or "cache_size" in changed:
            self.fibo.configure(new.cache, new.cache_size)
        # The reload is logged under the more verbose of the two levels, so a quieter level still shows it.
        quieter = "log_level" in changed and LOG_LEVELS.index(new.log_level) > LOG_LEVELS.index(old.log_level)
        if "log_level" in changed and not quieter:
            set_level(new.log_level)
        if changed:
            self.log.info("config reloaded", file=source, changed=changed)
        if kept:
            self.log.warning(
                "config keys changed that need a restart; keeping the running values", file=source, keys=kept
            )
        if quieter:
            set_level(new.log_level)
