"""`albauth check-config`: exit status and messages, as a real process."""

from __future__ import annotations

from typing import Any

import yaml

from .helpers import (
    ENV,
    REPO,
    a_rule,
    oidc_actions,
    run_albauth,
    with_rules,
)


def test_check_config_exits_0_on_a_good_file(tmp_path: Any) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(with_rules(a_rule())))
    result = run_albauth("check-config", str(path))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and str(path) in result.stdout


def test_check_config_exits_2_with_every_message_on_stderr(tmp_path: Any) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(with_rules(a_rule(0), a_rule(actions=oidc_actions(SessionTimeout=0)))))
    result = run_albauth("check-config", str(path))
    assert result.returncode == 2
    assert f"{path}: listeners[0].Rules[0].Priority: " in result.stderr
    assert f"{path}: listeners[0].Rules[1].Actions[0].AuthenticateOidcConfig.SessionTimeout: " in result.stderr
    assert "2 problem(s)" in result.stderr
    assert result.stdout == ""


def test_check_config_without_a_file_checks_the_environment() -> None:
    result = run_albauth("check-config", env={"ALBAUTH_SESSION_TIMEOUT": "5"})
    assert result.returncode == 2
    assert "environment: ALBAUTH_UPSTREAM: " in result.stderr
    assert run_albauth("check-config", env=ENV).returncode == 0


def test_check_config_on_a_missing_file_exits_2() -> None:
    result = run_albauth("check-config", str(REPO / "no-such-file.yaml"))
    assert result.returncode == 2 and "cannot read the file" in result.stderr
