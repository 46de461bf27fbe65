"""Issue 9 item 3: a client's copy of a header ALB sets never reaches the target, whatever
its spelling. CGI/WSGI servers fold `_` to `-` (both become `HTTP_X_AMZN_OIDC_DATA`), so an
underscore spelling is the same header to the app: a forged identity if it got through."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from foundation_helpers import address, proxy_settings, raw_http

from albauth.config.model import Settings

from .helpers import EchoUpstream, StartAlbauth
from .wsgi_target import wsgi_target

# One line per spelling: adding a case is adding a line.
FORGED_SPELLINGS = [
    "X_Amzn_Oidc_Identity",
    "x_amzn_oidc_data",
    "x-amzn_oidc-identity",
    "X-Amzn-Oidc_Accesstoken",
    "x_amzn_oidc_data_extra",
    "X_Forwarded_For",
    "x_forwarded_proto",
    "X-Forwarded_Port",
    "X_Amzn_Trace_Id",
    "x_amzn_mtls_clientcert",
    "X-Amzn-Mtls_Clientcert-Leaf",
    "X-Amzn-Mtls-Clientcert",
    "x-amzn-oidc-identity",
]


def forged_request(names: list[str]) -> bytes:
    lines = "".join(f"{name}: forged-{i}\r\n" for i, name in enumerate(names))
    return f"GET /who HTTP/1.1\r\nHost: app.test\r\n{lines}Connection: close\r\n\r\n".encode()


def forged_values(seen: Any) -> list[str]:
    return [v for v in json.dumps(seen).split('"') if v.startswith("forged-")]


@pytest.mark.parametrize("name", FORGED_SPELLINGS)
async def test_every_spelling_of_albs_headers_is_stripped_before_an_aiohttp_target(
        echo_upstream: EchoUpstream, start_albauth: StartAlbauth, name: str) -> None:
    upstream = await echo_upstream()
    _, port = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    status, _, body = await raw_http(port, forged_request([name]))
    assert status == 200
    assert forged_values(json.loads(body)["headers"]) == []


async def test_every_spelling_of_albs_headers_is_stripped_before_a_wsgi_target(start_albauth: StartAlbauth) -> None:
    with wsgi_target() as url:
        _, port = address(await start_albauth(proxy_settings({"app": [url]})))
        for name in FORGED_SPELLINGS:
            status, _, body = await raw_http(port, forged_request([name]))
            assert status == 200
            environ = json.loads(body)
            assert forged_values(environ) == [], (name, environ)
    # albauth's own values are what the app reads
    assert environ["HTTP_X_FORWARDED_FOR"] == "127.0.0.1"
    assert environ["HTTP_X_FORWARDED_PROTO"] == "http"


async def test_other_headers_with_underscores_still_pass(echo_upstream: EchoUpstream,
                                                         start_albauth: StartAlbauth) -> None:
    """Only ALB's families are stripped; ALB forwards other underscore names (its
    drop_invalid_header_fields attribute is off by default)."""
    upstream = await echo_upstream()
    _, port = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    status, _, body = await raw_http(port, b"GET / HTTP/1.1\r\nHost: a\r\nX_Custom_Thing: kept\r\n"
                                           b"X-Amzn-Other_Thing: kept\r\nConnection: close\r\n\r\n")
    assert status == 200
    names = {k for k, _ in json.loads(body)["headers"]}
    assert {"X_Custom_Thing", "X-Amzn-Other_Thing"} <= names


def _keep_client_oidc_headers(settings: Settings) -> Settings:
    return dataclasses.replace(settings, proxy=dataclasses.replace(settings.proxy,
                                                                   strip_oidc_headers_everywhere=False))


async def test_without_strip_everywhere_exact_names_pass_and_underscore_spellings_do_not(
        start_albauth: StartAlbauth) -> None:
    """`proxy.strip_oidc_headers_everywhere: false` passes a client's x-amzn-oidc-* through on
    rules without authentication, as ALB does (spec 9 #14); the `_` spellings never pass."""
    with wsgi_target() as url:
        _, port = address(await start_albauth(_keep_client_oidc_headers(proxy_settings({"app": [url]}))))
        status, _, body = await raw_http(port, b"GET / HTTP/1.1\r\nHost: a\r\nX-Amzn-Oidc-Identity: alice\r\n"
                                               b"x_amzn_oidc_identity: forged-0\r\nConnection: close\r\n\r\n")
    assert status == 200
    assert json.loads(body)["HTTP_X_AMZN_OIDC_IDENTITY"] == "alice"


# --- drop_invalid_header_fields (ALB's routing.http.drop_invalid_header_fields.enabled) --

INVALID_NAMES = ["X_Custom", "X.Dotted", "X~Tilde", "X!Bang", "X*Star", "X'Quote", "X|Pipe", "X^Caret", "X`Tick"]


def _drop_invalid(settings: Settings, enabled: bool) -> Settings:
    return dataclasses.replace(settings, proxy=dataclasses.replace(settings.proxy,
                                                                   drop_invalid_header_fields=enabled))


@pytest.mark.parametrize("enabled", [False, True])
async def test_drop_invalid_header_fields_drops_names_outside_alnum_and_dash(
        echo_upstream: EchoUpstream, start_albauth: StartAlbauth, enabled: bool) -> None:
    """Off (ALB's default): every name the HTTP grammar allows is forwarded. On: names with
    characters outside [-A-Za-z0-9] are not; valid ones still are."""
    upstream = await echo_upstream()
    settings = _drop_invalid(proxy_settings({"app": [str(upstream.make_url(""))]}), enabled)
    _, port = address(await start_albauth(settings))
    lines = "".join(f"{name}: v\r\n" for name in INVALID_NAMES)
    status, _, body = await raw_http(port, f"GET / HTTP/1.1\r\nHost: a\r\n{lines}X-Valid-9: kept\r\n"
                                           "Connection: close\r\n\r\n".encode())
    assert status == 200
    names = {k for k, _ in json.loads(body)["headers"]}
    assert "X-Valid-9" in names
    assert (names & set(INVALID_NAMES)) == (set() if enabled else set(INVALID_NAMES))


def test_drop_invalid_header_fields_is_off_by_default() -> None:
    assert proxy_settings({"app": ["http://127.0.0.1:1"]}).proxy.drop_invalid_header_fields is False
