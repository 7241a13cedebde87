#!/usr/bin/env python3
"""What each of the app's per-request features costs, in CPU microseconds per request.

Starts the app several times side by side (each pinned to CPU 0, one process), each with some
features switched off by patching the running app from the outside (app/ is not changed), and the
bare Tornado hello-world; then drives /prod/healthz with `wrk` (pinned to CPU 1) in interleaved
rounds and divides each server's CPU seconds (utime + stime from /proc) by the requests it served.
CPU time per request holds on a machine where other work competes for the cores, where requests/s
and wall-clock profiles do not.

Variants (`--variants`, comma-separated; default all):
  full           the app as configured for prod: INFO request logs, metrics, request ids, xheaders
  -logs          LOGLEVEL=WARNING: no request start/end lines
  -startline     only the request start line left out (BaseHandler.initialize keeps its other work)
  +batch10ms     log lines kept, but written every 10 ms instead of once per event-loop iteration
  -metrics       Metrics.observe_request does nothing
  -tracking      TrackingHTTPServer's per-request delegate wrapper left out
  -uuid          a fixed request id instead of a new random one
  -all           all of the above
  bare-tornado   bench/peers/bare_tornado.py, the floor

Run: `.venv/bin/python bench/ablate_app.py [--rounds 3] [--seconds 5]`; writes
bench/results/app-ablation-<UTC timestamp>.json and prints a table.
Internal: `ablate_app.py serve DROPS -- APP_ARGS` runs the app with DROPS patched out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_app_bench import (
    NICE,
    app_config,
    cpu_seconds,
    free_port,
    listening_pid_in_group,
    loadavg,
    memory_kib,
    prioritize,
    run_load,
)

BENCH_DIR = Path(__file__).resolve().parent
PYTHON = BENCH_DIR.parent / ".venv" / "bin" / "python"
FEATURES = ("logs", "metrics", "tracking", "uuid")
VARIANTS = {
    "full": (),
    **{f"-{f}": (f,) for f in FEATURES},
    "-startline": ("startline",),
    "+batch10ms": ("batch10ms",),
    "-all": FEATURES,
    "bare-tornado": None,
}


def serve(drops: set[str], app_args: list[str]) -> int:
    """Run the app's main() with the features in `drops` patched out (in this process only)."""
    from tornado.httpserver import HTTPServer

    import httpserver.handlers as handlers
    import httpserver.metrics as metrics
    import httpserver.server as server

    if "tracking" in drops:
        server.TrackingHTTPServer.start_request = HTTPServer.start_request  # type: ignore[method-assign]
    if "metrics" in drops:
        # observe_request may be a method or an attribute bound per instance: replace it after __init__.
        original_init = metrics.Metrics.__init__

        def init_without_observe(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            original_init(self, *args, **kwargs)
            self.observe_request = lambda *_args: None

        metrics.Metrics.__init__ = init_without_observe  # type: ignore[method-assign]
    if "uuid" in drops:
        fixed = "00000000-0000-4000-8000-000000000000"
        handlers.new_request_id = lambda: fixed  # type: ignore[attr-defined]
    if "startline" in drops:

        def initialize_without_start_line(self) -> None:  # type: ignore[no-untyped-def]
            self.state = self.application.state
            self._log_members = None

        handlers.BaseHandler.initialize = initialize_without_start_line  # type: ignore[method-assign]
    if "batch10ms" in drops:
        import asyncio

        import httpserver.logs as logs

        def write_batched(self, line: str) -> None:  # type: ignore[no-untyped-def]
            self._pending.append(line)
            if not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_later(0.01, self.flush)

        logs.LineSink.write = write_batched  # type: ignore[method-assign]
    if "logs" in drops:
        os.environ["LOGLEVEL"] = "WARNING"
    return server.main(app_args)


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "serve":
        split = sys.argv.index("--")
        drops = {d for d in sys.argv[2].split(",") if d and d != "none"}
        return serve(drops, sys.argv[split + 1 :])

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="seconds of each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--nice", type=int, default=-15, help="nice value of the servers and wrk")
    args = parser.parse_args()
    NICE[2] = str(args.nice)
    names = args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")

    started = datetime.now(UTC)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    ports: dict[str, int] = {}
    results: dict[str, dict[str, list[float]]] = {
        n: {"us_per_request": [], "requests_per_s": []} for n in names
    }
    load = [loadavg()]
    with tempfile.TemporaryDirectory(prefix="app-ablation-") as tmp:
        try:
            for i, name in enumerate(names):
                port = ports[name] = free_port()
                drops = VARIANTS[name]
                if drops is None:
                    argv = [str(PYTHON), str(BENCH_DIR / "peers" / "bare_tornado.py"), "--port", str(port)]
                else:
                    config = app_config(Path(tmp), str(i), port, processes=1)
                    argv = [
                        str(PYTHON),
                        str(Path(__file__).resolve()),
                        "serve",
                        ",".join(drops) or "none",
                        "--",
                        "--config",
                        str(config),
                        "--address",
                        "127.0.0.1",
                    ]
                procs[name] = subprocess.Popen(
                    ["taskset", "-c", "0", *NICE, *argv],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    start_new_session=True,
                )
                prioritize(procs[name].pid)
            wrk = ["taskset", "-c", "1", *NICE, "wrk", "-t1", f"-c{args.connections}"]
            for name in names:
                url = f"http://127.0.0.1:{ports[name]}/prod/healthz"
                for _ in range(600):
                    if procs[name].poll() is not None:
                        raise SystemExit(f"{name} exited with {procs[name].returncode}")
                    if listening_pid_in_group(ports[name], procs[name].pid):
                        break
                    time.sleep(0.1)
                else:
                    raise SystemExit(f"{name} not answering {url}")
                run_load([*wrk, "-d1s", url], timeout=60)
            for r in range(args.rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                for name in order:
                    url = f"http://127.0.0.1:{ports[name]}/prod/healthz"
                    before = cpu_seconds(procs[name].pid)
                    run = run_load([*wrk, f"-d{args.seconds}s", url], timeout=args.seconds + 60)
                    if run.returncode != 0:
                        raise SystemExit(f"{name}: wrk failed: {run.stderr}")
                    out = run.stdout
                    used = cpu_seconds(procs[name].pid) - before
                    total = int(next(line for line in out.splitlines() if "requests in" in line).split()[0])
                    rps = float(
                        next(line for line in out.splitlines() if line.startswith("Requests/sec")).split()[1]
                    )
                    if "Non-2xx" in out:
                        raise SystemExit(f"{name}: non-2xx responses:\n{out}")
                    results[name]["us_per_request"].append(used / total * 1e6)
                    results[name]["requests_per_s"].append(rps)
                    print(
                        f"round {r + 1} {name}: {used / total * 1e6:.0f} us CPU/request, {rps:.0f} req/s",
                        flush=True,
                    )
            for name in names:
                results[name]["idle_memory"] = memory_kib(procs[name].pid)  # type: ignore[assignment]
        finally:
            for proc in procs.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    load.append(loadavg())

    def med(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    full = med(results["full"]["us_per_request"]) if "full" in results else None
    lines = [
        f"App feature costs, /prod/healthz, {started:%Y-%m-%d %H:%M} UTC, {args.rounds} rounds of "
        f"`wrk -t1 -c{args.connections} -d{args.seconds}s` (CPU 1) against servers pinned to CPU 0; "
        f"load average {load[0]} -> {load[1]}.",
        "",
        "| variant | CPU us/request (median) | saved vs full | req/s (median, machine shared) |",
        "|---|---:|---:|---:|",
    ]
    for name in names:
        us = med(results[name]["us_per_request"])
        saved = f"{full - us:.0f} us ({(full - us) / full:.0%})" if full and name != "full" else ""
        lines.append(f"| {name} | {us:.0f} | {saved} | {med(results[name]['requests_per_s']):.0f} |")
    table = "\n".join(lines) + "\n"
    out_path = BENCH_DIR / "results" / f"app-ablation-{started:%Y-%m-%dT%H%MZ}.json"
    out_path.parent.mkdir(exist_ok=True)
    out_path.write_text(
        json.dumps(
            {
                "command": shlex.join([".venv/bin/python", "bench/ablate_app.py", *sys.argv[1:]]),
                "started": f"{started:%Y-%m-%d %H:%M:%S}",
                "loadavg": load,
                "variants": {n: VARIANTS[n] for n in names},
                "results": results,
                "table": table,
            },
            indent=2,
        )
        + "\n"
    )
    print(table)
    print(f"written: {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
