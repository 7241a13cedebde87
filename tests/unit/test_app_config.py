"""The config file: defaults, environment overrides, and one clear line for each kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from httpserver.config import Config, ConfigError, load_config, parse_config
from httpserver.server import main

FULL = """\
env: prod
port: 9090
max_n: 5000
cache: false
cache_size: 10
log_level: WARNING
version: v2.0.1-abc
drain_seconds: 2.5
shutdown_timeout_seconds: 7
processes: 0
event_loop: asyncio
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def error_for(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    return caught.value


def test_every_key_is_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), {})
    assert config == Config(
        env="prod",
        port=9090,
        max_n=5000,
        cache=False,
        cache_size=10,
        log_level="WARNING",
        version="v2.0.1-abc",
        drain_seconds=2.5,
        shutdown_timeout_seconds=7.0,
        processes=0,
        event_loop="asyncio",
    )
    assert isinstance(config.shutdown_timeout_seconds, float)
    assert config.prefix == "/prod"


def test_defaults_fill_the_rest_and_log_level_follows_env(tmp_path: Path) -> None:
    dev = load_config(write(tmp_path, "env: dev\n"), {})
    assert (dev.port, dev.max_n, dev.cache, dev.processes, dev.log_level) == (8080, 100000, True, 1, "DEBUG")
    prod = load_config(write(tmp_path, "env: prod\n"), {})
    assert prod.log_level == "INFO"


def test_any_dns_label_names_an_environment(tmp_path: Path) -> None:
    staging = load_config(write(tmp_path, "env: staging-2\n"), {})
    assert (staging.env, staging.prefix, staging.log_level) == ("staging-2", "/staging-2", "INFO")


def test_event_loop_defaults_to_uvloop_and_accepts_asyncio(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "env: dev\n"), {}).event_loop == "uvloop"
    assert load_config(write(tmp_path, "env: dev\nevent_loop: asyncio\n"), {}).event_loop == "asyncio"


def test_command_names_a_bad_event_loop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "env: dev\nevent_loop: tokio\n")
    assert main(["--config", path]) == 2
    assert capsys.readouterr().err == (
        f"config error: {path}: key 'event_loop': must be one of uvloop, asyncio, got 'tokio'\n"
    )


def test_environment_overrides_version_and_log_level(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), {"VERSION": "v9", "LOGLEVEL": "debug"})
    assert config.version == "v9"
    assert config.log_level == "DEBUG"


def test_empty_environment_values_do_not_override(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), {"VERSION": "", "LOGLEVEL": ""})
    assert (config.version, config.log_level) == ("v2.0.1-abc", "WARNING")


def test_bad_environment_override_names_the_variable(tmp_path: Path) -> None:
    error = error_for(tmp_path, "env: dev\n", {"LOGLEVEL": "LOUD"})
    assert "environment LOGLEVEL" in str(error)
    assert error.key == "log_level"


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == f"config error: {path}: file: file not found"


def test_invalid_yaml_says_where(tmp_path: Path) -> None:
    error = error_for(tmp_path, "env: dev\nport: [8080\n")
    assert "invalid YAML at line" in error.problem
    assert str(tmp_path) in str(error)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "must be a YAML mapping" in error_for(tmp_path, "- env\n- dev\n").problem
    assert "got null" in error_for(tmp_path, "").problem


def test_unknown_key_is_named(tmp_path: Path) -> None:
    error = error_for(tmp_path, "env: dev\nmaxseq: 40\n")
    assert error.key == "maxseq"
    assert "unknown key" in error.problem


def test_env_is_required(tmp_path: Path) -> None:
    error = error_for(tmp_path, "port: 8080\n")
    assert (error.key, error.problem) == ("env", "is required (a DNS label such as dev, staging or prod)")


