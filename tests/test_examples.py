"""The example configurations in config/ are valid and do what their comments say.

Each file is checked the way a user would check it (`albauth check-config FILE` in a real
process, with the environment it documents); routing.yaml's rules are also run against the
requests its comments describe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from albauth.config.errors import ConfigError
from albauth.config.load import load_file
from albauth.config.model import FixedResponseAction, ForwardAction, RedirectAction, Rule
from albauth.rules import RequestFacts, RuleTable, parse_query
from tests.support import REPO, run_albauth, self_signed_certificate

EXAMPLES = sorted((REPO / "config").glob("*.yaml"))
SECRET = "example-session-secret-0123456789abcdef"

# The variables each example documents as required (no ${VAR:-default}).
REQUIRED = {
    "sidecar.yaml": {"OIDC_CLIENT_SECRET", "ALBAUTH_SESSION_SECRET"},
    "routing.yaml": {"OIDC_CLIENT_SECRET"},
    "cognito.yaml": {"COGNITO_CLIENT_SECRET"},
    "https.yaml": {"OIDC_CLIENT_SECRET", "ALBAUTH_SESSION_SECRET"},
    "api-jwt.yaml": {"JWKS_URL", "JWT_ISSUER"},
}


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: Any) -> dict[str, str]:
    """A self-signed P-256 certificate and key, as https.yaml expects through the environment."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"), "localhost")
    return {"ALBAUTH_TLS_CERT": cert, "ALBAUTH_TLS_KEY": key}


@pytest.fixture
def example_env(tls_files: dict[str, str]) -> dict[str, str]:
    return {"OIDC_CLIENT_SECRET": "example-client-secret", "COGNITO_CLIENT_SECRET": "example-cognito-secret",
            "ALBAUTH_SESSION_SECRET": SECRET, "JWKS_URL": "https://login.example.com/.well-known/jwks.json",
            "JWT_ISSUER": "https://login.example.com", **tls_files}


def test_every_example_is_covered() -> None:
    assert {p.name for p in EXAMPLES} == set(REQUIRED)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_check_config(path: Path, example_env: dict[str, str]) -> None:
    result = run_albauth("check-config", str(path), env=example_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: OK")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_names_each_variable_it_needs(path: Path, tls_files: dict[str, str]) -> None:
    """Without its secrets an example is refused, and each missing variable is named."""
    with pytest.raises(ConfigError) as caught:
        load_file(str(path), env=tls_files)
    unset = {word for issue in caught.value.issues for word in REQUIRED[path.name] if word in issue.message}
    assert unset == REQUIRED[path.name]
    assert all(issue.file == str(path) for issue in caught.value.issues)


def test_https_example_needs_its_certificate_files(example_env: dict[str, str]) -> None:
    env = {k: v for k, v in example_env.items() if not k.startswith("ALBAUTH_TLS_")}
    result = run_albauth("check-config", str(REPO / "config/https.yaml"), env=env)
    assert result.returncode == 2
    assert "listeners[1].albauth.certificate_file: no such file: /etc/albauth/tls/cert.pem" in result.stderr


# --- routing.yaml does what its comments say -------------------------------------------

@pytest.fixture(scope="module")
def routing() -> RuleTable:
    settings = load_file(str(REPO / "config/routing.yaml"), env={"OIDC_CLIENT_SECRET": "s"})
    return RuleTable(settings.listeners[0].rules)


def route(table: RuleTable, path: str = "/", *, host: str = "app.example.com", method: str = "GET",
          query: str = "", headers: dict[str, str] | None = None, peer: str = "203.0.113.9") -> Rule:
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    facts = RequestFacts(host=host, path=path, method=method, query=parse_query(query), peer=peer,
                         headers=lambda name: [lower[name]] if name in lower else [])
    matched = table.match(facts)
    assert matched is not None
    return matched


def forwards_to(rule: Rule) -> list[tuple[str, int]]:
    assert isinstance(rule.action, ForwardAction)
    return [(g.name, g.weight) for g in rule.action.target_groups]


def test_routing_preflight_bypasses_authentication(routing: RuleTable) -> None:
    rule = route(routing, "/api/orders", method="OPTIONS")
    assert rule.priority == 1 and rule.authenticate is None and forwards_to(rule) == [("app", 1)]


def test_routing_api_denies_and_splits_90_10(routing: RuleTable) -> None:
    rule = route(routing, "/api/orders")
    assert rule.authenticate is not None and rule.authenticate.on_unauthenticated == "deny"
    assert forwards_to(rule) == [("app", 90), ("app-v2", 10)]


def test_routing_browser_paths_authenticate_with_the_same_provider(routing: RuleTable) -> None:
    api, page = route(routing, "/api/x"), route(routing, "/account")
    assert page.priority == 100 and page.authenticate is not None
    assert page.authenticate.on_unauthenticated == "authenticate"
    assert (page.authenticate.issuer, page.authenticate.client_id) == (api.authenticate.issuer,  # type: ignore[union-attr]
                                                                       api.authenticate.client_id)  # type: ignore[union-attr]


def test_routing_health_is_answered_by_the_listener(routing: RuleTable) -> None:
    assert route(routing, "/healthz").action == FixedResponseAction(200, "text/plain", "ok")


def test_routing_old_host_redirects(routing: RuleTable) -> None:
    for host in ("old.example.com", "WWW.OLD.EXAMPLE.COM"):
        action = route(routing, "/a", host=host).action
        assert isinstance(action, RedirectAction)
        assert (action.protocol, action.host, action.status) == ("HTTPS", "www.example.com", 301)


def test_routing_admin_only_from_the_internal_network(routing: RuleTable) -> None:
    assert forwards_to(route(routing, "/admin/users", peer="10.1.2.3")) == [("admin", 1)]
    assert forwards_to(route(routing, "/admin/users", peer="::1")) == [("admin", 1)]
    assert route(routing, "/admin/users", peer="203.0.113.9", headers={"X-Forwarded-For": "10.1.2.3"}).priority == 100


def test_routing_canary_by_header_or_query(routing: RuleTable) -> None:
    assert forwards_to(route(routing, "/page", headers={"X-Canary": "YES"})) == [("app-v2", 1)]
    assert forwards_to(route(routing, "/page", query="VERSION=V2")) == [("app-v2", 1)]
    assert route(routing, "/page", query="version=v3").priority == 100


def test_routing_unknown_host_gets_the_default_json_404(routing: RuleTable) -> None:
    default = route(routing, "/account", host="unknown.example.net")
    assert default.priority is None and default is routing.rules[-1].rule
    assert default.action == FixedResponseAction(404, "application/json", '{"error": "no route"}')
