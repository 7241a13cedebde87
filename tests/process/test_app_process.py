"""The real `httpserver` command on a free 127.0.0.1 port: graceful stop on SIGTERM/SIGINT with requests in
flight, pre-forked workers, and start-up failures."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

COMMAND = Path(sys.executable).with_name("httpserver")
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """One `httpserver` process we started (and stop by its own PID only)."""

    def __init__(self, tmp_path: Path, **config: Any) -> None:
        self.port = free_port()
        values = {"env": "dev", "port": self.port, "log_level": "INFO", **config}
        self.config_path = tmp_path / "config.yaml"
        self.config_path.write_text("".join(f"{key}: {json.dumps(value)}\n" for key, value in values.items()))
        self.log_path = tmp_path / "stdout.log"
        self.err_path = tmp_path / "stderr.log"
        env = {key: value for key, value in os.environ.items() if key not in ("VERSION", "LOGLEVEL")}
        with open(self.log_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(COMMAND), "--config", str(self.config_path), "--address", HOST],
                stdout=out,
                stderr=err,
                env=env,
                # Its own process group, so kill() also ends pre-forked workers the parent leaves behind.
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited early ({self.proc.returncode}): {self.output()}"
            try:
                if self.get("/dev/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not ready within {timeout}s: {self.output()}")

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, bytes, http.client.HTTPResponse]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read(), response
        finally:
            conn.close()

    def connect(self) -> socket.socket:
        return socket.create_connection((HOST, self.port), timeout=10)

    def listening(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1):
                return True
        except ConnectionRefusedError:
            return False

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def messages(self) -> list[str]:
        return [line["message"] for line in self.logs()]

    def output(self) -> str:
        return f"stdout:\n{self.log_path.read_text()[-3000:]}\nstderr:\n{self.err_path.read_text()[-3000:]}"

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"server did not exit within {timeout}s: {self.output()}") from None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def start(servers: list[Server], tmp_path: Path, **config: Any) -> Server:
    server = Server(tmp_path, **config)
    servers.append(server)
    server.wait_ready()
    return server


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response (Content-Length framed) from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before the response headers: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the middle of the body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def phases(server: Server) -> list[str]:
    return [message for message in server.messages() if message.startswith("stop phase")]


def phase_line(server: Server, number: int) -> dict[str, Any]:
    return next(line for line in server.logs() if line["message"].startswith(f"stop phase {number}/4"))


def test_sigterm_keeps_serving_while_draining_finishes_in_flight_and_exits_zero(
    servers: list[Server], tmp_path: Path
) -> None:
    drain = 1.5
    server = start(
        servers, tmp_path, cache=False, max_n=100000, drain_seconds=drain, shutdown_timeout_seconds=10
    )
    # A keep-alive connection opened before the signal.
    keepalive = http.client.HTTPConnection(HOST, server.port, timeout=10)
    keepalive.request("GET", "/dev/healthz")
    assert keepalive.getresponse().read() == b'{"status": "ok"}'
    # A request whose body is still arriving: in flight from its headers on, across the listener closing.
    uploading = server.connect()
    uploading.sendall(b"GET /dev/fibo?n=20 HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab")
    # Heavy requests (cache off, F(100000) takes milliseconds each) sent just before the signal.
    heavy = [server.connect() for _ in range(6)]
    for sock in heavy:
        sock.sendall(b"GET /dev/fibo?n=100000 HTTP/1.1\r\nHost: t\r\n\r\n")
    signalled = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)

    for sock in heavy:
        status, _, body = read_response(sock)
        assert status == 200
        assert len(body) == len(b'{"result": }') + 20899
        sock.close()
    # Readiness flips at once; everything else is still served during the drain.
    assert server.get("/dev/readyz")[:2] == (503, b'{"error": "shutting down"}')
    assert server.get("/dev/healthz")[0] == 200
    keepalive.request("GET", "/dev/fibo?n=10")
    response = keepalive.getresponse()
    assert (response.status, response.read()) == (200, b'{"result": 55}')
    assert response.getheader("Connection") == "close"
    keepalive.close()

    deadline = signalled + drain + 5
    while server.listening():
        assert time.monotonic() < deadline, "listener still open long after drain_seconds"
        time.sleep(0.05)
    assert time.monotonic() - signalled >= drain * 0.9, "listener closed before the drain period was over"
    assert server.proc.poll() is None, "exited while a request was still in flight"
    uploading.sendall(b"cd")
    status, _, body = read_response(uploading)
    assert (status, body) == (200, b'{"result": 6765}')
    uploading.close()

    assert server.wait(timeout=10) == 0
    assert phases(server) == [
        "stop phase 1/4: readiness is now 503, still serving",
        "stop phase 2/4: listener closed, waiting for in-flight requests",
        "stop phase 3/4: in-flight requests finished",
        "stop phase 4/4: connections closed, exiting",
    ]
    assert phase_line(server, 2)["in_flight"] == 1
    assert phase_line(server, 1)["signal"] == "SIGTERM"


def test_sigint_stops_gracefully_too(servers: list[Server], tmp_path: Path) -> None:
    server = start(servers, tmp_path, drain_seconds=0.2)
    assert server.get("/dev/fibo?n=10")[:2] == (200, b'{"result": 55}')
    server.proc.send_signal(signal.SIGINT)
    assert server.wait(timeout=10) == 0
    assert len(phases(server)) == 4
    assert phase_line(server, 1)["signal"] == "SIGINT"


def test_grace_timeout_ends_a_stuck_request_and_exits_zero(servers: list[Server], tmp_path: Path) -> None:
    server = start(servers, tmp_path, drain_seconds=0.1, shutdown_timeout_seconds=0.5)
    stuck = server.connect()
    stuck.sendall(b"GET /dev/fibo?n=3 HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nnever finished")
    time.sleep(0.2)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.wait(timeout=10) == 0
    assert time.monotonic() - started >= 0.5
    assert "stop phase 3/4: grace period over, requests still running" in server.messages()
    stuck.close()


def test_a_second_signal_during_the_drain_is_ignored(servers: list[Server], tmp_path: Path) -> None:
    server = start(servers, tmp_path, drain_seconds=1.0)
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    server.proc.send_signal(signal.SIGTERM)
    assert server.get("/dev/healthz")[0] == 200
    assert server.wait(timeout=10) == 0
    assert "already stopping; signal ignored" in server.messages()
    assert len(phases(server)) == 4


def test_workers_share_the_port_and_all_stop_on_sigterm(servers: list[Server], tmp_path: Path) -> None:
    server = start(servers, tmp_path, processes=2, drain_seconds=0.3)
    deadline = time.monotonic() + 10
    while server.messages().count("listening") < 2:  # readiness answered from the first worker up
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    for _ in range(20):
        assert server.get("/dev/fibo?n=90")[0] == 200
    listening = [line for line in server.logs() if line["message"] == "listening"]
    assert sorted(line["worker"] for line in listening) == [0, 1]
    worker_pids = [line["pid"] for line in listening]
    assert server.proc.pid not in worker_pids

    server.proc.send_signal(signal.SIGTERM)
    assert server.wait(timeout=15) == 0
    messages = server.messages()
    assert "forwarding stop signal to workers" in messages
    assert messages.count("stop phase 4/4: connections closed, exiting") == 2
    assert messages[-1] == "all workers exited"
    for pid in worker_pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_crashed_worker_is_restarted(servers: list[Server], tmp_path: Path) -> None:
    server = start(servers, tmp_path, processes=2, drain_seconds=0.1)
    victim = next(line["pid"] for line in server.logs() if line["message"] == "listening")
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server.messages().count("listening") < 3:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    assert "worker died; restarting it" in server.messages()
    for _ in range(10):
        assert server.get("/dev/healthz")[0] == 200
    server.proc.send_signal(signal.SIGTERM)
    assert server.wait(timeout=15) == 0


@pytest.mark.parametrize(
    ("config", "loop_class"),
    [
        ({}, "uvloop.Loop"),
        ({"event_loop": "uvloop"}, "uvloop.Loop"),
        ({"event_loop": "asyncio"}, "asyncio.unix_events._UnixSelectorEventLoop"),
    ],
)
def test_the_configured_event_loop_runs_the_server(
    servers: list[Server], tmp_path: Path, config: dict[str, str], loop_class: str
) -> None:
    server = start(servers, tmp_path, **config)
    assert server.get("/dev/fibo?n=10")[:2] == (200, b'{"result": 55}')
    listening = next(line for line in server.logs() if line["message"] == "listening")
    assert listening["event_loop"] == loop_class


def test_workers_run_on_the_configured_event_loop(servers: list[Server], tmp_path: Path) -> None:
    server = start(servers, tmp_path, processes=2, event_loop="asyncio")
    listening = wait_for_workers(server, 2)
    assert [line["event_loop"] for line in listening] == ["asyncio.unix_events._UnixSelectorEventLoop"] * 2


def wait_for_workers(server: Server, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while server.messages().count("listening") < count:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    return [line for line in server.logs() if line["message"] == "listening"]


def tcp_sockets(port: int) -> dict[str, str]:
    """Socket inode -> TCP state ('0A' listen, '01' established) of 127.0.0.1 sockets on local `port`."""
    local = f"0100007F:{port:04X}"
    sockets = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local:
            sockets[fields[9]] = fields[3]
    return sockets


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def test_each_worker_listens_on_its_own_socket_and_gets_connections(
    servers: list[Server], tmp_path: Path
) -> None:
    server = start(servers, tmp_path, processes=2, drain_seconds=0.1)
    worker_pids = [line["pid"] for line in wait_for_workers(server, 2)]
    states = tcp_sockets(server.port)
    listeners = {pid: {i for i in socket_inodes(pid) if states.get(i) == "0A"} for pid in worker_pids}
    assert all(len(inodes) == 1 for inodes in listeners.values()), listeners
    assert len(set().union(*listeners.values())) == 2, f"workers share a listening socket: {listeners}"
    parent_sockets = socket_inodes(server.proc.pid)
    assert not {i for i in parent_sockets if states.get(i) == "0A"}, "the parent still holds a listener"

    # 16 keep-alive connections: SO_REUSEPORT hashes each to a worker, so both get some (all 16 on one
    # worker has a chance of 2 in 65536; a shared socket gave one worker all of them in most runs).
    clients = [http.client.HTTPConnection(HOST, server.port, timeout=10) for _ in range(16)]
    for client in clients:
        client.request("GET", "/dev/healthz")
        assert client.getresponse().read() == b'{"status": "ok"}'
    states = tcp_sockets(server.port)
    served = {pid: sum(states.get(i) == "01" for i in socket_inodes(pid)) for pid in worker_pids}
    for client in clients:
        client.close()
    assert sum(served.values()) == 16, served
    assert all(count > 0 for count in served.values()), f"one worker got every connection: {served}"
    server.proc.send_signal(signal.SIGTERM)
    assert server.wait(timeout=15) == 0


def test_busy_port_stops_a_multi_process_server_before_forking(servers: list[Server], tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start(servers, tmp_path / "a", processes=2)
    wait_for_workers(first, 2)
    second = Server(tmp_path / "b", port=first.port, processes=2)
    servers.append(second)
    assert second.wait(timeout=15) == 1
    assert [line["message"] for line in second.logs()] == ["cannot listen"]


def test_bad_config_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("env: dev\nport: true\n")
    result = subprocess.run(
        [str(COMMAND), "--config", str(config)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert result.stderr == f"config error: {config}: key 'port': must be an integer, got bool True\n"
    assert result.stdout == ""


def test_busy_port_exits_non_zero_and_says_why(servers: list[Server], tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start(servers, tmp_path / "a")
    second = Server(tmp_path / "b", port=first.port)
    servers.append(second)
    assert second.wait(timeout=15) == 1
    error = second.logs()[-1]
    assert (error["message"], error["port"]) == ("cannot listen", first.port)


def test_a_huge_upload_is_refused_without_harm(servers: list[Server], tmp_path: Path) -> None:
    server = start(servers, tmp_path)
    sock = server.connect()
    sock.sendall(
        b"POST /dev/fibo?n=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n" + b"x" * 65536
    )
    sock.settimeout(10)
    try:
        answer = sock.recv(65536)
    except ConnectionResetError:
        answer = b""
    sock.close()
    assert b" 200 " not in answer
    assert server.get("/dev/healthz")[0] == 200
    assert server.proc.poll() is None


def test_config_file_changes_apply_without_restart(servers: list[Server], tmp_path: Path) -> None:
    server = start(servers, tmp_path, max_n=1000)
    assert server.get("/dev/fibo?n=500")[0] == 200
    pid = server.proc.pid
    text = server.config_path.read_text().replace("max_n: 1000", "max_n: 400").replace('"INFO"', '"WARNING"')
    replacement = server.config_path.with_suffix(".new")
    replacement.write_text(text)
    replacement.replace(server.config_path)  # a new inode, as a ConfigMap update gives
    deadline = time.monotonic() + 10
    while server.get("/dev/fibo?n=500")[0] != 422:
        assert time.monotonic() < deadline, f"new max_n not applied: {server.output()}"
        time.sleep(0.1)
    assert server.proc.pid == pid and server.proc.poll() is None
    reloaded = next(line for line in server.logs() if line["message"] == "config reloaded")
    assert reloaded["changed"] == {"log_level": "WARNING", "max_n": 400}
    # WARNING hides request lines from now on; a broken file is logged and the service keeps going.
    lines_before = len(server.logs())
    server.config_path.write_text("env: dev\nmax_n: lots\n")
    deadline = time.monotonic() + 10
    while not any(line["level"] == "ERROR" for line in server.logs()[lines_before:]):
        assert time.monotonic() < deadline, f"broken config not reported: {server.output()}"
        time.sleep(0.1)
    error = next(line for line in server.logs()[lines_before:] if line["level"] == "ERROR")
    assert (error["key"], error["file"]) == ("max_n", str(server.config_path))
    assert server.get("/dev/fibo?n=400")[0] == 200
    assert server.get("/dev/fibo?n=401")[0] == 422


def test_workers_stop_when_their_parent_is_killed(servers: list[Server], tmp_path: Path) -> None:
    server = start(servers, tmp_path, processes=2)
    wait_for_workers(server, 2)
    workers = [
        int(child)
        for child in Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
    ]
    assert len(workers) == 2, f"expected two worker processes, found {workers}"
    server.proc.kill()  # SIGKILL to the parent alone: it can forward nothing
    server.proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while (
        alive := [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive == [], f"workers {alive} kept running after their parent was killed"
