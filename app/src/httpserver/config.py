"""The service's configuration: one YAML file, checked strictly, with two environment overrides."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from httpserver import __version__

# Any DNS label names an environment (it becomes the route prefix, the namespace's suffix and a label value).
_ENV_RE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
EVENT_LOOPS = ("uvloop", "asyncio")
# DEBUG in dev, INFO in every other environment, unless log_level says otherwise.
DEFAULT_LOG_LEVEL = {"dev": "DEBUG"}
ENV_OVERRIDES = {"VERSION": "version", "LOGLEVEL": "log_level"}
# The version travels in a response header, so it must be printable ASCII without spaces.
_VERSION_RE = re.compile(r"[\x21-\x7e]{1,128}")


class ConfigError(Exception):
    """A configuration problem, rendered as one line naming the file, the key and what is wrong."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"key '{key}'" if key else "file"
        super().__init__(f"config error: {source}: {where}: {problem}")


@dataclass(frozen=True, slots=True)
class Config:
    env: str
    port: int = 8080
    max_n: int = 100000
    cache: bool = True
    cache_size: int = 1024
    log_level: str = ""  # empty means the environment's default, resolved by load_config
    version: str = __version__
    drain_seconds: float = 5.0
    shutdown_timeout_seconds: float = 10.0
    processes: int = 1
    event_loop: str = "uvloop"

    @property
    def prefix(self) -> str:
        """The route prefix, `/<env>`."""
        return f"/{self.env}"

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


RULES: dict[str, _Rule] = {
    "env": _Rule(str),
    "port": _Rule(int, 1, 65535),
    "max_n": _Rule(int, 0, 1_000_000),
    "cache": _Rule(bool),
    "cache_size": _Rule(int, 1, 1_000_000),
    "log_level": _Rule(str, choices=LOG_LEVELS),
    "version": _Rule(str),
    "drain_seconds": _Rule(float, 0, 300),
    "shutdown_timeout_seconds": _Rule(float, 0, 300),
    "processes": _Rule(int, 0, 64),
    "event_loop": _Rule(str, choices=EVENT_LOOPS),
}
_TYPE_NAMES = {int: "an integer", float: "a number", bool: "a boolean (true or false)", str: "a string"}


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_value(source: str, key: str, value: Any) -> Any:
    """Return `value` converted to the key's type, or raise ConfigError saying what is wrong."""
    rule = RULES[key]
    # bool is a subclass of int in Python: `port: true` must not pass as 1.
    if rule.kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif rule.kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, rule.kind)
    if not ok:
        hint = " (quote it)" if rule.kind is str and value is not None else ""
        raise ConfigError(
            source, key, f"must be {_TYPE_NAMES[rule.kind]}, got {_type_name(value)} {value!r}{hint}"
        )
    if rule.kind is float:
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(source, key, f"must be a finite number, got {value!r}")
    if rule.choices:
        if key == "log_level":
            value = value.upper()
        if value not in rule.choices:
            raise ConfigError(source, key, f"must be one of {', '.join(rule.choices)}, got {value!r}")
    if rule.low is not None and rule.high is not None and not rule.low <= value <= rule.high:
        low, high = (int(rule.low), int(rule.high)) if rule.kind is int else (rule.low, rule.high)
        raise ConfigError(source, key, f"must be between {low} and {high}, got {value!r}")
    if key == "env" and not _ENV_RE.fullmatch(value):
        raise ConfigError(source, key, f"must be a DNS label (a-z, 0-9 and '-', at most 63), got {value!r}")
    if key == "version" and not _VERSION_RE.fullmatch(value):
        raise ConfigError(
            source, key, f"must be 1-128 printable ASCII characters without spaces, got {value!r}"
        )
    return value


def parse_config(text: str, source: str, environ: Mapping[str, str] | None = None) -> Config:
    """Build a Config from YAML text; `environ` supplies the VERSION and LOGLEVEL overrides."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(source, None, f"invalid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(source, None, f"must be a YAML mapping of keys, got {_type_name(data)}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in RULES:
            raise ConfigError(source, str(key), f"unknown key (known keys: {', '.join(RULES)})")
        values[key] = check_value(source, key, value)
    if "env" not in values:
        raise ConfigError(source, "env", "is required (a DNS label such as dev, staging or prod)")
    for variable, key in ENV_OVERRIDES.items():
        override = (environ or {}).get(variable)
        if override:
            values[key] = check_value(f"{source} (environment {variable})", key, override)
    values.setdefault("log_level", DEFAULT_LOG_LEVEL.get(values["env"], "INFO"))
    return Config(**values)


def load_config(path: str, environ: Mapping[str, str] | None = None) -> Config:
    """Read and check the config file at `path` (environ defaults to os.environ)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot be read: {exc}") from None
    return parse_config(text, path, os.environ if environ is None else environ)
