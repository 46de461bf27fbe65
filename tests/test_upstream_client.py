"""albauth's own HTTP/1.1 client to targets (`albauth.upstream`), through a real albauth.

Targets here are written against raw sockets, so each test can misbehave exactly as a real
target might (close an idle connection, stop half way, send 1xx, a huge head...), and can
count the connections it was given.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import re
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from foundation_helpers import address, proxy_settings, raw_http

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawTarget:
    """A target on 127.0.0.1 that runs `handle(reader, writer)` for every connection."""

    def __init__(self, handle: Handler) -> None:
        self.handle = handle
        self.connections = 0
        self.closed_by_peer = asyncio.Event()  # albauth closed one of our connections
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            await self.handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self.server.close()
        for writer in self._writers:
            writer.close()


@pytest.fixture
async def raw_target() -> AsyncIterator[Callable[[Handler], Awaitable[RawTarget]]]:
    started: list[RawTarget] = []

    async def start(handle: Handler) -> RawTarget:
        target = RawTarget(handle)
        await target.start()
        started.append(target)
        return target

    yield start
    for target in started:
        target.close()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


async def albauth_for(start_albauth: Any, target: RawTarget, proxy: str = "") -> tuple[str, int]:
    return address(await start_albauth(proxy_settings({"app": [target.url]}, proxy=proxy)))


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """One request (head, body) as the target received it; None when the connection ended."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if length:
        return head, await reader.readexactly(int(length.group(1)))
    if re.search(rb"(?i)\r\ntransfer-encoding: *chunked", head):
        return head, await reader.readuntil(b"\r\n0\r\n\r\n")  # raw chunked framing, good enough here
    return head, b""


def answer(body: bytes = b"ok", extra: bytes = b"", status: bytes = b"200 OK") -> bytes:
    return b"HTTP/1.1 %b\r\nContent-Length: %d\r\n%b\r\n%b" % (status, len(body), extra, body)


async def serve_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await read_request(reader) is not None:
        writer.write(answer())
        await writer.drain()


# --- Keep-alive and the pool ------------------------------------------------------------

async def test_sequential_requests_share_one_keep_alive_connection(raw_target, start_albauth, client) -> None:
    target = await raw_target(serve_ok)
    base, _ = await albauth_for(start_albauth, target)
    for _ in range(20):
        async with client.get(base + "/") as resp:
            assert resp.status == 200 and await resp.read() == b"ok"
    assert target.connections == 1


async def test_connection_close_from_the_target_is_honoured(raw_target, start_albauth, client) -> None:
    """`Connection: close` (the target then keeps the socket open anyway): never reused."""

    async def close_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(extra=b"Connection: close\r\n"))
        await reader.read()  # until albauth closes

    target = await raw_target(close_each)
    base, _ = await albauth_for(start_albauth, target)
    for _ in range(3):
        async with client.get(base + "/") as resp:
            assert resp.status == 200 and await resp.read() == b"ok"
    assert target.connections == 3


async def test_idle_connection_closed_by_the_target_is_not_used(raw_target, start_albauth, client) -> None:
    async def one_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer())
        await writer.drain()  # then close while albauth holds the connection idle

    target = await raw_target(one_then_close)
    base, _ = await albauth_for(start_albauth, target)
    for _ in range(3):
        async with client.get(base + "/") as resp:
            assert resp.status == 200 and await resp.read() == b"ok"
        await asyncio.sleep(0.05)
    assert target.connections == 3


