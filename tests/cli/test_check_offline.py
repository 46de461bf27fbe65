"""`albauth check-config --offline FILE`: unset variables and missing files are notes."""

from __future__ import annotations

from pathlib import Path

from .helpers import albauth_sync, write

CONFIG = """\
albauth:
  session: {secrets: ["${SESSION_SECRET}"]}
  target_groups: {app: {targets: ["${APP_URL:-http://127.0.0.1:3000}"]}}
listeners:
  - Protocol: HTTPS
    Port: 8443
    albauth: {certificate_file: /etc/albauth/tls/cert.pem, key_file: "${TLS_KEY_FILE}"}
    DefaultActions:
      - Type: authenticate-oidc
        Order: 1
        AuthenticateOidcConfig:
          Issuer: https://idp.example.com
          AuthorizationEndpoint: https://idp.example.com/authorize
          TokenEndpoint: https://idp.example.com/token
          UserInfoEndpoint: https://idp.example.com/userinfo
          ClientId: app
          ClientSecret: "${CLIENT_SECRET}"
          SessionTimeout: "${SESSION_TIMEOUT:-3600}"
      - {Type: forward, Order: 2, TargetGroupArn: app}
  - Protocol: HTTPS
    Port: 9443
    albauth: {certificate_file: "${TLS_CERT_FILE}", key_file: "${TLS_KEY_FILE}"}
    DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "404"}}]
"""


def test_offline_notes_unset_variables_and_missing_files_and_exits_0(tmp_path: Path) -> None:
    path = write(tmp_path / "albauth.yaml", CONFIG)
    online = albauth_sync("check-config", path)
    assert online.returncode == 2
    offline = albauth_sync("check-config", "--offline", path)
    assert offline.returncode == 0, offline.stderr
    assert offline.stderr == ""
    assert "OK offline (2 listener(s), 2 rule(s)); 6 note(s)" in offline.stdout
    notes = [line for line in offline.stdout.splitlines() if line.startswith("  note: ")]
    assert len(notes) == 6, offline.stdout
    for expected in ("albauth.session.secrets[0]: environment variable SESSION_SECRET is not set",
                     "AuthenticateOidcConfig.ClientSecret: environment variable CLIENT_SECRET is not set",
                     "listeners[0].albauth.key_file: environment variable TLS_KEY_FILE is not set",
                     "listeners[0].albauth.certificate_file: no such file: /etc/albauth/tls/cert.pem",
                     "listeners[1].albauth.certificate_file: environment variable TLS_CERT_FILE is not set",
                     "listeners[1].albauth.key_file: environment variable TLS_KEY_FILE is not set"):
        assert any(expected in note for note in notes), (expected, notes)


def test_offline_ignores_the_environment_and_uses_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "albauth.yaml", CONFIG)
    # Set here, SESSION_TIMEOUT=0 would be refused; offline, the file's default (3600) is checked.
    offline = albauth_sync("check-config", "--offline", path, env={"SESSION_TIMEOUT": "0"})
    assert offline.returncode == 0, offline.stderr


def test_offline_still_reports_the_files_own_problems_with_the_notes(tmp_path: Path) -> None:
    path = write(tmp_path / "albauth.yaml", CONFIG.replace("SessionTimeout: \"${SESSION_TIMEOUT:-3600}\"",
                                                          "SessionTimeout: 0"))
    result = albauth_sync("check-config", "--offline", path)
    assert result.returncode == 2 and result.stdout == ""
    assert "1 problem(s)" in result.stderr and "SessionTimeout: must be between 1 and 604800" in result.stderr
    assert result.stderr.count("note: ") == 6


def test_offline_needs_a_file_and_help_has_examples() -> None:
    result = albauth_sync("check-config", "--offline")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    helped = albauth_sync("check-config", "--help")
    assert "--offline" in helped.stdout and "examples:" in helped.stdout and "exit status" in helped.stdout
