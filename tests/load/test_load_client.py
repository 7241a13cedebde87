"""The load client counts every failure kind exactly, so the suite's "zero errors" can fail.

A local Tornado server on 127.0.0.1 (TLS with a throwaway CA, name `cloudnative`) answers 503 or
drops the connection on a fixed schedule and counts what it did; the client's counts must match.
No cluster is needed.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
import warnings

import pytest
import tornado.httpserver
import tornado.web
from load_pki import make_pki
from load_probes import tls_handshake
from loadgen import DISCONNECTED, HTTP_5XX, REFUSED, TIMEOUT, TLS, LoadGenerator, Sample, percentile

pytestmark = pytest.mark.timeout(60, func_only=True)


class Plan:
    """What the server does with its n-th request (thread-safe counter), and what it did."""

    def __init__(self, fail_every: int = 0, drop_every: int = 0, slow_every: int = 0, slow_s: float = 0):
        self.fail_every, self.drop_every, self.slow_every, self.slow_s = (
            fail_every,
            drop_every,
            slow_every,
            slow_s,
        )
        self.lock = threading.Lock()
        self.n = 0
        self.did = {"ok": 0, "503": 0, "drop": 0, "slow": 0}

    def next(self) -> str:
        with self.lock:
            self.n += 1
            n = self.n
            if self.drop_every and n % self.drop_every == 0:
                action = "drop"
            elif self.fail_every and n % self.fail_every == 0:
                action = "503"
            elif self.slow_every and n % self.slow_every == 0:
                action = "slow"
            else:
                action = "ok"
            self.did[action] += 1
            return action


class FlakyHandler(tornado.web.RequestHandler):
    def initialize(self, plan: Plan) -> None:
        self.plan = plan

    async def get(self) -> None:
        action = self.plan.next()
        self.set_header("X-App-Version", "test-1")
        if action == "drop":
            # Close the TCP connection without any response, as a killed process would.
            self.request.connection.detach().close()
            self._finished = True
            return
        if action == "503":
            self.set_status(503)
            self.finish({"error": "not ready"})
            return
        if action == "slow":
            await asyncio.sleep(self.plan.slow_s)
        self.finish({"result": 55})


class LocalServer:
    """Tornado HTTPS server on 127.0.0.1 in its own thread and event loop."""

    def __init__(self, plan: Plan, ssl_ctx: ssl.SSLContext):
        self.plan, self.ssl_ctx = plan, ssl_ctx
        self.ready = threading.Event()
        self.port = 0

    def __enter__(self) -> LocalServer:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "local test server did not start"
        return self

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        app = tornado.web.Application([(r"/prod/fibo", FlakyHandler, {"plan": self.plan})])
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        server = tornado.httpserver.HTTPServer(app, ssl_options=self.ssl_ctx)
        server.add_sockets([sock])
        self.server = server
        self.loop.call_soon(self.ready.set)
        self.loop.run_forever()

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def server_context(pki, minimum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    if minimum is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = minimum
    return ctx


def load(server: LocalServer, pki, **kwargs) -> LoadGenerator:
    options = {
        "rate": 100,
        "duration": 2.0,
        "connect": f"127.0.0.1:{server.port}",
        "cafile": str(pki.ca_cert),
    }
    options.update(kwargs)
    return LoadGenerator(f"https://cloudnative:{server.port}/prod/fibo?n=10", **options)


def test_all_ok_counts_every_request_at_the_asked_rate(pki):
    plan = Plan()
    with LocalServer(plan, server_context(pki)) as server:
        result = load(server, pki).run()
    assert result.total == 200 and result.unsent == 0, result.summary()
    assert result.failed == 0, result.describe_failures()
    assert plan.did["ok"] == 200
    assert result.versions() == {"test-1": 200}
    # Open loop: the last request starts about `duration` after the first.
    last_start = max(s.started for s in result.samples)
    assert last_start > 1.8, result.summary()
    assert last_start < 2.3, result.summary()
    series = result.timeseries()
    assert sum(b["sent"] for b in series) == 200
    assert all(80 <= b["sent"] <= 120 for b in series[:2]), series


def test_503_answers_are_counted_as_5xx_failures(pki):
    plan = Plan(fail_every=5)
    with LocalServer(plan, server_context(pki)) as server:
        result = load(server, pki).run()
    assert plan.did["503"] == 40
    assert result.by_error() == {HTTP_5XX: 40}, result.describe_failures()
    assert result.by_status() == {"200": 160, "503": 40}
    assert sum(b["errors"] for b in result.timeseries()) == 40


def test_dropped_connections_are_counted_as_disconnects(pki):
    plan = Plan(drop_every=7, fail_every=11)
    with LocalServer(plan, server_context(pki)) as server:
        result = load(server, pki).run()
    assert plan.did["drop"] == 200 // 7
    assert result.by_error() == {DISCONNECTED: plan.did["drop"], HTTP_5XX: plan.did["503"]}, result.summary()
    assert result.ok == plan.did["ok"]


def test_slow_answers_past_the_timeout_are_counted_as_timeouts(pki):
    plan = Plan(slow_every=10, slow_s=1.5)
    with LocalServer(plan, server_context(pki)) as server:
        result = load(server, pki, rate=50, duration=1.0, timeout=0.5).run()
    assert result.by_error() == {TIMEOUT: 5}, result.summary()


def test_refused_connections_are_counted(pki):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = LoadGenerator(
        f"https://cloudnative:{port}/prod/fibo?n=10", rate=20, duration=1.0, connect=f"127.0.0.1:{port}"
    ).run()
    assert result.by_error() == {REFUSED: 20}, result.summary()


def test_a_certificate_from_another_ca_is_a_tls_error(pki, tmp_path):
    other = make_pki(tmp_path)
    with LocalServer(Plan(), server_context(pki)) as server:
        result = load(server, other, rate=20, duration=1.0).run()
    assert result.by_error() == {TLS: 20}, result.summary()


def test_stop_ends_the_run_early_and_counts_queued_requests(pki):
    with LocalServer(Plan(), server_context(pki)) as server:
        gen = load(server, pki, rate=100, duration=30).start()
        time.sleep(1.0)
        gen.stop()
        t = time.monotonic()
        result = gen.join()
    assert time.monotonic() - t < 2
    assert 80 <= result.total <= 130 and result.failed == 0, result.summary()


def test_percentile_is_nearest_rank():
    assert percentile([], 99) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0


def test_versions_in_order_follows_first_appearance():
    def s(i, v):
        return Sample(i, i, float(i), 0.01, 200, None, v)

    from loadgen import Result

    result = Result("u", 1, 0, 4, [s(0, "a"), s(1, "a"), s(2, "b"), s(3, "a")])
    assert result.versions_in_order() == ["a", "b"]


def test_tls_probe_detects_an_old_protocol_when_the_server_allows_it(pki):
    """Positive control for the ingress's TLS test: this machine's client can speak TLS 1.0/1.1."""
    with LocalServer(Plan(), server_context(pki, minimum=ssl.TLSVersion.TLSv1)) as server:
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_2):
            outcome = tls_handshake("127.0.0.1", server.port, "cloudnative", version, str(pki.ca_cert))
            assert outcome.accepted, (version, outcome)
    with LocalServer(Plan(), server_context(pki, minimum=ssl.TLSVersion.TLSv1_2)) as server:
        outcome = tls_handshake(
            "127.0.0.1", server.port, "cloudnative", ssl.TLSVersion.TLSv1_1, str(pki.ca_cert)
        )
        assert not outcome.accepted and outcome.refused_by_server, outcome
