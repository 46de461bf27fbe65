from __future__ import annotations

import pytest

from albauth.devidp.uri_patterns import uri_matches


@pytest.mark.parametrize("uri, pattern", [
    ("http://localhost:8080/oauth2/idpresponse", "http://localhost:*/oauth2/idpresponse"),
    ("https://app.example.com/oauth2/idpresponse", "https://*/oauth2/idpresponse"),
    ("https://app.example.com:8443/oauth2/idpresponse", "https://*/oauth2/idpresponse"),
    ("http://127.0.0.1:3000", "http://127.0.0.1:*"),
    ("http://127.0.0.1:3000/signed-out?x=1", "http://127.0.0.1:*"),
    ("https://exact.example/cb", "https://exact.example/cb"),
    ("https://app.test/", "https://app.test/*"),
    ("https://app.test/signed-out/again?x=1", "https://app.test/*"),
])
def test_matches(uri: str, pattern: str) -> None:
    assert uri_matches(uri, pattern)


@pytest.mark.parametrize("uri, pattern", [
    ("http://localhost:1@evil.example/oauth2/idpresponse", "http://localhost:*/oauth2/idpresponse"),
    ("https://evil.example/x/oauth2/idpresponse", "https://*/oauth2/idpresponse"),
    ("https://evil.example/?/oauth2/idpresponse", "https://*/oauth2/idpresponse"),
    ("https://app.example.com/oauth2/idpresponse?x=1", "https://*/oauth2/idpresponse"),
    ("http://localhost:x@evil.example/", "http://localhost:*"),
    ("http://localhost.evil.example/", "http://localhost:*"),
    ("https://exact.example/cb/", "https://exact.example/cb"),
    ("http://app.example.com/oauth2/idpresponse", "https://*/oauth2/idpresponse"),
    ("https://app.test.evil.example/", "https://app.test/*"),
    ("https://app.test@evil.example/", "https://app.test/*"),
    ("https://app.test", "https://app.test/*"),
])
def test_does_not_match(uri: str, pattern: str) -> None:
    assert not uri_matches(uri, pattern)
