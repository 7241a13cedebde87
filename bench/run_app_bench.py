#!/usr/bin/env python3
"""Throughput, latency and idle memory of the app against its peers, in one bounded run on loopback.

Servers: the app (`httpserver`, one process and one per core, each with `event_loop: asyncio` and
`uvloop`), a bare Tornado hello-world (the floor, also on uvloop), the seed-style Go server (pinned to
one core and on all cores) and podinfo.
Every server listens on 127.0.0.1 only, logs to /dev/null, runs in its own process group and is
stopped by that group's id when the run ends, however it ends.

For each server and route, per round: a closed-loop `wrk` run (peak requests/s, p50, p99) and then an
open-loop run at half that peak (bench/openloop, wrk2-style latency from each request's due time).
Rounds interleave the servers so background load hits them alike; ratios are taken within a round,
then the median over rounds is reported. Also recorded: each server's CPU seconds during the run
(so requests per CPU-second compares servers even when other work shares the machine), the load
generator's CPU, the load average, and idle RSS/PSS after start + warm-up + 2 s idle.

Writes bench/results/app-<UTC timestamp>.json and .md, and the table into bench/README.md between
the app-bench markers. Run with the project's venv: `.venv/bin/python bench/run_app_bench.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
VENV_BIN = REPO / ".venv" / "bin"
BIN_DIR = Path(os.environ.get("BENCH_BIN_DIR", Path.home() / ".cache" / "cloudnative-httpserver" / "bench"))
WRK_LUA = BENCH_DIR / "wrk_json.lua"
README = BENCH_DIR / "README.md"
RESULTS_DIR = BENCH_DIR / "results"
README_BEGIN = "<!-- app-bench:begin (written by bench/run_app_bench.py) -->"
README_END = "<!-- app-bench:end -->"
SERVER_CPU = "0"  # single-core servers run here
LOADGEN_CPU = "1"  # wrk and openloop always run here
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Servers and load generators run at this nice value (set by main from --nice): on a machine where
# other work keeps both cores busy, it lets the benchmark's processes get the CPU they ask for.
NICE = ["nice", "-n", "0"]
FIBO_N = 1000
# The servers a plain run measures (3 rounds fit in the 10-minute bound); `--only all` adds the Go
# server unpinned (which then shares CPU 1 with the load generator) and the pre-forked app on uvloop.
DEFAULT_SERVERS = (
    "bare-tornado",
    "bare-tornado-uvloop",
    "app-1p",
    "app-1p-uvloop",
    "app-np",
    "go-1c",
    "podinfo-1c",
)
HOST = "127.0.0.1"


@dataclass
class Server:
    name: str
    label: str
    argv: list[str]
    port: int
    routes: dict[str, str]  # route label -> path
    cpus: str | None  # taskset list, or None for every core
    processes: str
    note: str = ""
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    stderr_path: Path | None = None
    start_error: str | None = None
    idle_memory: dict[str, Any] = field(default_factory=dict)

    def url(self, route: str) -> str:
        return f"http://{HOST}:{self.port}{self.routes[route]}"


# ---------------------------------------------------------------- processes


_given_ports: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on now (other benchmarks may run on this machine too)."""
    while True:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def group_pids(pgid: int) -> list[int]:
    """Every live process in process group `pgid` (a server and the workers it forked)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def listening_pid_in_group(port: int, pgid: int) -> bool:
    """True when a process of group `pgid` holds the socket listening on HOST:`port`."""
    want = f"{socket.inet_aton(HOST)[::-1].hex().upper()}:{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == want and fields[3] == "0A":  # 0A: LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return True
    return False


def cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds used so far by the live processes of group `pgid`."""
    total = 0
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def memory_kib(pgid: int) -> dict[str, Any]:
    """Summed VmRSS and Pss (KiB) of group `pgid`; Pss splits pages shared by forked workers fairly."""
    rss = pss = 0
    pids = group_pids(pgid)
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
    return {"processes": len(pids), "rss_kib": rss, "pss_kib": pss}


