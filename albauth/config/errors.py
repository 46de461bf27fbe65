"""Configuration errors that name the file, the key path and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigIssue:
    file: str  # path of the YAML file, or "environment" for ALBAUTH_* variables
    key: str  # dotted key path, e.g. "listeners[0].rules[2].Actions[0].AuthenticateOidcConfig.SessionTimeout"
    message: str
    # The problem is in the environment the configuration meets (an unset ${VAR}, a file it
    # names that is missing here), not in the file itself: `check-config --offline` reports
    # it as a note, since CI pipelines lack the secrets and certificates of production.
    environmental: bool = False

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}" if self.key else f"{self.file}: {self.message}"


class ConfigError(Exception):
    """Every problem found in one configuration, reported together."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))
