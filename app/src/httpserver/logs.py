"""JSON lines on stdout through stdlib logging, with a cheap path for the per-request lines."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

LOGGER_NAME = "httpserver"
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode

# The service is single-threaded per process: skip what LogRecord would otherwise look up per line.
logging.logThreads = False
logging.logMultiprocessing = False


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ms), level, logger, message, then the record's `fields`."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._second_text = ""

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line)


class _StdoutHandler(logging.StreamHandler):
    """The handler setup_logging installs (marked, so a second call replaces rather than doubles it)."""


def setup_logging(level: str, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records to `stream` (stdout) as JSON lines, at `level` and above."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StdoutHandler)]:
        root.removeHandler(old)
    handler = _StdoutHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    set_level(level)
    # Tornado's own access log would duplicate ours; its other loggers (errors) stay on.
    logging.getLogger("tornado.access").disabled = True
    logging.getLogger("asyncio").setLevel(logging.INFO)
    return handler


def set_level(level: str) -> None:
    logging.getLogger().setLevel(level)
    logging.getLogger(LOGGER_NAME).setLevel(level)


def get_logger(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


class EventLog:
    """Structured events: `log.info("cache miss", n=5)`. Builds no record unless the level is enabled,
    and skips the caller lookup stdlib logging would do for each line."""

    __slots__ = ("logger",)

    def __init__(self, name: str = "") -> None:
        self.logger = get_logger(name)

    def enabled(self, level: int) -> bool:
        return self.logger.isEnabledFor(level)

    def log(self, level: int, message: str, fields: dict[str, Any]) -> None:
        logger = self.logger
        if logger.isEnabledFor(level):
            record = logger.makeRecord(logger.name, level, "", 0, message, None, None)
            record.fields = fields
            logger.handle(record)

    def debug(self, message: str, **fields: Any) -> None:
        self.log(logging.DEBUG, message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log(logging.INFO, message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log(logging.WARNING, message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log(logging.ERROR, message, fields)
