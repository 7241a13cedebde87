"""HTTP handlers: parse, call, write. Request ids, request logs, metrics and error bodies live in
BaseHandler, so each route's handler is a few lines."""

from __future__ import annotations

import json
import re
from logging import ERROR, INFO
from random import getrandbits
from typing import Any

from tornado.httputil import responses
from tornado.web import Application, HTTPError, RequestHandler

from httpserver.logs import EventLog, quote
from httpserver.state import AppState

_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")
_DECIMAL_RE = re.compile(rb"[0-9]+")
_KNOWN_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"))
_QUOTED_METHODS = {method: f'"{method}"' for method in _KNOWN_METHODS}
_JSON = "application/json"
_access = EventLog("access")
# UUID version 4: the version nibble is 4 and the variant bits are 10.
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


def _quoted_method(method: str) -> str:
    return _QUOTED_METHODS.get(method) or quote(method)


def new_request_id() -> str:
    """A random UUID4 string. Request ids are correlation keys, not secrets, so the fast Mersenne
    Twister is enough (it is reseeded in every forked worker); uuid.uuid4() costs a syscall."""
    digits = f"{getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class ServiceApplication(Application):
    """Tornado's Application plus the service's state, which every handler reaches."""

    def __init__(self, state: AppState, handlers: list[Any], **settings: Any) -> None:
        super().__init__(handlers, **settings)
        self.state = state


class ApiError(HTTPError):
    """A client error whose message is safe and useful to show: it becomes the `error` body."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code)
        self.message = message


class BaseHandler(RequestHandler):
    route = "other"  # the metrics label; unknown paths share one, so no path explodes the label set
    state: AppState
    request_id: str

    def initialize(self) -> None:
        self.state = self.application.state  # type: ignore[attr-defined]
        self._log_members: str | None = None
        if _access.enabled(INFO):
            _access.write(INFO, f'"message":"request start",{self._request_members()}')

    def _request_members(self) -> str:
        """The request's log fields as JSON members, built once for its start and end lines."""
        members = self._log_members
        if members is None:
            request = self.request
            members = self._log_members = (
                f'"request_id":"{self.request_id}","method":{_quoted_method(request.method or "")},'
                f'"path":{quote(request.path)},"client":{quote(request.remote_ip or "")}'
            )
        return members

    def set_default_headers(self) -> None:
        # Called once from __init__ (before initialize) and again if an error clears the headers.
        try:
            request_id = self.request_id
        except AttributeError:
            incoming = self.request.headers.get("X-Request-ID")
            request_id = incoming if incoming and _REQUEST_ID_RE.fullmatch(incoming) else new_request_id()
            self.request_id = request_id
        headers = self._headers
        headers["Content-Type"] = _JSON
        headers["Server"] = "cloudnative-httpserver"
        headers["X-App-Version"] = self.application.state.config.version  # type: ignore[attr-defined]
        headers["X-Request-ID"] = request_id

    def compute_etag(self) -> None:
        return None  # responses are tiny or cached; hashing each body would cost more than it saves

    def write_json(self, payload: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The one place an exception becomes a response: JSON `{"error": ...}`, never a traceback."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            message = exc.message
        elif status_code == 405:
            message = f"method {self.request.method} is not allowed on {self.request.path}; use GET"
            self.set_header("Allow", "GET")
        else:
            message = responses.get(status_code, "error").lower()
        self._error = message
        self.set_header("Content-Type", _JSON)
        self.finish(json.dumps({"error": message}))

    def on_finish(self) -> None:
        state = self.state
        request = self.request
        state.active_requests.discard(request.connection)
        status = self._status_code
        seconds = request.request_time()
        method = request.method if request.method in _KNOWN_METHODS else "OTHER"
        state.metrics.observe_request(self.route, method, status, seconds)
        level = INFO if status < 500 else ERROR
        if _access.enabled(level):
            error = getattr(self, "_error", None)
            extra = f',"error":{quote(error)}' if error else ""
            _access.write(
                level,
                f'"message":"request end",{self._request_members()},'
                f'"status":{status},"duration_ms":{seconds * 1000:.3f}{extra}',
            )


class RootHandler(BaseHandler):
    route = "/"

    def get(self) -> None:
        config = self.state.config
        self.write_json(
            {"message": "hello from cloudnative httpserver", "env": config.env, "version": config.version}
        )


class HealthzHandler(BaseHandler):
    route = "/healthz"

    def get(self) -> None:
        self.finish(b'{"status": "ok"}')


class ReadyzHandler(BaseHandler):
    route = "/readyz"

    def get(self) -> None:
        state = self.state
        if state.ready:
            self.finish(b'{"status": "ready"}')
        else:
            raise ApiError(503, "shutting down" if state.draining else "starting")


class FiboHandler(BaseHandler):
    route = "/fibo"

    def get(self) -> None:
        n = parse_n(self.request.query_arguments.get("n"), self.state.config.max_n)
        self.finish(self.state.fibo.body(n))


class MetricsHandler(BaseHandler):
    route = "/metrics"

    def get(self) -> None:
        metrics = self.state.metrics
        self.set_header("Content-Type", metrics.content_type)
        self.finish(metrics.exposition())


class NotFoundHandler(BaseHandler):
    def prepare(self) -> None:
        raise ApiError(404, f"no route {self.request.path!r}; routes live under {self.state.config.prefix}/")


def parse_n(values: list[bytes] | None, max_n: int) -> int:
    """The `n` query parameter: exactly one, ASCII decimal digits only (no sign, no spaces), <= max_n."""
    if not values:
        raise ApiError(400, "query parameter n is required, e.g. ?n=10")
    if len(values) > 1:
        raise ApiError(400, f"query parameter n must be given once, got it {len(values)} times")
    raw = values[0]
    if not raw:
        raise ApiError(400, "query parameter n is empty; give a non-negative integer, e.g. ?n=10")
    if not _DECIMAL_RE.fullmatch(raw):
        shown = raw[:32].decode("utf-8", "replace")
        raise ApiError(
            400, f"query parameter n must be a non-negative decimal integer without sign, got {shown!r}"
        )
    digits = raw.lstrip(b"0") or b"0"
    if len(digits) > len(str(max_n)) or int(digits) > max_n:
        shown = digits[:32].decode("ascii") + ("..." if len(digits) > 32 else "")
        raise ApiError(422, f"n={shown} is above the limit max_n={max_n}")
    return int(digits)
