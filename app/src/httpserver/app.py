"""Builds the Tornado Application from a Config: the one place routes are wired."""

from __future__ import annotations

from tornado.web import url

from httpserver.config import Config
from httpserver.handlers import (
    FiboHandler,
    HealthzHandler,
    MetricsHandler,
    NotFoundHandler,
    ReadyzHandler,
    RootHandler,
    ServiceApplication,
)
from httpserver.state import AppState


def _no_access_log(_handler: object) -> None:
    """BaseHandler logs each request itself (start and end, as JSON)."""


def make_app(config: Config, state: AppState | None = None) -> ServiceApplication:
    """The service for `config`. Readiness starts false: the server sets it once it listens."""
    state = state or AppState.create(config)
    prefix = config.prefix
    routes = [
        url(rf"{prefix}/?", RootHandler),
        url(rf"{prefix}/healthz", HealthzHandler),
        url(rf"{prefix}/readyz", ReadyzHandler),
        url(rf"{prefix}/fibo", FiboHandler),
        url(rf"{prefix}/metrics", MetricsHandler),
    ]
    return ServiceApplication(
        state,
        routes,
        default_handler_class=NotFoundHandler,
        log_function=_no_access_log,
        compress_response=False,
        serve_traceback=False,
    )
