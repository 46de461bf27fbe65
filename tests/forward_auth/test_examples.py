"""The forward-auth examples in deploy/forward-auth/ load and say what they do. nginx.conf
and Caddyfile are run for real by test_nginx.py and test_caddy.py."""

from __future__ import annotations

from typing import Any

import yaml

from albauth.config.load import load_file
from albauth.config.model import ForwardAction
from albauth.rules import RequestFacts, RuleTable

from .controllers import EXAMPLES

IDENTITY = ["x-amzn-oidc-accesstoken", "x-amzn-oidc-identity", "x-amzn-oidc-data"]
ENV = {"OIDC_CLIENT_SECRET": "s", "ALBAUTH_SESSION_SECRET": "example-session-secret-0123456789abcdef"}


def _decision(table: RuleTable, path: str) -> str:
    rule = table.match(RequestFacts(host="app.example.com", path=path, method="GET", headers={}, query=(),
                                    peer="203.0.113.9"))
    assert rule is not None
    if not isinstance(rule.action, ForwardAction):
        return "403"
    return "401 or 200 with identity" if rule.authenticate else "200"


def test_albauth_config_loads_and_decides_as_its_comments_say() -> None:
    settings = load_file(str(EXAMPLES / "albauth.yaml"), ENV)
    assert settings.forward_auth.enabled
    assert settings.forward_auth.allowed_redirect_domains == (".example.com",)
    listener = settings.listeners[0]
    assert listener.trust_forwarded_proto and listener.port == 4180
    table = RuleTable(listener.rules)
    assert _decision(table, "/public/x") == "200"
    assert _decision(table, "/internal/x") == "403"
    assert _decision(table, "/app") == "401 or 200 with identity"


def _annotations(doc: dict[str, Any]) -> dict[str, str]:
    return dict(doc["metadata"].get("annotations") or {})


def test_ingress_nginx_has_the_forward_auth_annotations_and_routes_oauth2_to_albauth() -> None:
    docs = [d for d in yaml.safe_load_all((EXAMPLES / "ingress-nginx.yaml").read_text()) if d]
    assert [d["kind"] for d in docs] == ["Ingress", "Ingress"]
    app, oauth2 = docs
    notes = _annotations(app)
    assert notes["nginx.ingress.kubernetes.io/auth-url"].endswith(":4180/oauth2/auth")
    assert notes["nginx.ingress.kubernetes.io/auth-signin"].startswith("https://$host/oauth2/start?rd=")
    assert notes["nginx.ingress.kubernetes.io/auth-response-headers"].split(",") == IDENTITY
    assert notes["nginx.ingress.kubernetes.io/auth-always-set-cookie"] == "true"
    assert not _annotations(oauth2)  # albauth's own pages are not behind auth-url
    paths = oauth2["spec"]["rules"][0]["http"]["paths"]
    # Not /oauth2/auth: the browser must never read the access token off its answer.
    assert [(p["path"], p["pathType"]) for p in paths] == [("/oauth2/start", "Exact"), ("/oauth2/idpresponse", "Exact")]
    assert {p["backend"]["service"]["name"] for p in paths} == {"albauth"}


def test_traefik_copies_the_identity_headers() -> None:
    doc = yaml.safe_load((EXAMPLES / "traefik.yaml").read_text())
    fwd = doc["http"]["middlewares"]["albauth"]["forwardAuth"]
    assert fwd["address"].endswith("/oauth2/auth") and fwd["authResponseHeaders"] == IDENTITY
    assert fwd["trustForwardHeader"] is False
    assert doc["http"]["routers"]["app"]["middlewares"][-1] == "albauth"
    assert "/oauth2/auth" not in doc["http"]["routers"]["app-oauth2"]["rule"]
    assert "PathPrefix" not in doc["http"]["routers"]["app-oauth2"]["rule"]


def _find(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            found = _find(item, key)
            if found is not None:
                return found
    return None


def test_envoy_asks_with_the_path_prefix_and_copies_the_identity_headers() -> None:
    service = _find(yaml.safe_load((EXAMPLES / "envoy.yaml").read_text()), "http_service")
    assert service["path_prefix"] == "/oauth2/auth"
    upstream = service["authorization_response"]["allowed_upstream_headers"]["patterns"]
    assert [p["exact"] for p in upstream] == IDENTITY
