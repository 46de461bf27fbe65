"""ALB's load-balancer attributes that shape a forwarded request (spec 5.3), over real HTTP
to a real echo target: X-Forwarded-For modes and client port, Host with and without
preserve_host_header, the TLS version and cipher headers, the idle timeout and the client
keep-alive."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import ssl
from typing import Any

import pytest

from albauth.config.errors import ConfigError
from tests.support import address, raw_http

from .helpers import StartAlbauth, attributes, load_doc, settings_doc


async def _start(start_albauth: StartAlbauth, echo_upstream: Any, pairs: dict[str, str],
                 listener: dict[str, Any] | None = None) -> int:
    upstream = await echo_upstream()
    doc = settings_doc([str(upstream.make_url(""))], listener=listener,
                       load_balancer_attributes=attributes(**pairs))
    return address(await start_albauth(load_doc(doc)))[1]


async def _seen(port: int, headers: str) -> dict[str, list[str]]:
    """The headers the target received, by lower-cased name."""
    status, _, body = await raw_http(port, f"GET / HTTP/1.1\r\n{headers}Connection: close\r\n\r\n".encode())
    assert status == 200
    out: dict[str, list[str]] = {}
    for name, value in json.loads(body)["headers"]:
        out.setdefault(name.lower(), []).append(value)
    return out


XFF = "routing.http.xff_header_processing.mode"
PORT = "routing.http.xff_client_port.enabled"
PEER_PORT = r"127\.0\.0\.1:\d+"


@pytest.mark.parametrize(("pairs", "sent", "expected"), [
    ({}, None, "127.0.0.1"),  # append, ALB's default
    ({}, "203.0.113.7", "203.0.113.7, 127.0.0.1"),
    ({XFF: "append"}, "203.0.113.7", "203.0.113.7, 127.0.0.1"),
    ({XFF: "append", PORT: "true"}, None, PEER_PORT),
    ({XFF: "append", PORT: "true"}, "203.0.113.7", rf"203\.0\.113\.7, {PEER_PORT}"),
    ({XFF: "preserve"}, "203.0.113.7, 10.0.0.1", "203.0.113.7, 10.0.0.1"),
    ({XFF: "preserve"}, None, None),
    ({XFF: "preserve", PORT: "true"}, "203.0.113.7", "203.0.113.7"),  # the port is for append only
    ({XFF: "remove"}, "203.0.113.7", None),
    ({XFF: "remove"}, None, None),
])
async def test_x_forwarded_for_modes(start_albauth: StartAlbauth, echo_upstream: Any, pairs: dict[str, str],
                                     sent: str | None, expected: str | None) -> None:
    port = await _start(start_albauth, echo_upstream, pairs)
    seen = await _seen(port, "Host: a.test\r\n" + (f"X-Forwarded-For: {sent}\r\n" if sent else ""))
    if expected is None:
        assert "x-forwarded-for" not in seen
    else:
        (value,) = seen["x-forwarded-for"]
        assert re.fullmatch(expected, value) if "\\" in expected else value == expected, value


PRESERVE = "routing.http.preserve_host_header.enabled"


@pytest.mark.parametrize(("preserve", "listener_port", "host", "expected"), [
    # AWS's table (Host header preservation): the listener's port decides.
    ("false", "80", "example.com", "example.com"),
    ("false", "443", "example.com", "example.com"),
    ("false", "80", "example.com:8080", "example.com"),  # a default port: the client's port goes
    ("false", "8080", "example.com", "example.com:8080"),  # another port: appended
    ("false", "8080", "example.com:9000", "example.com:9000"),  # unless the client gave one
    ("false", "8080", "[2001:db8::1]", "[2001:db8::1]:8080"),
    ("true", "80", "example.com:8080", "example.com:8080"),
    ("true", "8080", "example.com", "example.com"),
])
async def test_host_header_and_listener_port(start_albauth: StartAlbauth, echo_upstream: Any, preserve: str,
                                             listener_port: str, host: str, expected: str) -> None:
    """The listener's port is what the client connected to: behind a TLS proxy
    (trust_forwarded_proto) that is X-Forwarded-Port, which lets a test be on port 80 or 443."""
    port = await _start(start_albauth, echo_upstream, {PRESERVE: preserve},
                        listener={"albauth": {"address": "127.0.0.1", "trust_forwarded_proto": True}})
    seen = await _seen(port, f"Host: {host}\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: {listener_port}\r\n")
    assert seen["host"] == [expected]


@pytest.mark.parametrize(("enabled", "renamed"), [("true", None), ("true", "X-TLS-Version"), ("false", None)])
async def test_tls_version_and_cipher_suite_headers(start_albauth: StartAlbauth, echo_upstream: Any,
                                                    tls_files: tuple[str, str], enabled: str,
                                                    renamed: str | None) -> None:
    listener: dict[str, Any] = {"Protocol": "HTTPS", "albauth": {
        "address": "127.0.0.1", "certificate_file": tls_files[0], "key_file": tls_files[1]}}
    if renamed:
        listener["ListenerAttributes"] = attributes(**{"routing.http.request.x_amzn_tls_version.header_name": renamed})
    port = await _start(start_albauth, echo_upstream,
                        {"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": enabled}, listener)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    writer.write(b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Amzn-Tls-Version: forged\r\nConnection: close\r\n\r\n")
    raw = await reader.read()
    writer.close()
    seen: dict[str, list[str]] = {}
    for name, value in json.loads(raw.partition(b"\r\n\r\n")[2])["headers"]:
        seen.setdefault(name.lower(), []).append(value)
    version_name = (renamed or "X-Amzn-Tls-Version").lower()
    if enabled == "true":
        assert seen[version_name] == ["TLSv1.2"]
        assert seen["x-amzn-tls-cipher-suite"] == ["ECDHE-ECDSA-AES128-GCM-SHA256"]
    else:
        assert "x-amzn-tls-cipher-suite" not in seen


async def _connection_closed_within(port: int, seconds: float) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        try:
            await asyncio.wait_for(reader.read(), seconds)  # the body, then EOF when closed
            return True
        except TimeoutError:
            return False
    finally:
        writer.close()


async def test_idle_timeout_closes_an_idle_client_connection(start_albauth: StartAlbauth, echo_upstream: Any) -> None:
    """`idle_timeout.timeout_seconds` holds for the client side too, and sets the proxy's."""
    upstream = await echo_upstream()
    doc = settings_doc([str(upstream.make_url(""))],
                       load_balancer_attributes=attributes(**{"idle_timeout.timeout_seconds": "1"}))
    settings = load_doc(doc)
    assert settings.proxy.idle_timeout == 1.0
    port = address(await start_albauth(settings))[1]
    assert await _connection_closed_within(port, 3)
    default_port = await _start(start_albauth, echo_upstream, {})
    assert not await _connection_closed_within(default_port, 2)