def prioritize(pid: int) -> None:
    """Give `pid`'s session the NICE value. With autogroup scheduling (on here) the kernel shares CPU
    time between sessions first, so a process's own nice value only counts within its session."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(NICE[2])


def run_load(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a load generator in a session of its own, prioritized like the servers."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    prioritize(proc.pid)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def start(server: Server, workdir: Path) -> None:
    argv = [*NICE, *server.argv]
    if server.cpus is not None:
        argv = ["taskset", "-c", server.cpus, *argv]
    server.stderr_path = workdir / f"{server.name}.stderr"
    env = {**os.environ, **server.env}
    with open(server.stderr_path, "wb") as err:
        server.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            env=env,
            cwd=workdir,
        )
    prioritize(server.proc.pid)


def wait_ready(server: Server, timeout: float) -> None:
    """Poll the server's first route until it answers 200, it dies, or `timeout` passes."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    url = server.url(next(iter(server.routes)))
    while time.monotonic() < deadline:
        assert server.proc is not None
        if server.proc.poll() is not None:
            raise RuntimeError(f"exited with {server.proc.returncode}: {tail(server.stderr_path)}")
        with contextlib.suppress(OSError):
            with opener.open(url, timeout=1) as response:
                ok = response.status == 200
            # Whoever answered must be ours: a server that failed to bind exits soon after starting.
            time.sleep(0.3)
            if ok and server.proc.poll() is None and listening_pid_in_group(server.port, server.proc.pid):
                return
        time.sleep(0.1)
    raise RuntimeError(f"not answering {url} after {timeout:.0f} s: {tail(server.stderr_path)}")


