"""Typed reads from a parsed document that record every problem instead of stopping at the first."""

from __future__ import annotations

import os
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from albauth.config.errors import ConfigError, ConfigIssue


class Checker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[ConfigIssue] = []

    def issue(self, key: str, message: str, *, environmental: bool = False) -> None:
        self.issues.append(ConfigIssue(self.file, key, message, environmental))

    def environment_issue(self, key: str, message: str) -> None:
        """A problem of the environment, not of the file (see ConfigIssue.environmental)."""
        self.issue(key, message, environmental=True)

    def existing_file(self, value: str | None, path: str) -> None:
        """A file the configuration names must exist where albauth runs."""
        if value and not os.path.isfile(value):
            self.environment_issue(path, f"no such file: {value}")

    def raise_if_any(self) -> None:
        if self.issues:
            raise ConfigError(self.issues)

    def mapping(self, value: Any, path: str, *, required: bool = False,
                known: frozenset[str] | None = None, what: str = "key") -> TypeGuard[dict[str, Any]]:
        """True for a mapping; with `known`, every other key is reported as an unknown `what`
        (a typo such as `SesionTimeout` must not silently fall back to ALB's default)."""
        if value is None:
            if required:
                self.issue(path, "is required")
            return False
        if not isinstance(value, dict):
            self.issue(path, f"must be a mapping (got {type(value).__name__})")
            return False
        if known is not None:
            for key in value:
                if key not in known:
                    self.issue(f"{path}.{key}" if path else str(key),
                               f"unknown {what} (expected one of: {', '.join(sorted(known))})")
        return True

    def list_of(self, value: Any, path: str, *, required: bool = False) -> list[Any]:
        if value is None:
            if required:
                self.issue(path, "is required")
            return []
        if not isinstance(value, list):
            self.issue(path, f"must be a list (got {type(value).__name__})")
            return []
        if required and not value:
            self.issue(path, "must not be empty")
        return value

    def string(self, value: Any, path: str, *, required: bool = False, hint: str = "") -> str | None:
        if value is None or value == "":
            if required:
                self.issue(path, "is required" + (f": {hint}" if hint else ""))
            return None
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            self.issue(path, f"must be a string (got {type(value).__name__})")
            return None
        return str(value)

    def integer(self, value: Any, path: str, low: int, high: int, *,
                allow_numeric_string: bool = True) -> int | None:
        if value is None:
            return None
        if isinstance(value, str) and allow_numeric_string and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.issue(path, f"must be a whole number (got {value!r})")
            return None
        if not low <= value <= high:
            self.issue(path, f"must be between {low} and {high} (got {value})")
            return None
        return value

    def number(self, value: Any, path: str, low: float, high: float) -> float | None:
        try:
            f = float(value)
        except (TypeError, ValueError):
            self.issue(path, f"must be a number (got {value!r})")
            return None
        if not low <= f <= high:
            self.issue(path, f"must be between {low} and {high} (got {f})")
            return None
        return f

    def choice(self, value: Any, path: str, allowed: tuple[str, ...], message: str) -> str | None:
        """`value` when it is one of `allowed`; else the issue `message` at `path`, and None."""
        if isinstance(value, str) and value in allowed:
            return value
        self.issue(path, message)
        return None

    def boolean(self, value: Any, path: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            return value.lower() in ("true", "yes", "1", "on")
        self.issue(path, f"must be true or false (got {value!r})")
        return False

    def url(self, value: Any, path: str, *, required: bool = False) -> str | None:
        text = self.string(value, path, required=required)
        if text is None:
            return None
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
        except ValueError as exc:
            self.issue(path, f"is not a valid URL ({exc}): {text!r}")
            return None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.issue(path, f"must be a full http(s):// URL (got {text!r})")
            return None
        return text

    def host_port(self, value: Any, path: str, default_host: str = "0.0.0.0") -> tuple[str, int] | None:
        text = self.string(value, path, required=True)
        if text is None:
            return None
        host, sep, port = text.rpartition(":")
        if not sep:
            host, port = default_host, text
        host = host.strip("[]") or default_host
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            self.issue(path, f"must be host:port, e.g. 127.0.0.1:8080 (got {text!r})")
            return None
        return host, int(port)