async def test_client_keep_alive_ends_a_busy_connection(start_albauth: StartAlbauth, echo_upstream: Any) -> None:
    """`client_keep_alive.seconds` (60 s at least in ALB; shortened here past the parser to
    keep the test short): the first response after it says `Connection: close`."""
    upstream = await echo_upstream()
    doc = settings_doc([str(upstream.make_url(""))],
                       load_balancer_attributes=attributes(**{"client_keep_alive.seconds": "60"}))
    settings = load_doc(doc)
    assert settings.proxy.client_keep_alive == 60.0
    settings = dataclasses.replace(settings, proxy=dataclasses.replace(settings.proxy, client_keep_alive=0.5))
    port = address(await start_albauth(settings))[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    heads = []
    for pause in (0.0, 0.7):
        await asyncio.sleep(pause)
        writer.write(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
        length = int(re.search(r"content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        heads.append(head)
    writer.close()
    assert "connection: close" not in heads[0] and "connection: close" in heads[1]


@pytest.mark.parametrize(("key", "value", "reason"), [
    (XFF, "replace", "append, preserve, remove"),
    (PORT, "1", '"true" or "false"'),
    ("idle_timeout.timeout_seconds", "4001", "1-4000"),
    ("idle_timeout.timeout_seconds", "0", "1-4000"),
    ("client_keep_alive.seconds", "59", "60-604800"),
    ("routing.http.desync_mitigation_mode", "strictest", "not supported"),
    ("routing.http2.enabled", "false", "not supported"),
])
def test_what_alb_refuses_is_refused(key: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_doc(settings_doc(["http://127.0.0.1:1"], load_balancer_attributes=attributes(**{key: value})))
    assert "LoadBalancerAttributes[0]" in str(info.value) and reason in str(info.value), str(info.value)


def test_an_attribute_and_the_proxy_setting_must_agree() -> None:
    doc = settings_doc(["http://127.0.0.1:1"], proxy={"idle_timeout": 30},
                       load_balancer_attributes=attributes(**{"idle_timeout.timeout_seconds": "60"}))
    with pytest.raises(ConfigError) as info:
        load_doc(doc)
    assert "albauth.proxy.idle_timeout" in str(info.value) and "contradicts" in str(info.value)