def stop(server: Server) -> None:
    """SIGTERM to the server's own process group (its id is the pid we started), SIGKILL after 15 s."""
    proc = server.proc
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    # Workers of a group whose leader exited first.
    for pid in group_pids(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def tail(path: Path | None, lines: int = 5) -> str:
    if path is None or not path.exists():
        return ""
    return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


# ---------------------------------------------------------------- load generators


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(server: Server, route: str, seconds: int, connections: int) -> dict[str, Any]:
    """Closed loop: `connections` keep-alive connections, each sends its next request on the reply."""
    argv = [
        "taskset",
        "-c",
        LOADGEN_CPU,
        *NICE,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(WRK_LUA),
        server.url(route),
    ]
    assert server.proc is not None
    cpu_before, gen_before, load_before = cpu_seconds(server.proc.pid), children_cpu(), loadavg()
    out = run_load(argv, timeout=seconds + 30)
    server_cpu = cpu_seconds(server.proc.pid) - cpu_before
    gen_cpu = children_cpu() - gen_before
    match = re.search(r"^WRK_JSON (.*)$", out.stdout, re.MULTILINE)
    if out.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    data = json.loads(match.group(1))
    duration = data["duration_us"] / 1e6
    errors = sum(data["errors"].values())
    return {
        "command": shlex.join(argv),
        "requests": data["requests"],
        "errors": data["errors"],
        "requests_per_s": data["requests"] / duration,
        "latency_ms": {k: v / 1000 for k, v in data["latency_us"].items()},
        "server_cpu_s": round(server_cpu, 2),
        "requests_per_server_cpu_s": data["requests"] / server_cpu if server_cpu > 0 else None,
        "loadgen_cpu_s": round(gen_cpu, 2),
        "duration_s": duration,
        "loadavg_before": load_before,
        "ok": errors == 0,
    }


def run_open_loop(
    server: Server, route: str, rate: float, seconds: float, connections: int
) -> dict[str, Any]:
    """Open loop at a fixed `rate`; latency counts from each request's due time (no coordinated omission)."""
    argv = [
        "taskset",
        "-c",
        LOADGEN_CPU,
        *NICE,
        str(BIN_DIR / "openloop"),
        "-url",
        server.url(route),
        "-rate",
        f"{rate:.0f}",
        "-duration",
        f"{seconds:g}s",
        "-conns",
        str(connections),
    ]
    out = run_load(argv, timeout=seconds + 30)
    if out.returncode != 0:
        raise RuntimeError(f"openloop failed ({out.returncode}): {out.stderr.strip()}")
    data = json.loads(out.stdout)
    data["command"] = shlex.join(argv)
    data["ok"] = data["errors"] == 0 and data["unsent"] == 0
    return data


# ---------------------------------------------------------------- the servers


def app_config(workdir: Path, name: str, port: int, processes: int, event_loop: str | None = None) -> Path:
    """Write workdir/<name>.yaml, the app's prod config for benchmarks; no event_loop: the app's default."""
    path = workdir / f"{name}.yaml"
    path.write_text(
        "\n".join(
            [
                "env: prod",
                f"port: {port}",
                "max_n: 100000",
                "cache: true",
                "cache_size: 1024",
                "log_level: INFO",
                "version: bench",
                "drain_seconds: 0",
                "shutdown_timeout_seconds: 2",
                f"processes: {processes}",
                *([f"event_loop: {event_loop}"] if event_loop else []),
                "",
            ]
        )
    )
    return path


def build_servers(workdir: Path, only: set[str] | None) -> list[Server]:
    python = str(VENV_BIN / "python")
    httpserver = str(VENV_BIN / "httpserver")
    prod = {"healthz": "/prod/healthz", "fibo": f"/prod/fibo?n={FIBO_N}"}
    servers: list[Server] = []
    port = free_port()

    def add(**kw: Any) -> None:
        # `port` is the one the argv built for this call uses; the next server gets a fresh one.
        nonlocal port
        servers.append(Server(port=port, **kw))
        port = free_port()

    add(
        name="bare-tornado",
        label="bare Tornado hello-world",
        cpus=SERVER_CPU,
        processes="1",
        argv=[python, str(BENCH_DIR / "peers" / "bare_tornado.py"), "--port", str(port)],
        routes={"healthz": "/prod/healthz"},
        note="asyncio loop; no logs, metrics or request ids",
    )
    add(
        name="bare-tornado-uvloop",
        label="bare Tornado hello-world, uvloop",
        cpus=SERVER_CPU,
        processes="1",
        argv=[python, str(BENCH_DIR / "peers" / "bare_tornado.py"), "--port", str(port), "--uvloop"],
        routes={"healthz": "/prod/healthz"},
        note="the floor for the app on uvloop",
    )
    for procs, cpus, suffix, label in ((1, SERVER_CPU, "1p", "1 process"), (0, None, "np", "1 per core")):
        for loop in ("asyncio", "uvloop"):
            name = f"app-{suffix}" + ("-uvloop" if loop == "uvloop" else "")
            config = app_config(workdir, name, port, procs, loop)
            add(
                name=name,
                label=f"app, {label}, {loop}" + (" (the default)" if loop == "uvloop" else ""),
                cpus=cpus,
                processes=str(procs or os.cpu_count()),
                routes=prod,
                argv=[httpserver, "--config", str(config), "--address", HOST],
                note=(
                    "processes: 0 (pre-forked, one per core, one SO_REUSEPORT socket each)"
                    if procs == 0
                    else "processes: 1"
                )
                + f"; event_loop: {loop}; log_level INFO, metrics, request ids",
            )
    goserver = str(BIN_DIR / "goserver")
    for name, cores, cpus, gomaxprocs in (
        ("go-1c", "1 core", SERVER_CPU, 1),
        ("go-all", "all cores", None, os.cpu_count()),
    ):
        add(
            name=name,
            label=f"Go seed-style server, {cores}",
            cpus=cpus,
            processes=f"1 (GOMAXPROCS={gomaxprocs})",
            argv=[goserver, "-addr", f"{HOST}:{port}", "-env", "prod", "-log-level", "INFO"],
            routes=prod,
            note=(
                "net/http, slog JSON request logs, map cache of big.Int under a mutex"
                if cpus
                else "same binary, not pinned"
            ),
        )
    add(
        name="podinfo-1c",
        label="podinfo 6.9.2, 1 core",
        cpus=SERVER_CPU,
        processes="1 (GOMAXPROCS=1)",
        argv=[
            str(BIN_DIR / "podinfo"),
            "--host",
            HOST,
            "--port",
            str(port),
            "--level",
            "info",
            "--data-path",
            str(workdir / "podinfo-data"),
            "--ui-path",
            str(workdir / "podinfo-ui"),
        ],
        routes={"healthz": "/healthz", "version": "/version"},
        note="no /fibo route; /version instead; logs requests only at debug, so none at info",
    )
    if only:
        servers = [s for s in servers if s.name in only]
    return servers


# ---------------------------------------------------------------- reporting


def machine_info() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.MULTILINE)

    def version(argv: list[str]) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        return "unavailable"

    def git(*args: str) -> str:
        out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)
        return out.stdout.strip()

    return {
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "app_uncommitted_changes": git("status", "--porcelain", "--", "app").splitlines(),
        "nproc": os.cpu_count(),
        "cpu_model": model.group(1) if model else "unknown",
        "kernel": platform.release(),
        "python": version([str(VENV_BIN / "python"), "--version"]),
        "tornado": version([str(VENV_BIN / "python"), "-c", "import tornado; print(tornado.version)"]),
        "uvloop": version([str(VENV_BIN / "python"), "-c", "import uvloop; print(uvloop.__version__)"]),
        "go": version(["go", "version"]),
        "wrk": version(["wrk", "--version"]),
        "memory_total": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            ),
            "unknown",
        ),
    }


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(results: dict[str, Any], servers: list[Server]) -> None:
    """Medians over rounds per server and route, and the ratios the issue sets targets for."""
    rounds = results["rounds"]
    summary: dict[str, Any] = {}
    for server in servers:
        for route in server.routes:
            runs = [r["runs"].get(f"{server.name} {route}") for r in rounds]
            runs = [r for r in runs if r and "peak" in r]
            if not runs:
                continue
            half = [r.get("half") for r in runs if r.get("half")]
            summary[f"{server.name} {route}"] = {
                "rounds": len(runs),
                "requests_per_s": median([r["peak"]["requests_per_s"] for r in runs]),
                "requests_per_server_cpu_s": median([r["peak"]["requests_per_server_cpu_s"] for r in runs]),
                "server_cores": median([r["peak"]["server_cpu_s"] / r["peak"]["duration_s"] for r in runs]),
                "p50_ms": median([r["peak"]["latency_ms"]["p50"] for r in runs]),
                "p99_ms": median([r["peak"]["latency_ms"]["p99"] for r in runs]),
                "half_rate": median([h["rate_requested"] for h in half]),
                "half_p50_ms": median([h["latency_ms"]["p50"] for h in half]),
                "half_p99_ms": median([h["latency_ms"]["p99"] for h in half]),
                "half_service_p99_ms": median([h["service_time_ms"]["p99"] for h in half]),
                "half_send_lag_p99_ms": median([h["send_lag_p99_ms"] for h in half]),
                "all_ok": all(r["peak"]["ok"] and (r.get("half") or {}).get("ok", True) for r in runs),
            }
    results["summary"] = summary

    def ratio(a: str, b: str, key: str) -> float | None:
        per_round = []
        for r in rounds:
            ra, rb = r["runs"].get(a, {}).get("peak"), r["runs"].get(b, {}).get("peak")
            if ra and rb and ra.get(key) and rb.get(key):
                per_round.append(ra[key] / rb[key])
        return median(per_round)

    ratios = []
    specs = [
        ("app 1 proc / bare Tornado, /healthz", "app-1p healthz", "bare-tornado healthz", ">=", 0.90),
        (
            "app 1 proc / bare Tornado, both on uvloop, /healthz",
            "app-1p-uvloop healthz",
            "bare-tornado-uvloop healthz",
            ">=",
            0.90,
        ),
        (
            "app 1 proc on uvloop / bare Tornado (asyncio), /healthz",
            "app-1p-uvloop healthz",
            "bare-tornado healthz",
            ">=",
            0.90,
        ),
        ("app 1 proc / Go 1 core, /healthz", "app-1p healthz", "go-1c healthz", ">=", 0.15),
        ("app 1 proc / Go 1 core, /fibo?n=1000", "app-1p fibo", "go-1c fibo", ">=", 0.15),
        ("app 1 proc uvloop / Go 1 core, /healthz", "app-1p-uvloop healthz", "go-1c healthz", ">=", 0.15),
        ("app per core / Go all cores, /healthz", "app-np healthz", "go-all healthz", None, None),
        ("app scaling 2 procs / 1 proc, /healthz", "app-np healthz", "app-1p healthz", ">=", 1.8),
        ("app scaling 2 procs / 1 proc, /fibo?n=1000", "app-np fibo", "app-1p fibo", ">=", 1.8),
        (
            "app scaling 2 procs / 1 proc, both on uvloop, /healthz",
            "app-np-uvloop healthz",
            "app-1p-uvloop healthz",
            ">=",
            1.8,
        ),
        (
            "app scaling 2 procs / 1 proc, both on uvloop, /fibo?n=1000",
            "app-np-uvloop fibo",
            "app-1p-uvloop fibo",
            ">=",
            1.8,
        ),
        ("app uvloop / asyncio, 1 proc, /healthz", "app-1p-uvloop healthz", "app-1p healthz", None, None),
        ("app uvloop / asyncio, 1 proc, /fibo?n=1000", "app-1p-uvloop fibo", "app-1p fibo", None, None),
        (
            "bare Tornado uvloop / asyncio, /healthz",
            "bare-tornado-uvloop healthz",
            "bare-tornado healthz",
            None,
            None,
        ),
    ]
    for label, a, b, op, target in specs:
        by_rps = ratio(a, b, "requests_per_s")
        by_cpu = ratio(a, b, "requests_per_server_cpu_s")
        if by_rps is None:
            continue
        entry = {"ratio": label, "a": a, "b": b, "by_requests_per_s": by_rps, "by_requests_per_cpu_s": by_cpu}
        if target is not None:
            entry["target"] = f"{op} {target}"
            entry["meets_target_by_requests_per_s"] = by_rps >= target
        ratios.append(entry)
    one = next((s for s in servers if s.name == "app-1p"), None)
    if one and one.idle_memory:
        mib = one.idle_memory["rss_kib"] / 1024
        ratios.append(
            {"ratio": "app 1 proc idle RSS (MiB)", "value": mib, "target": "< 40", "meets_target": mib < 40}
        )
    half = summary.get("app-1p healthz", {}).get("half_p99_ms")
    if half is not None:
        ratios.append(
            {
                "ratio": "app 1 proc p99 at half peak, /healthz (ms)",
                "value": half,
                "target": "< 5",
                "meets_target": half < 5,
            }
        )
    results["ratios"] = ratios


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def lagged(summary: dict[str, Any]) -> str:
    """A mark for half-peak figures where the load generator itself sent late (it was short of CPU)."""
    lag = summary.get("half_send_lag_p99_ms")
    return " (client late)" if lag is not None and lag > 1.0 else ""


