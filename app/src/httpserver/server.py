"""The `httpserver` command: load the config, listen, serve, and stop gracefully on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from httpserver import __version__
from httpserver.app import make_app
from httpserver.config import Config, ConfigError, load_config
from httpserver.logs import EventLog, flush_logs, setup_logging
from httpserver.reload import ConfigWatcher
from httpserver.state import AppState
from httpserver.tracking import TrackingHTTPServer
from httpserver.workers import Workers, available_cpus, remember_stop_signals, take_early_signal

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
MAX_BODY_BYTES = 64 * 1024
_log = EventLog("server")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="httpserver", description="cloudnative.httpserver web service")
    parser.add_argument("--config", required=True, help="path of the YAML config file")
    parser.add_argument(
        "--address",
        default="",
        help="address to listen on (default: every interface; the port is in the config)",
    )
    parser.add_argument("--version", action="version", version=f"httpserver {__version__}")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(config.log_level)
    remember_stop_signals()
    try:
        return run(config, args.config, args.address or None)
    finally:
        flush_logs()


def run(config: Config, config_path: str, address: str | None) -> int:
    """Listen and serve: in this process, or in pre-forked workers that each bind their own socket."""
    use_event_loop(config.event_loop)
    processes = config.processes or available_cpus()
    # A taken port fails here, in the parent, before any worker starts.
    sockets = listen(config.port, address)
    if sockets is None:
        return 1
    task_id = 0
    if processes > 1:
        # One SO_REUSEPORT socket per worker, bound after the fork: the kernel then spreads new
        # connections over the workers. With one inherited socket, whichever worker wakes first
        # accepts, and one worker often took every keep-alive connection (bench/README.md).
        for sock in sockets:
            sock.close()
        task_id, exit_code = Workers(processes).run()
        if task_id is None:
            return exit_code
        sockets = listen(config.port, address, reuse_port=True, worker=task_id)
        if sockets is None:
            return 1
    return asyncio.run(serve(config, config_path, sockets, task_id))


def use_event_loop(name: str) -> None:
    """Install the configured event loop's policy; asyncio.run() and forked workers take it from here."""
    if name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    else:
        asyncio.set_event_loop_policy(None)


def listen(
    port: int, address: str | None, reuse_port: bool = False, **fields: object
) -> list[socket.socket] | None:
    """The listening sockets, or None after logging why they could not be bound."""
    try:
        return bind_sockets(port, address=address, backlog=1024, reuse_port=reuse_port)
    except OSError as exc:
        _log.error("cannot listen", address=address or "*", port=port, error=str(exc), **fields)
        return None


async def serve(config: Config, config_path: str, sockets: list[socket.socket], task_id: int = 0) -> int:
    """Serve on `sockets` until SIGTERM or SIGINT, then stop gracefully; the exit code."""
    state = AppState.create(config)
    app = make_app(config, state)
    # Every route is a GET without a body: refuse big uploads instead of buffering 100 MB (Tornado's default).
    server = TrackingHTTPServer(app, active=state.active_requests, max_body_size=MAX_BODY_BYTES)
    watcher = ConfigWatcher(config_path, state, os.environ)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        if stop.is_set():
            _log.info("already stopping; signal ignored", signal=signal.Signals(signum).name)
            return
        received.append(signum)
        stop.set()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    server.add_sockets(sockets)
    watcher.start()
    state.ready = True
    _log.info(
        "listening",
        port=config.port,
        env=config.env,
        version=config.version,
        log_level=config.log_level,
        processes=config.processes,
        event_loop=f"{type(loop).__module__}.{type(loop).__qualname__}",
        worker=task_id,
        pid=os.getpid(),
    )
    early = take_early_signal()
    if early is not None:
        on_signal(early)
    await stop.wait()
    await graceful_stop(server, state, watcher, signal.Signals(received[0]).name)
    return 0


async def graceful_stop(server: HTTPServer, state: AppState, watcher: ConfigWatcher, reason: str) -> None:
    """Readiness 503 at once; keep serving for drain_seconds; close the listener; let in-flight requests
    finish (up to shutdown_timeout_seconds); close idle connections. Each phase is logged."""
    config = state.config
    state.ready = False
    state.draining = True
    # From now on every response says `Connection: close`, so clients move to other endpoints.
    server.conn_params.no_keep_alive = True
    _log.info(
        "stop phase 1/4: readiness is now 503, still serving",
        signal=reason,
        drain_seconds=config.drain_seconds,
    )
    await asyncio.sleep(config.drain_seconds)

    server.stop()
    watcher.stop()
    _log.info(
        "stop phase 2/4: listener closed, waiting for in-flight requests",
        in_flight=state.in_flight,
        timeout_seconds=config.shutdown_timeout_seconds,
    )
    deadline = time.monotonic() + config.shutdown_timeout_seconds
    while _busy(server, state) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    if _busy(server, state):
        _log.warning("stop phase 3/4: grace period over, requests still running", in_flight=state.in_flight)
    else:
        _log.info("stop phase 3/4: in-flight requests finished")

    await server.close_all_connections()
    _log.info("stop phase 4/4: connections closed, exiting", exit_code=0)


def _busy(server: HTTPServer, state: AppState) -> bool:
    """True while a handler runs or a finished response is still being written to its socket."""
    if state.in_flight > 0:
        return True
    # Tornado keeps its connections in a private set; a response can sit in a stream's buffer after finish().
    connections = getattr(server, "_connections", ())
    return any(conn.stream is not None and conn.stream.writing() for conn in connections)
