"""In-flight requests, counted from the moment their headers arrive (so a request still uploading its body
counts) until their response is finished or their connection drops. Graceful stop waits on this."""

from __future__ import annotations

from typing import Any

from tornado import httputil
from tornado.httpserver import HTTPServer


class _TrackingDelegate(httputil.HTTPMessageDelegate):
    __slots__ = ("_active", "_connection", "_inner")

    def __init__(
        self, inner: httputil.HTTPMessageDelegate, active: set[object], connection: httputil.HTTPConnection
    ) -> None:
        self._inner = inner
        self._active = active
        self._connection = connection

    def headers_received(self, start_line: Any, headers: httputil.HTTPHeaders) -> Any:
        self._active.add(self._connection)
        return self._inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        return self._inner.data_received(chunk)

    def finish(self) -> None:
        self._inner.finish()

    def on_connection_close(self) -> None:
        self._active.discard(self._connection)
        self._inner.on_connection_close()


class TrackingHTTPServer(HTTPServer):
    """Tornado's HTTPServer that adds each request's connection to `active` while it is in flight;
    the handler removes it when the response is finished (BaseHandler.on_finish)."""

    def initialize(self, *args: Any, active: set[object], **kwargs: Any) -> None:  # type: ignore[override]
        self.active = active
        super().initialize(*args, **kwargs)

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        return _TrackingDelegate(super().start_request(server_conn, request_conn), self.active, request_conn)