def markdown(results: dict[str, Any], servers: list[Server]) -> str:
    m = results["machine"]
    st = results["settings"]
    lines = [
        f"Run {results['started']} to {results['finished']} UTC on {m['nproc']} cores "
        f"({m['cpu_model']}), {m['memory_total']}, kernel {m['kernel']}; {m['python']}, "
        f"Tornado {m['tornado']}, uvloop {m['uvloop']}, {m['go']}, {m['wrk']}. App at commit "
        f"{m['git_commit']}"
        + (" plus uncommitted changes in app/" if m["app_uncommitted_changes"] else "")
        + ".",
        f"Load average (1/5/15 min) at start {results['loadavg_start']}, at end {results['loadavg_end']}"
        " (other work was running on the machine: compare the ratios and the per-CPU-second column,"
        " which hold under load, more than the absolute figures).",
        "",
        "Command: `" + results["command"] + "`",
        "",
        f"Each cell is the median of {st['rounds']} interleaved rounds; peak = "
        f"`wrk -t1 -c{st['connections']} -d{st['duration_s']:g}s` (closed loop) pinned to CPU {LOADGEN_CPU}; "
        f"single-core servers pinned to CPU {SERVER_CPU} with `taskset`; half-peak latency = "
        f"bench/openloop at 0.5 x that round's peak for {st['half_duration_s']:g} s, latency "
        "from each request's due time; \"client late\" marks runs where the load generator's own send lag "
        "p99 was over 1 ms (it was short of CPU), so that figure measures the machine more than the server. "
        f"Servers and load generators ran at nice {st['nice']}. Idle memory after start, warm-up and 2 s "
        "idle, summed over the server's processes.",
        "",
        "| server | procs | route | req/s | cores used | req/s per server CPU-s | p50 ms | p99 ms | "
        "p99 ms at half peak (rate) | idle RSS MiB (PSS) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for server in servers:
        mem = server.idle_memory
        mem_text = f"{mem['rss_kib'] / 1024:.1f} ({mem['pss_kib'] / 1024:.1f})" if mem else "-"
        if server.start_error:
            lines.append(
                f"| {server.label} | {server.processes} | - | did not start: {server.start_error} "
                "| | | | | | |"
            )
            continue
        for route, path in server.routes.items():
            s = results["summary"].get(f"{server.name} {route}")
            if not s:
                continue
            flag = "" if s["all_ok"] else " (errors!)"
            lines.append(
                f"| {server.label} | {server.processes} | `{path}` | {fmt(s['requests_per_s'])}{flag} | "
                f"{fmt(s['server_cores'], 2)} | "
                f"{fmt(s['requests_per_server_cpu_s'])} | {fmt(s['p50_ms'], 2)} | {fmt(s['p99_ms'], 2)} | "
                f"{fmt(s['half_p99_ms'], 2)}{lagged(s)} ({fmt(s['half_rate'])}/s) | {mem_text} |"
            )
        if "fibo" not in server.routes and server.name.startswith("podinfo"):
            lines.append(f"| {server.label} | {server.processes} | `/fibo` | no such route | | | | | | |")
    lines += [
        "",
        "| ratio (same run) | by req/s | by req/s per CPU-s | target | met |",
        "|---|---:|---:|---|---|",
    ]
    for r in results["ratios"]:
        if "value" in r:
            lines.append(
                f"| {r['ratio']} | {fmt(r['value'], 1)} | | {r['target']} | "
                f"{'yes' if r['meets_target'] else 'NO'} |"
            )
        else:
            met = r.get("meets_target_by_requests_per_s")
            lines.append(
                f"| {r['ratio']} | {fmt(r['by_requests_per_s'], 3)} | {fmt(r['by_requests_per_cpu_s'], 3)} | "
                f"{r.get('target', '')} | {'' if met is None else ('yes' if met else 'NO')} |"
            )
    notes = [f"- {s.label}: {s.note}" for s in servers if s.note]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines) + "\n"


