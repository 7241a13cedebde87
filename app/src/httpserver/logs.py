"""JSON lines on stdout. The service's own events (EventLog) are encoded directly and skip stdlib
logging's record machinery, which costs more than a whole bare Tornado request; stdlib logging still
decides the level and carries other libraries' records (Tornado's errors) in the same format. Lines are
written once per event-loop iteration (one write for every line of that iteration), and at once when no
loop runs."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any, TextIO

LOGGER_NAME = "httpserver"
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]
_LEVEL_NAMES = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
}


class _Clock:
    """ISO 8601 UTC timestamps with milliseconds; the seconds part is formatted once per second."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def format(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._text}.{int((now - second) * 1000):03d}Z"


class LineSink:
    """Collects finished lines and writes them to the stream once per event-loop iteration."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._pending: list[str] = []
        self._scheduled = False

    def write(self, line: str) -> None:
        self._pending.append(line)
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if self._pending:
            data = "".join(self._pending)
            self._pending.clear()
            self.stream.write(data)
            self.stream.flush()


_clock = _Clock()
_sink = LineSink(sys.stdout)


class JsonFormatter(logging.Formatter):
    """Other libraries' records in the same shape: time, level, logger, message (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _clock.format(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line)


class _SinkHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            _sink.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def setup_logging(level: str, stream: TextIO | None = None) -> logging.Handler:
    """Send every log line to `stream` (stdout) as JSON, at `level` and above. Calling it again
    replaces the previous setup (tests capture lines this way)."""
    _sink.flush()
    _sink.stream = stream if stream is not None else sys.stdout
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SinkHandler)]:
        root.removeHandler(old)
    handler = _SinkHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    set_level(level)
    # The service logs each request itself; Tornado's own access log would repeat it.
    logging.getLogger("tornado.access").disabled = True
    logging.getLogger("asyncio").setLevel(logging.INFO)
    return handler


def flush_logs() -> None:
    """Write out pending lines now (at exit, and for tests that read the stream)."""
    _sink.flush()


def set_level(level: str) -> None:
    logging.getLogger().setLevel(level)
    logging.getLogger(LOGGER_NAME).setLevel(level)


def get_logger(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


class EventLog:
    """Structured events: `log.info("cache miss", n=5)` writes
    {"time":..., "level":"INFO", "logger":"httpserver.<name>", "message":"cache miss", "n":5}.
    Nothing is built unless the level is enabled."""

    __slots__ = ("_name", "logger")

    def __init__(self, name: str = "") -> None:
        self.logger = get_logger(name)
        self._name = _quote(self.logger.name)

    def enabled(self, level: int) -> bool:
        return self.logger.isEnabledFor(level)

    def write(self, level: int, members: str) -> None:
        """A line from pre-encoded JSON members (`"message":"...","key":value`), for the hot path."""
        if self.logger.isEnabledFor(level):
            now = _clock.format(time.time())
            _sink.write(
                f'{{"time":"{now}","level":"{_LEVEL_NAMES[level]}","logger":{self._name},{members}}}\n'
            )

    def log(self, level: int, message: str, fields: dict[str, Any]) -> None:
        if self.logger.isEnabledFor(level):
            members = f'"message":{_quote(message)}'
            if fields:
                members = f"{members},{_encode(fields)[1:-1]}"
            self.write(level, members)

    def debug(self, message: str, **fields: Any) -> None:
        self.log(logging.DEBUG, message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log(logging.INFO, message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log(logging.WARNING, message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log(logging.ERROR, message, fields)


def quote(text: str) -> str:
    """`text` as a JSON string literal."""
    return _quote(text)