@pytest.mark.parametrize(
    ("line", "key", "problem"),
    [
        ("port: true", "port", "must be an integer, got bool True"),
        ("port: '8080'", "port", "must be an integer, got str '8080'"),
        ("port: 80.5", "port", "must be an integer, got float 80.5"),
        ("max_n: false", "max_n", "must be an integer, got bool False"),
        ("max_n: null", "max_n", "must be an integer, got null None"),
        ("cache: 1", "cache", "must be a boolean (true or false), got int 1"),
        ("cache: 'yes please'", "cache", "must be a boolean"),
        ("cache_size: 1.0", "cache_size", "must be an integer, got float"),
        ("processes: true", "processes", "must be an integer, got bool"),
        ("drain_seconds: true", "drain_seconds", "must be a number, got bool True"),
        ("drain_seconds: '5'", "drain_seconds", "must be a number, got str"),
        ("shutdown_timeout_seconds: .nan", "shutdown_timeout_seconds", "must be a finite number"),
        ("version: 1.0", "version", "must be a string, got float 1.0 (quote it)"),
        ("log_level: 10", "log_level", "must be a string, got int 10"),
        ("event_loop: true", "event_loop", "must be a string, got bool True"),
    ],
)
def test_wrong_type_is_named(tmp_path: Path, line: str, key: str, problem: str) -> None:
    error = error_for(tmp_path, f"env: dev\n{line}\n")
    assert error.key == key
    assert problem in error.problem, error.problem


@pytest.mark.parametrize(
    ("line", "key", "problem"),
    [
        ("port: 0", "port", "must be between 1 and 65535, got 0"),
        ("port: 70000", "port", "must be between 1 and 65535, got 70000"),
        ("max_n: -1", "max_n", "must be between 0 and 1000000, got -1"),
        ("max_n: 1000001", "max_n", "must be between 0 and 1000000"),
        ("cache_size: 0", "cache_size", "must be between 1 and 1000000, got 0"),
        ("drain_seconds: -0.5", "drain_seconds", "must be between 0 and 300, got -0.5"),
        ("shutdown_timeout_seconds: 301", "shutdown_timeout_seconds", "must be between 0 and 300"),
        ("processes: -1", "processes", "must be between 0 and 64, got -1"),
        ("env: DEV", "env", "must be a DNS label (a-z, 0-9 and '-', at most 63), got 'DEV'"),
        ("env: -dev", "env", "must be a DNS label (a-z, 0-9 and '-', at most 63), got '-dev'"),
        ("log_level: TRACE", "log_level", "must be one of DEBUG, INFO, WARNING, ERROR, got 'TRACE'"),
        ("version: 'has space'", "version", "printable ASCII characters without spaces"),
        ("version: ''", "version", "printable ASCII characters without spaces"),
        ("event_loop: trio", "event_loop", "must be one of uvloop, asyncio, got 'trio'"),
        ("event_loop: UVLOOP", "event_loop", "must be one of uvloop, asyncio, got 'UVLOOP'"),
    ],
)
def test_out_of_range_is_named(tmp_path: Path, line: str, key: str, problem: str) -> None:
    error = error_for(tmp_path, f"env: dev\n{line}\n" if not line.startswith("env:") else f"{line}\n")
    assert error.key == key
    assert problem in error.problem, error.problem


def test_error_is_one_line_naming_file_and_key(tmp_path: Path) -> None:
    error = error_for(tmp_path, "env: dev\nport: true\n")
    text = str(error)
    assert "\n" not in text
    assert text == f"config error: {tmp_path / 'config.yaml'}: key 'port': must be an integer, got bool True"


def test_parse_config_uses_the_given_source_name() -> None:
    with pytest.raises(ConfigError, match=r"^config error: inline: key 'port'"):
        parse_config("env: dev\nport: x\n", "inline", {})


def test_command_exits_non_zero_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for text in ("env: dev\ncache_size: 0\n", "env: [\n", "env: dev\nbogus: 1\n"):
        path = write(tmp_path, text)
        assert main(["--config", path]) == 2
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert len(lines) == 1, captured.err
        assert lines[0].startswith(f"config error: {path}: ")
        assert captured.out == ""


def test_command_exits_non_zero_on_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "absent.yaml")]) == 2
    assert capsys.readouterr().err == f"config error: {tmp_path / 'absent.yaml'}: file: file not found\n"
