"""Request fields a client controls that end up in albauth's own responses: the `Host`
header and, behind a trusted TLS-terminating proxy, X-Forwarded-Proto/-Port."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from .conftest import StartAlb

_NO_VERIFY = ssl.create_default_context()
_NO_VERIFY.check_hostname = False
_NO_VERIFY.verify_mode = ssl.CERT_NONE


async def send(port: int, head: bytes, *, tls: bool = True) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=_NO_VERIFY if tls else None,
                                                   server_hostname="app.test" if tls else None)
    writer.write(head)
    try:
        data = await asyncio.wait_for(reader.read(-1), 10)
    finally:
        writer.close()
    raw_head, _, body = data.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


# Not UTF-8 (aiohttp hands these on as surrogates), and UTF-8 that is not a host name.
NOT_ASCII_HOSTS = [b"app\xff.test", b"\xc3(.test", b"app.test\x80", b"\xe9t\xe9.test", b"\xc3\xa9t\xc3\xa9.test"]


@pytest.mark.parametrize("host", NOT_ASCII_HOSTS)
async def test_a_host_header_that_is_not_ascii_is_400_not_500(start_alb: StartAlb, host: bytes) -> None:
    """A host name is ASCII (RFC 3986 3.2.2); these reached the login redirect and failed there."""
    alb = await start_alb()
    status, headers, _ = await send(alb.port, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
    assert (status, headers.get("server")) == (400, "awselb/2.0")


# (X-Forwarded-Proto lines, X-Forwarded-Port lines, the redirect's scheme://host:port)
FORWARDED = [
    ([], [], "https://app.test:443"),
    (["https"], ["1@evil.example, 443"], "https://app.test:443"),
    (["https"], ["443, 1@evil.example"], "https://app.test:443"),
    (["https"], ["8443"], "https://app.test:8443"),
    (["https"], ["1, 8443"], "https://app.test:8443"),
    (["https"], ["1", "8443"], "https://app.test:8443"),
    (["https"], ["0"], "https://app.test:443"),
    (["https"], ["65536"], "https://app.test:443"),
    (["https"], ["+443"], "https://app.test:443"),
    (["https"], ["443/evil"], "https://app.test:443"),
    (["https"], ["00000000000000000443"], "https://app.test:443"),
    (["http"], ["x"], "http://app.test:80"),
    (["https, http"], [], "http://app.test:80"),
    (["http, https"], [], "https://app.test:443"),
    (["https", "http"], ["8080"], "http://app.test:8080"),
    (["javascript"], [], "https://app.test:443"),
]


@pytest.mark.parametrize(("protos", "ports", "origin"), FORWARDED)
async def test_forwarded_proto_and_port_are_the_nearest_proxys_and_a_port_is_a_number(
        start_alb: StartAlb, protos: list[str], ports: list[str], origin: str) -> None:
    """Behind a trusted TLS proxy the redirect action's #{protocol}/#{port} come from
    X-Forwarded-Proto/-Port: only the value the nearest proxy added (the last), and only a
    port number; anything else is the scheme's default port."""
    redirect = {"Type": "redirect", "Order": 1, "RedirectConfig": {
        "Protocol": "#{protocol}", "Port": "#{port}", "Host": "#{host}", "Path": "/x", "StatusCode": "HTTP_302"}}
    alb = await start_alb(default=[redirect], listener={
        "Protocol": "HTTP", "albauth": {"address": "0.0.0.0", "trust_forwarded_proto": True}})
    lines = "".join(f"X-Forwarded-Proto: {v}\r\n" for v in protos) + "".join(
        f"X-Forwarded-Port: {v}\r\n" for v in ports)
    status, headers, _ = await send(alb.port, f"GET / HTTP/1.1\r\nHost: app.test\r\n{lines}"
                                              "Connection: close\r\n\r\n".encode(), tls=False)
    assert (status, headers["location"]) == (302, f"{origin}/x")