def write_readme(table: str, result_name: str) -> None:
    block = f"{README_BEGIN}\nLatest run, from `bench/results/{result_name}`:\n\n{table}{README_END}"
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if README_BEGIN in text and README_END in text:
        head, rest = text.split(README_BEGIN, 1)
        text = head + block + rest.split(README_END, 1)[1]
    elif "## App throughput and memory" in text:
        text = text.replace("## App throughput and memory", "## App throughput and memory\n\n" + block, 1)
    else:
        text = text.rstrip("\n") + "\n\n## App throughput and memory\n\n" + block + "\n"
    README.write_text(text)


# ---------------------------------------------------------------- main


def render(path: Path, readme: bool) -> int:
    """Recompute the summary and ratios of a saved run and rewrite its .md (and the README table)."""
    results = json.loads(path.read_text())
    servers = []
    for name, info in results["servers"].items():
        server = Server(
            name=name,
            label=info["label"],
            argv=info["argv"],
            port=0,
            routes=info["routes"],
            cpus=info["cpus"],
            processes=info["processes"],
            note=info["note"],
        )
        server.idle_memory = info["idle_memory"]
        server.start_error = info["start_error"]
        servers.append(server)
    summarize(results, servers)
    path.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results, servers)
    path.with_suffix(".md").write_text(f"# App benchmark {results['started']} UTC\n\n{table}")
    if readme:
        write_readme(table, path.name)
    print(table)
    return 0


