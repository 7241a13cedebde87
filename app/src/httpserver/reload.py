"""Hot reload: poll the config file and apply what changed. A ConfigMap update swaps a symlink, so the
path is read again each time (never a kept inode), and the content, not the mtime, decides."""

from __future__ import annotations

from collections.abc import Mapping

from tornado.ioloop import PeriodicCallback

from httpserver.config import ConfigError, parse_config
from httpserver.logs import EventLog
from httpserver.state import AppState


class ConfigWatcher:
    def __init__(
        self, path: str, state: AppState, environ: Mapping[str, str], interval_seconds: float = 1.0
    ) -> None:
        self.path = path
        self.state = state
        self.environ = environ
        self.interval_seconds = interval_seconds
        self._log = EventLog("config")
        self._last_content = self._read()
        self._last_error: str | None = None
        self._callback: PeriodicCallback | None = None

    def _read(self) -> bytes | None:
        try:
            with open(self.path, "rb") as handle:
                return handle.read()
        except OSError:
            return None

    def start(self) -> None:
        self._callback = PeriodicCallback(self.check, self.interval_seconds * 1000)
        self._callback.start()

    def stop(self) -> None:
        if self._callback is not None:
            self._callback.stop()

    def check(self) -> bool:
        """Apply the file if its content changed and is valid; True when a new config was applied."""
        try:
            with open(self.path, "rb") as handle:
                content = handle.read()
        except OSError as exc:
            self._reject(ConfigError(self.path, None, f"cannot be read: {exc.strerror or exc}"))
            return False
        if content == self._last_content:
            self._last_error = None
            return False
        try:
            config = parse_config(content.decode("utf-8"), self.path, self.environ)
        except UnicodeDecodeError as exc:
            self._reject(ConfigError(self.path, None, f"is not UTF-8 text: {exc.reason}"))
            return False
        except ConfigError as exc:
            self._reject(exc)
            return False
        self._last_content = content
        self._last_error = None
        self.state.apply_config(config, self.path)
        return True

    def _reject(self, error: ConfigError) -> None:
        text = str(error)
        if text == self._last_error:
            return  # said once; polling must not repeat it every second
        self._last_error = text
        self._log.error(
            "new config rejected; the running config stays",
            file=error.source,
            key=error.key,
            problem=error.problem,
            detail=text,
        )
