"""Config hot reload: live keys change without a restart; a broken file is logged and ignored."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_testcase import ServiceTestCase
from tornado.testing import gen_test

from httpserver.config import load_config
from httpserver.logs import setup_logging
from httpserver.reload import ConfigWatcher
from httpserver.state import AppState

BASE = "env: dev\nmax_n: 100\nlog_level: DEBUG\ncache_size: 10\n"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = setup_logging("DEBUG", stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def watch(path: Path, environ: dict[str, str] | None = None) -> tuple[AppState, ConfigWatcher]:
    state = AppState.create(load_config(str(path), environ or {}))
    return state, ConfigWatcher(str(path), state, environ or {})


def test_unchanged_file_applies_nothing(tmp_path: Path, logs: io.StringIO) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE)
    _state, watcher = watch(path)
    assert watcher.check() is False
    assert lines(logs) == []


def test_log_level_and_max_n_change_without_restart(tmp_path: Path, logs: io.StringIO) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE)
    state, watcher = watch(path)
    path.write_text(BASE.replace("max_n: 100", "max_n: 7").replace("DEBUG", "WARNING"))
    assert watcher.check() is True
    assert state.config.max_n == 7
    assert state.config.log_level == "WARNING"
    assert logging.getLogger().level == logging.WARNING
    assert logging.getLogger("httpserver").level == logging.WARNING


def test_cache_size_shrinks_the_live_cache(tmp_path: Path, logs: io.StringIO) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE)
    state, watcher = watch(path)
    for n in range(10):
        state.fibo.body(n)
    path.write_text(BASE.replace("cache_size: 10", "cache_size: 3"))
    assert watcher.check() is True
    assert state.fibo.cache.keys() == [7, 8, 9]
    path.write_text(BASE.replace("cache_size: 10", "cache_size: 3") + "cache: false\n")
    assert watcher.check() is True
    assert len(state.fibo.cache) == 0
    state.fibo.body(5)
    assert len(state.fibo.cache) == 0


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("env: dev\nmax_n: [\n", None, "invalid YAML"),
        ("env: dev\nmax_n: true\n", "max_n", "must be an integer, got bool True"),
        ("env: dev\nmax_n: -3\n", "max_n", "must be between 0 and 1000000"),
        ("env: dev\nwhatever: 1\n", "whatever", "unknown key"),
    ],
)
def test_broken_file_is_logged_and_old_config_keeps_serving(
    tmp_path: Path, logs: io.StringIO, text: str, key: str | None, problem: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE)
    state, watcher = watch(path)
    before = state.config
    path.write_text(text)
    assert watcher.check() is False
    assert watcher.check() is False  # polled again: not logged twice
    assert state.config is before
    errors = [line for line in lines(logs) if line["level"] == "ERROR"]
    assert len(errors) == 1, errors
    assert errors[0]["file"] == str(path)
    assert errors[0]["key"] == key
    assert problem in errors[0]["problem"]
    # Fixing the file is picked up.
    path.write_text(BASE.replace("max_n: 100", "max_n: 55"))
    assert watcher.check() is True
    assert state.config.max_n == 55


def test_missing_file_is_logged_and_ignored(tmp_path: Path, logs: io.StringIO) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE)
    state, watcher = watch(path)
    path.unlink()
    assert watcher.check() is False
    assert state.config.max_n == 100
    assert "cannot be read" in lines(logs)[-1]["problem"]


def test_restart_only_keys_are_reported_and_kept(tmp_path: Path, logs: io.StringIO) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE)
    state, watcher = watch(path)
    path.write_text(BASE.replace("max_n: 100", "max_n: 9") + "port: 9999\nversion: v2\n")
    assert watcher.check() is True
    assert (state.config.max_n, state.config.port, state.config.version) == (9, 8080, "1.0.0")
    warning = next(line for line in lines(logs) if line["level"] == "WARNING")
    assert warning["keys"] == ["port", "version"]


def test_loglevel_environment_still_wins_after_reload(tmp_path: Path, logs: io.StringIO) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE)
    state, watcher = watch(path, {"LOGLEVEL": "ERROR"})
    path.write_text(BASE.replace("max_n: 100", "max_n: 8").replace("DEBUG", "INFO"))
    assert watcher.check() is True
    assert (state.config.max_n, state.config.log_level) == (8, "ERROR")


def test_configmap_symlink_swap_is_seen(tmp_path: Path, logs: io.StringIO) -> None:
    """Kubernetes mounts config.yaml -> ..data/config.yaml and swaps ..data to a new directory."""
    first, second = tmp_path / "..2024_01", tmp_path / "..2024_02"
    first.mkdir()
    second.mkdir()
    (first / "config.yaml").write_text(BASE)
    (second / "config.yaml").write_text(BASE.replace("max_n: 100", "max_n: 42"))
    os.symlink(first.name, tmp_path / "..data")
    os.symlink("..data/config.yaml", tmp_path / "config.yaml")
    state, watcher = watch(tmp_path / "config.yaml")
    os.symlink(second.name, tmp_path / "..data_tmp")
    os.replace(tmp_path / "..data_tmp", tmp_path / "..data")
    assert watcher.check() is True
    assert state.config.max_n == 42


class TestReloadWhileServing(ServiceTestCase):
    """The watcher's PeriodicCallback on the server's IOLoop picks up a new file by itself."""

    @gen_test
    async def test_new_max_n_applies_while_serving(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "config.yaml"
            path.write_text("env: dev\nmax_n: 100000\nlog_level: DEBUG\ncache_size: 8\n")
            watcher = ConfigWatcher(str(path), self.state, {}, interval_seconds=0.05)
            watcher.start()
            try:
                response = await self.http_client.fetch(self.get_url("/dev/fibo?n=500"), raise_error=False)
                assert response.code == 200
                path.write_text("env: dev\nmax_n: 400\nlog_level: INFO\ncache_size: 8\n")
                for _ in range(100):
                    if self.state.config.max_n == 400:
                        break
                    await asyncio.sleep(0.02)
                response = await self.http_client.fetch(self.get_url("/dev/fibo?n=500"), raise_error=False)
                assert response.code == 422
                assert json.loads(response.body) == {"error": "n=500 is above the limit max_n=400"}
                reloaded = [line for line in self.log_lines() if line["message"] == "config reloaded"]
                assert reloaded and reloaded[0]["changed"] == {"max_n": 400, "log_level": "INFO"}
            finally:
                watcher.stop()


@pytest.mark.parametrize(("before", "after"), [("INFO", "ERROR"), ("ERROR", "DEBUG")])
def test_the_reload_line_shows_whichever_way_the_level_moves(
    tmp_path: Path, logs: io.StringIO, before: str, after: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE.replace("DEBUG", before))
    _state, watcher = watch(path)
    logging.getLogger().setLevel(before)
    path.write_text(BASE.replace("DEBUG", after))
    assert watcher.check() is True
    reloaded = [line for line in lines(logs) if line["message"] == "config reloaded"]
    assert [line["changed"] for line in reloaded] == [{"log_level": after}]
    assert logging.getLogger().level == logging.getLevelName(after)