def ensure_wrk() -> None:
    """Install Debian's wrk when it is missing (the load generator of every peak run)."""
    if shutil.which("wrk") is not None:
        return
    print("wrk not found: apt-get install -y wrk", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=300, check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0 or shutil.which("wrk") is None:
        sys.exit(f"wrk not found and `{shlex.join(install)}` failed: {result.stderr.strip()[-500:]}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=6, help="seconds of each peak wrk run")
    parser.add_argument("--half-duration", type=int, default=4, help="seconds of each half-peak run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per route")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median reported)")
    parser.add_argument("--connections", type=int, default=32, help="wrk and openloop connections")
    parser.add_argument(
        "--budget", type=float, default=570, help="stop starting runs after this many seconds"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=-15,
        help="nice value of the servers and load generators (default -15; 0 to share the CPU evenly)",
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated server names, or 'all' (default: {','.join(DEFAULT_SERVERS)}; "
        "also go-all and app-np-uvloop)",
    )
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite bench/README.md")
    parser.add_argument(
        "--render",
        metavar="RESULTS_JSON",
        help="only rewrite the .md (and README table) from a saved results file, measuring nothing",
    )
    args = parser.parse_args()
    if args.render:
        return render(Path(args.render), readme=not args.no_readme)
    t0 = time.monotonic()
    NICE[2] = str(args.nice)

    ensure_wrk()
    for tool in ("taskset", "go"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install util-linux golang (see bench/README.md)")
    if not (VENV_BIN / "httpserver").exists():
        sys.exit(f"{VENV_BIN / 'httpserver'} not found: run scripts/bootstrap-python.sh first")
    subprocess.run([str(BENCH_DIR / "peers" / "build_peers.sh")], check=True)

    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "command": shlex.join([".venv/bin/python", "bench/run_app_bench.py", *sys.argv[1:]]),
        "started": started.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine_info(),
        "loadavg_start": loadavg(),
        "settings": {
            "duration_s": args.duration,
            "half_duration_s": args.half_duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "connections": args.connections,
            "server_cpu": SERVER_CPU,
            "loadgen_cpu": LOADGEN_CPU,
            "nice": args.nice,
            "fibo_n": FIBO_N,
        },
        "servers": {},
        "rounds": [],
        "skipped": [],
    }
    only = set(DEFAULT_SERVERS if not args.only else args.only.split(",") if args.only != "all" else [])
    interrupted = False

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    with tempfile.TemporaryDirectory(prefix="app-bench-") as tmp:
        workdir = Path(tmp)
        servers = build_servers(workdir, only)
        if not (BIN_DIR / "podinfo").exists():
            for s in servers:
                if s.name.startswith("podinfo"):
                    s.start_error = f"podinfo did not build: {tail(BIN_DIR / 'podinfo-build.log')}"
        try:
            for s in servers:
                if not s.start_error:
                    start(s, workdir)
            for s in servers:
                if s.start_error:
                    continue
                try:
                    wait_ready(s, timeout=60)
                except RuntimeError as exc:
                    s.start_error = str(exc)
                    stop(s)
            live = [s for s in servers if not s.start_error]
            print(f"started: {', '.join(s.name for s in live)}", flush=True)
            for s in live:
                try:
                    for route in s.routes:
                        run_wrk(s, route, args.warmup, args.connections)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    s.start_error = f"warm-up failed: {exc}"
                    stop(s)
            live = [s for s in live if not s.start_error]
            time.sleep(2)
            for s in live:
                assert s.proc is not None
                s.idle_memory = memory_kib(s.proc.pid)
            for r in range(args.rounds):
                round_runs: dict[str, Any] = {}
                results["rounds"].append({"round": r + 1, "runs": round_runs})
                order = live[r % len(live) :] + live[: r % len(live)]
                for route in ("healthz", "fibo", "version"):
                    for s in order:
                        if route not in s.routes:
                            continue
                        key = f"{s.name} {route}"
                        if time.monotonic() - t0 > args.budget:
                            results["skipped"].append(f"round {r + 1}: {key} (time budget)")
                            continue
                        try:
                            peak = run_wrk(s, route, args.duration, args.connections)
                            half = run_open_loop(
                                s, route, peak["requests_per_s"] / 2, args.half_duration, args.connections
                            )
                            round_runs[key] = {"peak": peak, "half": half}
                            print(
                                f"round {r + 1} {key}: {peak['requests_per_s']:.0f} req/s, p99 "
                                f"{peak['latency_ms']['p99']:.2f} ms; half-peak p99 "
                                f"{half['latency_ms']['p99']:.2f} ms",
                                flush=True,
                            )
                        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
                            round_runs[key] = {"error": str(exc)}
                            print(f"round {r + 1} {key}: FAILED {exc}", flush=True)
        except KeyboardInterrupt:
            interrupted = True
            print("interrupted: stopping servers", file=sys.stderr)
        finally:
            for s in servers:
                stop(s)
        for s in servers:
            results["servers"][s.name] = {
                "label": s.label,
                "argv": s.argv,
                "cpus": s.cpus,
                "processes": s.processes,
                "routes": s.routes,
                "note": s.note,
                "idle_memory": s.idle_memory,
                "start_error": s.start_error,
            }
    results["finished"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    results["elapsed_s"] = round(time.monotonic() - t0, 1)
    results["loadavg_end"] = loadavg()
    results["interrupted"] = interrupted
    summarize(results, servers)
    table = markdown(results, servers)

    RESULTS_DIR.mkdir(exist_ok=True)
    stem = "app-" + started.strftime("%Y-%m-%dT%H%MZ")
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS_DIR / f"{stem}.md").write_text(f"# App benchmark {results['started']} UTC\n\n{table}")
    if not args.no_readme and not interrupted and not args.only:
        write_readme(table, f"{stem}.json")
    print(table)
    print(f"results: {RESULTS_DIR / stem}.json ({results['elapsed_s']} s)")
    return 1 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
