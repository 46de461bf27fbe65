"""Shared helpers for the configuration tests: a valid document to start from, and
`issue_at`, which holds every refusal to the exact key path (a user reading the message must
be able to find the line to change)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from albauth.config.errors import ConfigError, ConfigIssue
from albauth.config.load import load_text
from albauth.config.model import Settings

REPO = Path(__file__).resolve().parents[2]

FILE = "test.yaml"


SECRET = "x" * 32


OIDC = {
    "Issuer": "https://idp.example.com",
    "AuthorizationEndpoint": "https://idp.example.com/authorize",
    "TokenEndpoint": "https://idp.example.com/token",
    "UserInfoEndpoint": "https://idp.example.com/userinfo",
    "ClientId": "app",
    "ClientSecret": "s3cr3t",
}


COGNITO_ARN = "arn:aws:cognito-idp:eu-west-1:111122223333:userpool/eu-west-1_AbCdEf"


def base_doc() -> dict[str, Any]:
    """A valid file: one loopback HTTP listener (local development, so authenticate is
    allowed), one target group, a default forward and no rules."""
    return {
        "albauth": {"admin_listen": "off", "target_groups": {"app": {"targets": ["http://127.0.0.1:3000"]}}},
        "listeners": [{
            "Protocol": "HTTP", "Port": 8080,
            "albauth": {"address": "127.0.0.1", "local_development": True},
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": "app"}],
        }],
    }


def with_rules(*rules: dict[str, Any]) -> dict[str, Any]:
    doc = base_doc()
    doc["listeners"][0]["Rules"] = list(rules)
    return doc


def a_rule(priority: Any = 10, conditions: list[dict[str, Any]] | None = None,
           actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"Priority": priority,
            "Conditions": conditions if conditions is not None else [{"Field": "path-pattern", "Values": ["/x"]}],
            "Actions": actions if actions is not None else [{"Type": "forward", "TargetGroupArn": "app"}]}


def oidc_actions(**fields: Any) -> list[dict[str, Any]]:
    return [{"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {**OIDC, **fields}},
            {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}]


def load(doc: dict[str, Any], env: dict[str, str] | None = None) -> Settings:
    return settings_from_yaml(yaml.safe_dump(doc, sort_keys=False), env)


def refused(doc: dict[str, Any], env: dict[str, str] | None = None) -> ConfigError:
    return config_error(yaml.safe_dump(doc, sort_keys=False), env)


def issue_at(error: ConfigError, key: str, *words: str, file: str = FILE) -> ConfigIssue:
    """The one issue reported at `key`; its message names the file and key and contains `words`."""
    found = [i for i in error.issues if i.key == key]
    assert found, f"no issue at {key!r}; got: {[str(i) for i in error.issues]}"
    issue = found[0]
    assert issue.file == file
    assert str(issue).startswith(f"{file}: {key}: ")
    for word in words:
        assert word.lower() in issue.message.lower(), (word, issue.message)
    return issue


ENV = {"ALBAUTH_UPSTREAM": "http://127.0.0.1:3000"}


def settings_from_yaml(text: str, env: Mapping[str, str] | None = None, file: str = FILE) -> Settings:
    return load_text(textwrap.dedent(text), file, dict(env or {}))


def config_error(text: str, env: Mapping[str, str] | None = None, file: str = FILE) -> ConfigError:
    """The ConfigError the text raises (fails the test if it loads)."""
    try:
        settings_from_yaml(text, env, file)
    except ConfigError as exc:
        return exc
    raise AssertionError("the configuration loaded, but it should have been refused")


def run_albauth(*args: str, env: Mapping[str, str] | None = None,
                timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`python -m albauth ...` as a real process, with a clean ALBAUTH_* environment plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ALBAUTH_")}
    return subprocess.run([sys.executable, "-m", "albauth", *args], env={**clean, **(env or {})}, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
