"""ALB's listener attributes (`ListenerAttributes`): response headers added to every response,
replacing a target's own value, and `routing.http.response.server.enabled`, over real HTTP.
Values are the examples of AWS's "HTTP header modification" page."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from albauth.config.errors import ConfigError
from tests.support import address, raw_http

from .helpers import StartAlbauth, attributes, fixed, load_doc, settings_doc

PREFIX = "routing.http.response."
# (attribute, value, the response header it sets)
RESPONSE_HEADERS = [
    ("strict_transport_security", "max-age=31536000; includeSubDomains; preload;", "Strict-Transport-Security"),
    ("access_control_allow_origin", "https://example.com", "Access-Control-Allow-Origin"),
    ("access_control_allow_methods", "GET, HEAD, POST, DELETE, CONNECT, OPTIONS, PUT, TRACE, PATCH",
     "Access-Control-Allow-Methods"),
    ("access_control_allow_headers", "*", "Access-Control-Allow-Headers"),
    ("access_control_allow_credentials", "true", "Access-Control-Allow-Credentials"),
    ("access_control_expose_headers", "*", "Access-Control-Expose-Headers"),
    ("access_control_max_age", "86400", "Access-Control-Max-Age"),
    ("content_security_policy", "default-src 'self'", "Content-Security-Policy"),
    ("x_content_type_options", "nosniff", "X-Content-Type-Options"),
    ("x_frame_options", "SAMEORIGIN", "X-Frame-Options"),
]


async def _own_headers(request: web.Request) -> web.Response:
    """A target that sets every one of those headers itself, and a Server of its own."""
    headers = {header: "from-target" for _, _, header in RESPONSE_HEADERS}
    return web.Response(text="own", headers={**headers, "Server": "target/1.0"})


async def _big(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"X-Frame-Options": "from-target"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    await resp.write(b"x" * 300 * 1024)  # over the proxy's read-whole size: streamed
    await resp.write_eof()
    return resp


ROUTES = [("GET", "/own", _own_headers), ("GET", "/big", _big)]


async def _start(start_albauth: StartAlbauth, echo_upstream: Any, pairs: dict[str, str]) -> int:
    upstream = await echo_upstream(ROUTES)
    listener = {"ListenerAttributes": attributes(**pairs), "Rules": [
        {"Priority": 1, "Conditions": [{"Field": "path-pattern", "Values": ["/fixed"]}], "Actions": fixed("hi")},
        {"Priority": 2, "Conditions": [{"Field": "path-pattern", "Values": ["/down"]}],
         "Actions": [{"Type": "forward", "TargetGroupArn": "down"}]},
        {"Priority": 3, "Conditions": [{"Field": "path-pattern", "Values": ["/moved"]}],
         "Actions": [{"Type": "redirect", "RedirectConfig": {"Host": "example.com", "StatusCode": "HTTP_301"}}]},
    ]}
    doc = settings_doc([str(upstream.make_url(""))], listener=listener)
    doc["albauth"]["target_groups"]["down"] = {"targets": ["http://127.0.0.1:1"]}
    return address(await start_albauth(load_doc(doc)))[1]


async def _get(port: int, path: str) -> tuple[int, dict[str, str]]:
    status, headers, _ = await raw_http(port, f"GET {path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
                                        .encode())
    return status, headers


# Every kind of response: relayed whole, streamed, ALB's fixed response, error page, redirect.
PATHS = [("/echo", 200), ("/own", 200), ("/big", 200), ("/fixed", 200), ("/down", 502), ("/moved", 301)]


@pytest.mark.parametrize(("attribute", "value", "header"), RESPONSE_HEADERS)
async def test_response_header_attribute_is_on_every_response(start_albauth: StartAlbauth, echo_upstream: Any,
                                                              attribute: str, value: str, header: str) -> None:
    """ALB: "If the response from the target includes the HTTP response header, the load
    balancer updates the header value to be the configured value.\""""
    port = await _start(start_albauth, echo_upstream, {f"{PREFIX}{attribute}.header_value": value})
    for path, status in PATHS:
        got, headers = await _get(port, path)
        assert (got, headers.get(header.lower())) == (status, value), path


async def test_without_attributes_responses_are_left_alone(start_albauth: StartAlbauth, echo_upstream: Any) -> None:
    port = await _start(start_albauth, echo_upstream, {})
    _, headers = await _get(port, "/own")
    assert headers["x-frame-options"] == "from-target" and headers["server"] == "target/1.0"
    _, headers = await _get(port, "/fixed")
    assert "x-frame-options" not in headers and headers["server"] == "awselb/2.0"


@pytest.mark.parametrize(("enabled", "own_server"), [("true", "awselb/2.0"), ("false", None)])
async def test_server_enabled_attribute(start_albauth: StartAlbauth, echo_upstream: Any, enabled: str,
                                        own_server: str | None) -> None:
    """`routing.http.response.server.enabled`: ALB's own answers carry `Server: awselb/2.0` or
    no Server at all; a target's own Server field is relayed either way."""
    port = await _start(start_albauth, echo_upstream, {f"{PREFIX}server.enabled": enabled})
    for path in ("/fixed", "/down", "/moved"):
        _, headers = await _get(port, path)
        assert headers.get("server") == own_server, path
    _, headers = await _get(port, "/own")
    assert headers["server"] == "target/1.0"
    _, headers = await _get(port, "/big")  # streamed: the target's (aiohttp's) own
    assert headers["server"].startswith("Python/")


def _refusal(pairs: dict[str, Any], protocol: str = "HTTP") -> str:
    doc = settings_doc(["http://127.0.0.1:1"], listener={"ListenerAttributes": attributes(**pairs)})
    if protocol == "HTTPS":  # rename refusals are about the protocol, not the certificate
        doc["listeners"][0]["Protocol"] = "HTTPS"
    with pytest.raises(ConfigError) as info:
        load_doc(doc)
    return str(info.value)


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("routing.http.response.x_content_type_options.header_value", "sniff", "nosniff only"),
    ("routing.http.response.x_frame_options.header_value", "ALLOWALL", "DENY, SAMEORIGIN"),
    ("routing.http.response.access_control_allow_credentials.header_value", "false", "true only"),
    ("routing.http.response.access_control_max_age.header_value", "86401", "0-86400"),
    ("routing.http.response.access_control_allow_methods.header_value", "GET, FETCH", "FETCH"),
    ("routing.http.response.content_security_policy.header_value", "a\r\nSet-Cookie: x=1", "no line breaks"),
    ("routing.http.response.server.enabled", "yes", '"true" or "false"'),
    ("routing.http.response.x_xss_protection.header_value", "1", "not an Application Load Balancer listener"),
    ("tcp.idle_timeout.seconds", "350", "not an Application Load Balancer listener"),
    ("routing.http.request.x_amzn_tls_version.header_name", "X-TLS-Version", "HTTPS listeners only"),
])
def test_what_alb_refuses_is_refused(key: str, value: str, reason: str) -> None:
    message = _refusal({key: value})
    assert "ListenerAttributes[0]" in message and reason in message, message


def test_a_rename_must_be_a_header_name() -> None:
    message = _refusal({"routing.http.request.x_amzn_tls_version.header_name": "tls version"}, "HTTPS")
    assert "ListenerAttributes[0].Value" in message and "letters, digits and hyphens" in message
