"""Pre-forked workers (each binds its own SO_REUSEPORT socket, in server.run). The parent forwards
SIGTERM/SIGINT to the workers and exits once they have; a worker that dies unasked is restarted (a
bounded number of times)."""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import signal
from types import FrameType

from httpserver.logs import EventLog

_log = EventLog("workers")
_PR_SET_PDEATHSIG = 1
# A stop signal a worker got before its event loop could take it over.
_early_signals: list[int] = []


def _stop_with_parent(parent_pid: int) -> None:
    """Have the kernel send this worker SIGTERM when its parent dies (even by SIGKILL), so no worker is
    left serving without a parent to restart or stop it. Linux only; elsewhere a no-op."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _remember_signal(signum: int, _frame: FrameType | None) -> None:
    _early_signals.append(signum)


def remember_stop_signals() -> None:
    """Until serve() takes over, a stop signal is remembered rather than killing the process."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _remember_signal)


def available_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """CPUs this process may use: its affinity, capped by a cgroup CPU quota (a container's CPU limit),
    rounded up; at least 1."""
    cpus = len(os.sched_getaffinity(0))
    quota = _cgroup_quota(cgroup_root)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def _cgroup_quota(root: str) -> float | None:
    """The CPU quota in CPUs from cgroup v2 `cpu.max` or v1 `cpu.cfs_quota_us`, or None if unlimited."""
    try:
        with open(os.path.join(root, "cpu.max")) as handle:
            quota, period = handle.read().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(root, "cpu", "cpu.cfs_quota_us")) as handle:
            quota_us = int(handle.read())
        with open(os.path.join(root, "cpu", "cpu.cfs_period_us")) as handle:
            period_us = int(handle.read())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us


def take_early_signal() -> int | None:
    """The first stop signal that arrived before serve() installed its handlers, if any."""
    return _early_signals[0] if _early_signals else None


class Workers:
    def __init__(self, count: int, max_restarts: int = 16) -> None:
        self.count = count
        self.max_restarts = max_restarts
        self.children: dict[int, int] = {}  # pid -> task id
        self.stopping = False
        self.failed = False
        self._parent_pid = os.getpid()

    def run(self) -> tuple[int | None, int]:
        """Fork the workers and watch them. In a worker: (its task id, 0). In the parent, once every
        worker has exited: (None, exit code): 0 when all stopped cleanly, 1 otherwise."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._forward)
        for task_id in range(self.count):
            if self._spawn(task_id):
                return task_id, 0
        _log.info("workers started", workers=len(self.children), pids=sorted(self.children))
        restarts = 0
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            task_id = self.children.pop(pid, None)
            if task_id is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if code == 0 or self.stopping:
                (_log.info if code == 0 else _log.error)(
                    "worker exited", worker=task_id, pid=pid, exit_code=code
                )
                self.failed = self.failed or code != 0
                continue
            restarts += 1
            if restarts > self.max_restarts:
                _log.error("workers keep dying; stopping", worker=task_id, exit_code=code, restarts=restarts)
                self.failed = True
                self._forward(signal.SIGTERM, None)
                continue
            _log.error("worker died; restarting it", worker=task_id, pid=pid, exit_code=code)
            if self._spawn(task_id):
                return task_id, 0
        _log.info("all workers exited", exit_code=int(self.failed))
        return None, int(self.failed)

    def _spawn(self, task_id: int) -> bool:
        """Fork one worker; True in the new worker, False in the parent."""
        pid = os.fork()
        if pid == 0:
            remember_stop_signals()
            _stop_with_parent(self._parent_pid)
            self.children.clear()
            return True
        self.children[pid] = task_id
        return False

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        if os.getpid() != self._parent_pid:  # a worker between fork() and taking its own handler
            _remember_signal(signum, _frame)
            return
        if not self.stopping:
            _log.info(
                "forwarding stop signal to workers",
                signal=signal.Signals(signum).name,
                pids=sorted(self.children),
            )
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
