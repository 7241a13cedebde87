#!/usr/bin/env python3
"""Profile the app's hot path under load: one app process (pinned to CPU 0) under a profiler while
`wrk` (pinned to CPU 1) drives one route for a bounded time; then SIGTERM, and the report.

Profilers:
- `cprofile` (default): deterministic, with call counts; its per-call overhead inflates small, often
  called functions. Time the process spends preempted by other work lands on whatever function ran,
  which spreads it in proportion (the clock is the default perf counter: a CPU-time clock would cost
  a system call per event). Report: top functions by own time and by cumulative time.
- `pyinstrument`: statistical wall-clock sampling (low overhead); on a loaded machine the gaps when
  the process is not running are charged to whatever frame was sampled last, so read it on a quiet one.

Writes bench/results/app-profile-<route>-<profiler>-<UTC timestamp>.txt and prints it.
Run: `.venv/bin/python bench/profile_app.py [--route healthz|fibo] [--seconds 10] [--profiler ...]`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pstats
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_app_bench import NICE, app_config, free_port, listening_pid_in_group, prioritize, run_load

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PYTHON = REPO / ".venv" / "bin" / "python"
ROUTES = {"healthz": "/prod/healthz", "fibo": "/prod/fibo?n=1000"}

# Runs inside the profiled process: the app's own main() under cProfile.
CPROFILE_WRAPPER = """
import cProfile, sys
from httpserver.server import main
out = sys.argv.pop(1)
profiler = cProfile.Profile()
code = 1
try:
    code = profiler.runcall(main)
finally:
    profiler.dump_stats(out)
sys.exit(code)
"""


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"app exited with {proc.returncode} before listening on {port}")
        if listening_pid_in_group(port, proc.pid):
            return
        time.sleep(0.1)
    raise SystemExit(f"app not listening on {port} after {timeout} s")


def own_time_by_place(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Each function's own time summed by package (httpserver, tornado, asyncio, ...), largest first."""
    places: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if filename == "~":
            place = "built-ins and C methods (" + ("socket I/O" if "socket" in name else "other") + ")"
        elif "/httpserver/" in filename:
            place = "httpserver (the app): " + Path(filename).name
        else:
            parts = Path(filename).parts
            marks = [i for i, part in enumerate(parts) if part in ("site-packages", "python3.11")]
            anchor = marks[-1] if marks else None
            place = parts[anchor + 1] if anchor is not None and anchor + 1 < len(parts) else filename
            place = place.removesuffix(".py")
        places[place] = places.get(place, 0.0) + tottime
    return sorted(places.items(), key=lambda item: -item[1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--route", choices=sorted(ROUTES), default="healthz")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load under the profiler")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--profiler", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument("--top", type=int, default=30, help="functions listed (cprofile)")
    parser.add_argument("--nice", type=int, default=-15, help="nice value of the app and wrk")
    args = parser.parse_args()
    NICE[2] = str(args.nice)

    port = free_port()
    url = f"http://127.0.0.1:{port}{ROUTES[args.route]}"
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%MZ")
    out_path = BENCH_DIR / "results" / f"app-profile-{args.route}-{args.profiler}-{stamp}.txt"
    with tempfile.TemporaryDirectory(prefix="app-profile-") as tmp:
        config = app_config(Path(tmp), "config", port, processes=1)
        data = Path(tmp) / ("stats.prof" if args.profiler == "cprofile" else "session.pyisession")
        app_args = ["--config", str(config), "--address", "127.0.0.1"]
        if args.profiler == "cprofile":
            inner = [str(PYTHON), "-c", CPROFILE_WRAPPER, str(data), *app_args]
        else:
            inner = [
                str(PYTHON),
                "-m",
                "pyinstrument",
                "-r",
                "pyisession",
                "-o",
                str(data),
                "-m",
                "httpserver",
                *app_args,
            ]
        argv = ["taskset", "-c", "0", *NICE, *inner]
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
        )
        prioritize(proc.pid)
        try:
            wait_ready(port, proc)
            wrk = [
                "taskset",
                "-c",
                "1",
                "nice",
                "-n",
                "-15",
                "wrk",
                "-t1",
                f"-c{args.connections}",
                f"-d{args.seconds}s",
                url,
            ]
            load = run_load(wrk, timeout=args.seconds + 30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        rps = re.search(r"Requests/sec:\s*([\d.]+)", load.stdout)
        header = [
            f"# Profile of the app, {args.route} ({url}), {args.profiler}, {stamp}",
            f"# command: .venv/bin/python bench/profile_app.py {shlex.join(sys.argv[1:])}",
            f"# load: {shlex.join(wrk)} -> {rps.group(1) if rps else '?'} req/s under the profiler",
            f"# load average: {Path('/proc/loadavg').read_text().strip()}",
            "",
        ]
        if args.profiler == "cprofile":
            body = io.StringIO()
            stats = pstats.Stats(str(data), stream=body)
            total = stats.total_tt  # type: ignore[attr-defined]
            requests = next(
                (
                    cc
                    for (_f, _l, name), (cc, *_rest) in stats.stats.items()  # type: ignore[attr-defined]
                    if name == "on_finish"
                ),
                0,
            )
            body.write(
                f"seconds profiled: {total:.2f}; requests finished: {requests}; "
                f"{total / requests * 1e6 if requests else 0:.0f} us per request (with cProfile's overhead)\n"
            )
            body.write("\nOwn time by where the code lives (share of all profiled time):\n")
            for place, seconds in own_time_by_place(stats):
                if seconds < total / 1000:
                    break
                body.write(f"  {seconds / total:6.1%}  {seconds:7.3f} s  {place}\n")
            body.write("\n")
            stats.strip_dirs().sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
            text = body.getvalue()
        else:
            text = subprocess.run(
                [
                    str(PYTHON),
                    "-m",
                    "pyinstrument",
                    "--load",
                    str(data),
                    "-r",
                    "text",
                    "--no-color",
                    "-p",
                    "flat=true",
                    "--show-all",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            text += subprocess.run(
                [str(PYTHON), "-m", "pyinstrument", "--load", str(data), "-r", "text", "--no-color"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
    out_path.parent.mkdir(exist_ok=True)
    out_path.write_text("\n".join(header) + text)
    print("\n".join(header) + text)
    print(f"written: {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