async def close_on_second_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers one request, then drops the connection when the next one arrives: the race
    of a target closing an idle keep-alive connection just as the proxy reuses it."""
    await read_request(reader)
    writer.write(answer())
    await writer.drain()
    await read_request(reader)


async def test_get_on_a_connection_the_target_just_closed_is_retried_once(raw_target, start_albauth,
                                                                          client) -> None:
    target = await raw_target(close_on_second_request)
    base, _ = await albauth_for(start_albauth, target)
    for _ in range(3):
        async with client.get(base + "/") as resp:
            assert resp.status == 200 and await resp.read() == b"ok"
    assert target.connections == 3  # 1, then (reused: dropped) 2, then (reused: dropped) 3


async def test_request_whose_body_was_sent_is_not_retried(raw_target, start_albauth, client) -> None:
    """A POST may have been acted on: sending it twice is not ours to decide (502 instead)."""
    target = await raw_target(close_on_second_request)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 200
    async with client.post(base + "/", data=b"pay once") as resp:
        assert resp.status == 502
    assert target.connections == 1


async def test_idle_connections_are_closed_after_the_idle_timeout(raw_target, start_albauth, client) -> None:
    closed = asyncio.Event()

    async def serve_and_watch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_ok(reader, writer)
        closed.set()  # albauth closed it

    target = await raw_target(serve_and_watch)
    base, _ = await albauth_for(start_albauth, target, proxy="idle_timeout: 0.3")
    async with client.get(base + "/") as resp:
        assert resp.status == 200
    await asyncio.wait_for(closed.wait(), 3)


async def test_idle_connections_per_origin_are_capped(raw_target, start_albauth, client) -> None:
    """After a burst, no more than `max_idle_per_origin` connections stay open."""
    gate = asyncio.Event()

    async def wait_then_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader) is not None:
            await gate.wait()
            writer.write(answer())
            await writer.drain()

    target = await raw_target(wait_then_ok)
    runtime = await start_albauth(proxy_settings({"app": [target.url]}))
    runtime.forwarder.upstream.pool.max_idle = 2
    base, _ = address(runtime)

    async def get() -> int:
        async with client.get(base + "/") as resp:
            await resp.read()
            return resp.status

    burst = asyncio.gather(*(get() for _ in range(5)))
    while target.connections < 5:
        await asyncio.sleep(0.01)
    gate.set()
    assert await burst == [200] * 5
    (origin,) = runtime.forwarder.upstream.pool._by_key.values()  # noqa: SLF001 - the pool's own count
    assert len(origin.idle) == 2


# --- Response framing -------------------------------------------------------------------

async def test_chunked_response_is_relayed_without_trailers(raw_target, start_albauth, client) -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n")
        await reader.read()

    target = await raw_target(chunked)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 200 and "Content-Length" not in resp.headers
        assert await resp.read() == b"hello world"
        assert "X-Sum" not in resp.headers


@pytest.mark.parametrize("size", [5, 300 * 1024])
async def test_http10_target_without_length_ends_the_body_with_the_connection(raw_target, start_albauth,
                                                                              client, size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)

    async def http10(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + body)
        await writer.drain()

    target = await raw_target(http10)
    base, _ = await albauth_for(start_albauth, target)
    for _ in range(2):
        async with client.get(base + "/") as resp:
            assert resp.status == 200 and await resp.read() == body
    assert target.connections == 2


async def test_informational_responses_are_dropped_before_the_final_one(raw_target, start_albauth) -> None:
    async def interim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        await writer.drain()
        writer.write(answer(b"final", extra=b"X-Final: yes\r\n"))
        await reader.read()

    target = await raw_target(interim)
    _, port = await albauth_for(start_albauth, target)
    status, headers, body = await raw_http(port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert (status, body) == (200, b"final")
    assert headers["x-final"] == "yes" and "link" not in headers


async def test_head_response_keeps_its_content_length_and_the_connection(raw_target, start_albauth) -> None:
    async def head_then_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            if request[0].startswith(b"HEAD "):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")  # and no body
            else:
                writer.write(answer())

    target = await raw_target(head_then_get)
    _, port = await albauth_for(start_albauth, target)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 ") and b"\r\nContent-Length: 1234\r\n" in head
        writer.write(b"GET /g HTTP/1.1\r\nHost: a\r\n\r\n")  # a body after HEAD would show up here
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 ") and await reader.readexactly(2) == b"ok"
    finally:
        writer.close()
    assert target.connections == 1


# --- Broken targets -----------------------------------------------------------------------

async def test_target_closing_mid_response_is_502_when_the_body_was_small(raw_target, start_albauth,
                                                                         client) -> None:
    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        await writer.drain()

    target = await raw_target(half)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 502 and resp.headers["Server"] == "awselb/2.0"


async def test_target_closing_mid_stream_cuts_the_client_connection(raw_target, start_albauth, client) -> None:
    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 1_000_000)
        await writer.drain()

    target = await raw_target(half)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(resp.read(), 10)


async def test_reset_by_the_target_is_502(raw_target, start_albauth, client) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST

    target = await raw_target(reset)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 502


@pytest.mark.parametrize("response", [
    b"HTTP/1.1 2xx Fine\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
    b"SSH-2.0-OpenSSH_9.6\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
])
async def test_malformed_response_is_502(raw_target, start_albauth, client, response: bytes) -> None:
    async def malformed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response)
        await reader.read()

    target = await raw_target(malformed)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 502


@pytest.mark.parametrize(("header_bytes", "status"), [(30 * 1024, 200), (33 * 1024, 502)])
async def test_response_head_over_32k_is_502(raw_target, start_albauth, header_bytes: int, status: int) -> None:
    """Spec 6.1; sent in 1 KB pieces so the limit holds across reads too."""
    big = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %b\r\n" % (i, b"v" * 1000) for i in range(header_bytes // 1010))
    big += b"Content-Length: 2\r\n\r\nok"

    async def huge_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        for i in range(0, len(big), 1024):
            writer.write(big[i:i + 1024])
            await writer.drain()
            await asyncio.sleep(0)
        await reader.read()

    target = await raw_target(huge_head)
    _, port = await albauth_for(start_albauth, target)
    got, _, _ = await raw_http(port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert got == status


# --- Bodies both ways ---------------------------------------------------------------------

async def test_chunked_upload_reaches_the_target_chunked(raw_target, start_albauth) -> None:
    seen: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        assert request is not None
        seen.extend(request)
        writer.write(answer())
        await reader.read()

    target = await raw_target(record)
    _, port = await albauth_for(start_albauth, target)
    status, _, _ = await raw_http(port, b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                                        b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    assert status == 200
    head, body = seen
    assert re.search(rb"(?i)\r\ntransfer-encoding: chunked\r\n", head)
    assert not re.search(rb"(?i)\r\ncontent-length:", head)
    assert re.sub(rb"[0-9a-f]+\r\n(.*?)\r\n", rb"\1", body.removesuffix(b"0\r\n\r\n"), flags=re.S) == b"hello world"


async def test_slow_client_holds_back_a_fast_target(raw_target, start_albauth) -> None:
    """Back-pressure: while the client reads nothing, albauth stops reading from the target,
    which stops being able to write; albauth's own buffer stays small."""
    total = 256 * 1024 * 1024
    block = b"\xa5" * (256 * 1024)
    sent = 0

    async def fast(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        for _ in range(total // len(block)):
            writer.write(block)
            await writer.drain()
            sent += len(block)

    target = await raw_target(fast)
    runtime = await start_albauth(proxy_settings({"app": [target.url]}))
    _, port = address(runtime)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        writer.write(b"GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        await asyncio.sleep(1.5)  # the client reads nothing meanwhile
        stalled_at = sent
        assert stalled_at < 64 * 1024 * 1024, f"the target got {stalled_at >> 20} MiB out to a stalled client"
        await asyncio.sleep(0.5)
        assert sent == stalled_at  # stalled, not merely slow
        received = len(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5))
        head_len = received
        while chunk := await asyncio.wait_for(reader.read(1 << 20), 10):
            received += len(chunk)
        assert received - head_len == total
    finally:
        writer.close()


# --- HTTPS targets --------------------------------------------------------------------------

def _self_signed(tmp_path: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "target.pem", tmp_path / "target.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@pytest.mark.parametrize("verify, trusted, status", [
    (True, True, 200), (True, False, 502),
    (False, False, 200),  # ALB's default: a self-signed target certificate is not validated
])
async def test_https_target_certificates_and_keep_alive(start_albauth, client, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch, verify: bool,
                                                        trusted: bool, status: int) -> None:
    """With verify_target_certificates the target's certificate is checked against the
    system CAs (SSL_CERT_FILE here); by default, as ALB, it is not."""
    import ssl

    cert_file, key_file = _self_signed(tmp_path)
    if trusted:
        monkeypatch.setenv("SSL_CERT_FILE", cert_file)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            await serve_ok(reader, writer)
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    try:
        port = server.sockets[0].getsockname()[1]
        runtime = await start_albauth(proxy_settings(
            {"app": [f"https://localhost:{port}"]}, proxy=f"verify_target_certificates: {str(verify).lower()}"))
        base, _ = address(runtime)
        for _ in range(3):
            async with client.get(base + "/") as resp:
                assert resp.status == status
        if status == 200:
            assert connections == 1
    finally:
        server.close()
