#!/usr/bin/env python3
"""How keep-alive connections spread over pre-forked workers: one shared listening socket (what the
app's `processes: 0` does) against one SO_REUSEPORT socket per worker.

Forks two bare Tornado workers for each mode, drives them with `wrk -c32` several times and prints
each worker's CPU ticks per run: with a shared socket, whichever worker wakes first may accept all 32
connections and the other stays idle for the whole run; with SO_REUSEPORT the kernel hashes each
connection to one worker's socket. Bounded, loopback only; stops what it forked.
Run: `.venv/bin/python bench/prefork_balance.py [--runs 6] [--seconds 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_app_bench import NICE, free_port, listening_pid_in_group, prioritize, run_load


class Health(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write(b'{"status": "ok"}')


def worker(sockets: list) -> None:
    async def serve() -> None:
        server = HTTPServer(tornado.web.Application([(r"/prod/healthz", Health)]))
        server.add_sockets(sockets)
        await asyncio.Event().wait()

    asyncio.run(serve())


def ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def measure(mode: str, runs: int, seconds: int) -> list[list[int]]:
    port = free_port()
    leader = os.fork()
    if leader == 0:  # a session of its own, so one killpg stops every worker
        os.setsid()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # taken by sigwait below
        shared = bind_sockets(port, "127.0.0.1") if mode == "shared" else None
        for _ in range(2):
            if os.fork() == 0:
                worker(shared or bind_sockets(port, "127.0.0.1", reuse_port=True))
                os._exit(0)
        signal.sigwait({signal.SIGTERM})
        os.killpg(0, signal.SIGKILL)
    prioritize(leader)
    try:
        deadline = time.monotonic() + 30
        while not listening_pid_in_group(port, leader) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        workers = sorted(
            int(p)
            for p in os.listdir("/proc")
            if p.isdigit() and int(p) != leader and _pgid(int(p)) == leader
        )
        url = f"http://127.0.0.1:{port}/prod/healthz"
        spreads = []
        for _ in range(runs):
            before = [ticks(w) for w in workers]
            run_load(["taskset", "-c", "1", *NICE, "wrk", "-t1", "-c32", f"-d{seconds}s", url], seconds + 30)
            spreads.append([ticks(w) - b for w, b in zip(workers, before, strict=True)])
        return spreads
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(leader, signal.SIGTERM)
        os.waitpid(leader, 0)


def _pgid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    NICE[2] = "-15"
    for mode in ("shared", "reuseport"):
        spreads = measure(mode, args.runs, args.seconds)
        lopsided = sum(1 for s in spreads if min(s) < 0.2 * max(s))
        print(
            f"{mode:9s} worker CPU ticks per run: {spreads}; runs with one worker under 20% of the "
            f"other: {lopsided}/{len(spreads)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
