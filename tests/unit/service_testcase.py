"""A Tornado AsyncHTTPTestCase around the service, with its JSON log lines captured."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from tornado.httpclient import HTTPResponse
from tornado.testing import AsyncHTTPTestCase

from httpserver.app import make_app
from httpserver.config import Config
from httpserver.handlers import ServiceApplication
from httpserver.logs import flush_logs, setup_logging


class ServiceTestCase(AsyncHTTPTestCase):
    """Builds the app the way the server does, from a Config; readiness is on unless `ready = False`."""

    config_values: dict[str, Any] = {}
    ready = True

    def make_config(self) -> Config:
        values: dict[str, Any] = {
            "env": "dev",
            "max_n": 100000,
            "cache": True,
            "cache_size": 8,
            "log_level": "DEBUG",
            "version": "1.2.3",
        }
        values.update(self.config_values)
        return Config(**values)

    def get_app(self) -> ServiceApplication:
        self.config = self.make_config()
        self.log_stream = io.StringIO()
        self.log_handler = setup_logging(self.config.log_level, self.log_stream)
        self.app = make_app(self.config)
        self.state = self.app.state
        self.state.ready = self.ready
        return self.app

    def tearDown(self) -> None:
        super().tearDown()
        logging.getLogger().removeHandler(self.log_handler)

    def request(self, path: str, method: str = "GET", **kwargs: Any) -> HTTPResponse:
        if method in ("POST", "PUT", "PATCH") and "body" not in kwargs:
            kwargs["body"] = b""
        return self.fetch(path, method=method, allow_nonstandard_methods=True, raise_error=False, **kwargs)

    def json(self, response: HTTPResponse) -> Any:
        assert response.headers["Content-Type"].startswith("application/json"), response.headers
        return json.loads(response.body)

    def log_lines(self) -> list[dict[str, Any]]:
        flush_logs()
        return [json.loads(line) for line in self.log_stream.getvalue().splitlines()]

    def log_messages(self, level: str | None = None) -> list[str]:
        return [line["message"] for line in self.log_lines() if level is None or line["level"] == level]
