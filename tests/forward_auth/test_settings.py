"""albauth.forward_auth in the configuration."""

from __future__ import annotations

import ipaddress

from tests.support import config_error, settings_from_yaml

BASE = """
listeners:
  - Protocol: HTTP
    Port: 8080
    DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200"}}]
"""


def test_defaults_off_loopback_only_no_other_domains() -> None:
    fa = settings_from_yaml(BASE).forward_auth
    assert fa.enabled is False
    assert fa.trusted_proxies == (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
    assert fa.allowed_redirect_domains == ()


def test_parsed() -> None:
    fa = settings_from_yaml("""
albauth:
  forward_auth:
    enabled: true
    trusted_proxies: [10.0.0.0/8, 192.168.1.7, "fd00::/8"]
    allowed_redirect_domains: [.Example.com, app.test]
""" + BASE).forward_auth
    assert fa.enabled
    assert fa.trusted_proxies == tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "192.168.1.7/32", "fd00::/8"))
    assert fa.allowed_redirect_domains == (".example.com", "app.test")


def test_bad_values_are_reported_with_their_key() -> None:
    err = str(config_error("""
albauth:
  forward_auth:
    enabled: maybe
    trusted_proxies: [not-an-address]
    allowed_redirect_domains: ["https://evil.test/", ".", "*.example.com"]
    trusted: []
""" + BASE))
    for key in ("forward_auth.enabled", "trusted_proxies[0]", "allowed_redirect_domains[0]",
                "allowed_redirect_domains[1]", "allowed_redirect_domains[2]", "forward_auth.trusted"):
        assert key in err, key
