"""How many workers `processes: 0` starts: the CPUs the process may use, capped by a cgroup CPU limit."""

from __future__ import annotations

import os
from pathlib import Path

from httpserver.workers import available_cpus

AFFINITY = len(os.sched_getaffinity(0))


def test_no_cgroup_files_means_the_affinity(tmp_path: Path) -> None:
    assert available_cpus(str(tmp_path)) == AFFINITY


def test_cgroup_v2_quota_caps_and_rounds_up(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert available_cpus(str(tmp_path)) == 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert available_cpus(str(tmp_path)) == min(AFFINITY, 2)


def test_cgroup_v2_unlimited(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(str(tmp_path)) == AFFINITY


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(str(tmp_path)) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert available_cpus(str(tmp_path)) == AFFINITY
