"""Ansible callback that appends each task's wall time to a TSV file, for the timing reports of make up and
make test (scripts/stage.sh enables it and names the file through CLOUDNATIVE_TIMING_FILE).

Columns: stage, playbook, play, task, seconds, hosts changed, hosts skipped. A task's time runs from its start
to the next task's start (or the end of the playbook), as ansible.posix.profile_tasks counts it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_timing
type: aggregate
short_description: append per-task wall times to the file named by CLOUDNATIVE_TIMING_FILE
description: Writes one TSV line per task (stage, playbook, play, task, seconds, changed, skipped).
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._path = os.environ.get("CLOUDNATIVE_TIMING_FILE", "")
        self._stage = os.environ.get("CLOUDNATIVE_STAGE", "")
        self._playbook = ""
        self._play = ""
        self._current: list | None = None  # [play, task, start, changed, skipped]
        self._rows: list[tuple] = []

    def _close_current(self) -> None:
        if self._current is not None:
            play, task, start, changed, skipped = self._current
            self._rows.append((play, task, time.monotonic() - start, changed, skipped))
            self._current = None

    def v2_playbook_on_start(self, playbook) -> None:
        self._playbook = Path(playbook._file_name).name

    def v2_playbook_on_play_start(self, play) -> None:
        self._close_current()
        self._play = play.get_name().strip()

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:
        self._close_current()
        self._current = [self._play, task.get_name().strip(), time.monotonic(), 0, 0]

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_runner_on_ok(self, result) -> None:
        if self._current is not None and result._result.get("changed"):
            self._current[3] += 1

    def v2_runner_on_skipped(self, result) -> None:
        if self._current is not None:
            self._current[4] += 1

    def v2_playbook_on_stats(self, stats) -> None:
        self._close_current()
        if not self._path:
            return
        path = Path(self._path)
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        with path.open("a", encoding="utf-8") as out:
            if new:
                out.write("stage\tplaybook\tplay\ttask\tseconds\tchanged\tskipped\n")
            for play, task, seconds, changed, skipped in self._rows:
                clean = [s.replace("\t", " ").replace("\n", " ") for s in (play, task)]
                out.write(
                    f"{self._stage}\t{self._playbook}\t{clean[0]}\t{clean[1]}\t{seconds:.2f}\t{changed}\t{skipped}\n"
                )
