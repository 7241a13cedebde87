"""Fixed-rate HTTP(S) load client that records every request.

Open-loop: request i is due at ``start + i / rate`` whatever the previous ones did, so a slow or
failing server shows up as errors and latency instead of silently lowering the rate. Each request is
sent by one of a pool of worker threads over its own keep-alive connection (``http.client``, stdlib
only). The run is bounded in time (``duration``) and therefore in count (``rate * duration``), and
can be stopped early with :meth:`LoadGenerator.stop`.

Every dispatched request is recorded (start time, status, latency, error kind, version header);
requests still queued when the run stops are counted as ``unsent``, never dropped silently.

Usable as a library (the load tests) and from the command line (the benchmarks)::

    python tests/load/loadgen.py --url https://cloudnative/prod/healthz --connect 127.0.0.1:443 \
        --cacert /etc/cloudnative/tls/ca.crt --rate 100 --duration 10 --json out.json
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import http.client
import json
import math
import queue
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable

# Error kinds, in the order they are checked.
DISCONNECTED = "disconnected"  # the peer closed the connection without (a complete) response
REFUSED = "refused"  # connection refused
RESET = "reset"  # connection reset / broken pipe
TIMEOUT = "timeout"  # connect or read timeout
TLS = "tls"  # TLS handshake or certificate error
HTTP_5XX = "http_5xx"  # the server answered with a 5xx status
UNEXPECTED_STATUS = "unexpected_status"  # any other status not in the expected set
OTHER = "other"  # anything else (DNS, protocol error, ...)


def classify_exception(exc: BaseException) -> str:
    """Map an exception raised while sending a request to an error kind."""
    # RemoteDisconnected is a ConnectionResetError *and* a BadStatusLine: check it first.
    if isinstance(exc, (http.client.RemoteDisconnected, http.client.IncompleteRead)):
        return DISCONNECTED
    if isinstance(exc, ConnectionRefusedError):
        return REFUSED
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return RESET
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return TIMEOUT
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        return TLS
    return OTHER


@dataclasses.dataclass(slots=True)
class Sample:
    """One request: times are seconds since the start of the run."""

    index: int
    scheduled: float
    started: float
    latency: float
    status: int | None
    error: str | None
    version: str | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclasses.dataclass
class Result:
    """All samples of a run, with the summaries the tests and plots need."""

    url: str
    rate: float
    started_at: float  # wall clock (epoch seconds) of t=0
    elapsed: float  # seconds from t=0 to the last request finishing
    samples: list[Sample]
    unsent: int = 0

    @property
    def total(self) -> int:
        return len(self.samples)

    @property
    def ok(self) -> int:
        return sum(1 for s in self.samples if s.ok)

    @property
    def failures(self) -> list[Sample]:
        return [s for s in self.samples if not s.ok]

    @property
    def failed(self) -> int:
        return len(self.failures)

    def by_status(self) -> dict[str, int]:
        counts = collections.Counter(str(s.status) if s.status is not None else "none" for s in self.samples)
        return dict(sorted(counts.items()))

    def by_error(self) -> dict[str, int]:
        return dict(sorted(collections.Counter(s.error for s in self.samples if s.error).items()))

    def versions(self) -> dict[str, int]:
        return dict(sorted(collections.Counter(s.version or "" for s in self.samples if s.ok).items()))

    def versions_in_order(self) -> list[str]:
        """Distinct versions seen in successful answers, in order of first appearance."""
        seen: dict[str, None] = {}
        for s in sorted(self.samples, key=lambda s: s.started):
            if s.ok and s.version:
                seen.setdefault(s.version, None)
        return list(seen)

    def latency_ms(self, q: float) -> float | None:
        value = percentile([s.latency for s in self.samples if s.ok], q)
        return None if value is None else round(value * 1000, 2)

    def max_lag(self) -> float:
        """Largest delay between when a request was due and when it was sent (client saturation)."""
        return max((s.started - s.scheduled for s in self.samples), default=0.0)

    def summary(self) -> dict:
        return {
            "url": self.url,
            "rate": self.rate,
            "elapsed_s": round(self.elapsed, 3),
            "total": self.total,
            "ok": self.ok,
            "failed": self.failed,
            "unsent": self.unsent,
            "by_status": self.by_status(),
            "by_error": self.by_error(),
            "versions": self.versions(),
            "achieved_rps": round(self.total / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": self.latency_ms(50),
            "p99_ms": self.latency_ms(99),
            "max_ms": self.latency_ms(100),
            "max_lag_s": round(self.max_lag(), 3),
        }

    def describe_failures(self, limit: int = 10) -> str:
        """A readable account of the failures, for assertion messages."""
        lines = [
            f"{self.failed} of {self.total} requests failed: {self.by_error()} statuses={self.by_status()}"
        ]
        for s in self.failures[:limit]:
            lines.append(
                f"  #{s.index} t={s.started:.2f}s status={s.status} error={s.error} "
                f"after {s.latency * 1000:.0f} ms: {s.detail[:160]}"
            )
        return "\n".join(lines)

    def timeseries(self, bucket: float = 1.0) -> list[dict]:
        """Per-bucket counts of requests started in it: sent, ok, errors, p50/p99 latency (ms) of the ok."""
        if not self.samples:
            return []
        last = max(s.started for s in self.samples)
        buckets = [
            {"t": round(i * bucket, 3), "sent": 0, "ok": 0, "errors": 0, "_lat": []}
            for i in range(int(last // bucket) + 1)
        ]
        for s in self.samples:
            b = buckets[int(s.started // bucket)]
            b["sent"] += 1
            if s.ok:
                b["ok"] += 1
                b["_lat"].append(s.latency)
            else:
                b["errors"] += 1
        for b in buckets:
            lat = b.pop("_lat")
            b["p50_ms"] = None if not lat else round(percentile(lat, 50) * 1000, 2)
            b["p99_ms"] = None if not lat else round(percentile(lat, 99) * 1000, 2)
        return buckets

    def to_json(self) -> dict:
        return {
            "summary": self.summary(),
            "started_at": self.started_at,
            "timeseries": self.timeseries(),
            "failures": [dataclasses.asdict(s) for s in self.failures[:200]],
        }


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed address with the SNI and certificate name of ``host`` (no DNS lookup)."""

    def __init__(self, host: str, port: int, address: str, *, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to a fixed address, with ``host`` in the Host header."""

    def __init__(self, host: str, port: int, address: str, *, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def make_tls_context(cafile: str | None, minimum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A verifying client context that trusts only ``cafile`` (or the system store when None)."""
    ctx = ssl.create_default_context(cafile=cafile)
    if minimum is not None:
        ctx.minimum_version = minimum
    return ctx


class LoadGenerator:
    """Send ``rate`` requests per second to ``url`` for ``duration`` seconds, recording each one.

    ``connect`` ("address:port") pins where connections go, keeping the URL's host for SNI,
    certificate check and Host header; by default the URL's host and port are used.
    """

    def __init__(
        self,
        url: str,
        *,
        rate: float,
        duration: float,
        connect: str | None = None,
        cafile: str | None = None,
        timeout: float = 10.0,
        workers: int = 32,
        expect_status: Iterable[int] = (200,),
        version_header: str = "X-App-Version",
        keepalive: bool = True,
    ):
        if rate <= 0 or duration <= 0:
            raise ValueError("rate and duration must be positive")
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme in {url!r}")
        self.url = url
        self.rate = rate
        self.duration = duration
        self.timeout = timeout
        self.workers = workers
        self.expect_status = frozenset(expect_status)
        self.version_header = version_header
        self.keepalive = keepalive
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname or ""
        self._port = parsed.port or (443 if self._https else 80)
        self._target = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
        self._address = self._host
        if connect:
            address, _, port = connect.rpartition(":")
            self._address, self._port = address, int(port)
        self._context = make_tls_context(cafile) if self._https else None
        self._tickets: queue.Queue[tuple[int, float] | None] = queue.Queue()
        self._stop = threading.Event()
        self._samples: list[Sample] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._t0 = 0.0
        self._wall0 = 0.0
        self._unsent = 0
        self.result: Result | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LoadGenerator:
        self._t0 = time.monotonic()
        self._wall0 = time.time()
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"loadgen-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        dispatcher = threading.Thread(target=self._dispatch, name="loadgen-dispatch", daemon=True)
        dispatcher.start()
        self._dispatcher = dispatcher
        return self

    def stop(self) -> None:
        """Stop dispatching new requests (those in flight complete and are recorded)."""
        self._stop.set()

    def join(self) -> Result:
        """Wait for the run to end (duration reached or stop()) and return its result."""
        self._dispatcher.join()
        for t in self._threads:
            t.join(self.timeout + 5)
        samples = sorted(self._samples, key=lambda s: s.index)
        end = max((s.started + s.latency for s in samples), default=0.0)
        self.result = Result(self.url, self.rate, self._wall0, end, samples, self._unsent)
        return self.result

    def run(self) -> Result:
        return self.start().join()

    def __enter__(self) -> LoadGenerator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.join()

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def snapshot(self) -> tuple[int, int]:
        """(requests recorded so far, failures so far) — for progress checks while running."""
        with self._lock:
            return len(self._samples), sum(1 for s in self._samples if not s.ok)

    # -- internals -------------------------------------------------------------------------
    def _dispatch(self) -> None:
        count = int(self.rate * self.duration)
        stopped_early = False
        for i in range(count):
            due = i / self.rate
            delay = due - (time.monotonic() - self._t0)
            if (delay > 0 and self._stop.wait(delay)) or self._stop.is_set():
                stopped_early = True
                break
            self._tickets.put((i, due))
        self._stop.set()
        if stopped_early:
            # Tickets not yet taken by a worker are counted as unsent, not sent late.
            while True:
                try:
                    self._tickets.get_nowait()
                except queue.Empty:
                    break
                self._unsent += 1
        # Sentinels go behind any remaining tickets (FIFO), so a full run sends every ticket.
        for _ in self._threads:
            self._tickets.put(None)

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            assert self._context is not None
            return PinnedHTTPSConnection(
                self._host, self._port, self._address, timeout=self.timeout, context=self._context
            )
        return PinnedHTTPConnection(self._host, self._port, self._address, timeout=self.timeout)

    def _work(self) -> None:
        conn: http.client.HTTPConnection | None = None
        headers = {"Host": self._host if self._port in (80, 443) else f"{self._host}:{self._port}"}
        if not self.keepalive:
            headers["Connection"] = "close"
        while True:
            ticket = self._tickets.get()
            if ticket is None:
                break
            index, due = ticket
            if conn is None:
                conn = self._connection()
            started = time.monotonic()
            status = version = error = None
            detail = ""
            try:
                conn.request("GET", self._target, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                version = response.getheader(self.version_header)
                if response.will_close or not self.keepalive:
                    conn.close()
                    conn = None
                if status not in self.expect_status:
                    error = HTTP_5XX if status >= 500 else UNEXPECTED_STATUS
                    detail = f"HTTP {status}"
            except Exception as exc:
                error = classify_exception(exc)
                detail = f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = None
            latency = time.monotonic() - started
            sample = Sample(index, due, started - self._t0, latency, status, error, version, detail)
            with self._lock:
                self._samples.append(sample)
        if conn is not None:
            conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--connect", help="address:port to connect to instead of the URL's host")
    parser.add_argument("--cacert", help="CA bundle that must sign the server certificate")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, seconds")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--no-keepalive", action="store_true", help="one connection per request")
    parser.add_argument("--json", help="write summary, per-second series and failures to this file")
    args = parser.parse_args(argv)
    result = LoadGenerator(
        args.url,
        rate=args.rate,
        duration=args.duration,
        connect=args.connect,
        cafile=args.cacert,
        timeout=args.timeout,
        workers=args.workers,
        keepalive=not args.no_keepalive,
    ).run()
    print(json.dumps(result.summary(), indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result.to_json(), fh, indent=1)
    return 0 if result.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
