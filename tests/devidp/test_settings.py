"""Users and clients from YAML: the built-in default, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from albauth.config.errors import ConfigError
from albauth.devidp import IdpUser, load_idp_settings
from albauth.devidp.settings import default_sub


def test_built_in_default_has_three_demo_users_and_the_dev_client() -> None:
    s = load_idp_settings(None, "http://127.0.0.1:9000/")
    assert s.issuer == "http://127.0.0.1:9000"
    assert [(u.username, u.password) for u in s.users] == [("alice", "alice"), ("bob", "bob"), ("carol", "carol")]
    assert len({u.groups for u in s.users}) == 3
    (client,) = s.clients
    assert client.client_id == "albauth-dev" and client.client_secret == "albauth-dev-secret"
    assert client.issue_refresh_tokens and not client.rotate_refresh_tokens
    assert (s.access_token_ttl, s.id_token_ttl, s.refresh_token_ttl, s.code_ttl) == (300, 300, 86400, 60)


def test_default_sub_is_a_stable_uuid5() -> None:
    assert IdpUser("alice", "pw").sub == default_sub("alice") == IdpUser("alice", "other").sub
    assert IdpUser("alice", "pw", sub="fixed").sub == "fixed"


GOOD = """
issuer: http://idp.example:9000
access_token_ttl: 30
users:
  - username: dana
    password: secret
    sub: 6f1c-dana
    email: dana@example.com
    groups: [ops]
    claims: {department: Ops, level: 3}
clients:
  - client_id: app
    client_secret: app-secret
    redirect_uris: ["https://app.example.com/oauth2/idpresponse"]
    rotate_refresh_tokens: true
"""


def test_a_file_is_read_and_the_issuer_argument_wins(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(GOOD)
    s = load_idp_settings(str(path), "http://127.0.0.1:7000")
    assert s.issuer == "http://127.0.0.1:7000"
    assert s.access_token_ttl == 30 and s.id_token_ttl == 300
    (dana,) = s.users
    assert dana.sub == "6f1c-dana" and dana.name is None
    assert dict(dana.claims) == {"department": "Ops", "level": 3}
    assert s.clients[0].rotate_refresh_tokens and s.clients[0].post_logout_redirect_uris == ()


def issues_of(tmp_path: Path, text: str) -> list[tuple[str, str, str]]:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_idp_settings(str(path), "http://127.0.0.1:9000")
    assert all(i.file == str(path) for i in info.value.issues)
    assert str(path) in str(info.value)
    return [(i.file, i.key, i.message) for i in info.value.issues]


def test_every_problem_is_reported_with_its_key_path(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, """
access_token_ttl: -5
colour: blue
users:
  - username: alice
    password: alice
  - username: bob
    groups: admins
  - username: alice
    password: x
    claims: {sub: root}
clients:
  - client_id: app
    redirect_uris: [ftp://nope]
    issue_refresh_tokens: "yes"
""")
    keys = {key: message for _, key, message in issues}
    assert "access_token_ttl" in keys and "positive" in keys["access_token_ttl"]
    assert "colour" in keys and "unknown key" in keys["colour"]
    assert keys["users[1].password"] == "required"
    assert "users[1].groups" in keys
    assert "users[2].claims.sub" in keys
    assert "duplicate" in keys["users[2].username"]
    assert keys["clients[0].client_secret"] == "required"
    assert "clients[0].redirect_uris[0]" in keys
    assert "clients[0].issue_refresh_tokens" in keys


def test_missing_users_and_clients(tmp_path: Path) -> None:
    keys = [key for _, key, _ in issues_of(tmp_path, "issuer: http://x\n")]
    assert keys == ["users", "clients"]


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    ((_, key, message),) = issues_of(tmp_path, "users: [unclosed\n")
    assert key == "" and "not valid YAML" in message


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    ((_, _, message),) = issues_of(tmp_path, "- just\n- a list\n")
    assert "mapping" in message


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_idp_settings(str(tmp_path / "absent.yaml"), "http://127.0.0.1:9000")
    assert "cannot read" in str(info.value)
