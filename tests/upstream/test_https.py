"""HTTPS targets: certificates not validated by default (as ALB), opt-in verification,
keep-alive over TLS."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
from pathlib import Path

import aiohttp
import pytest
from foundation_helpers import address, proxy_settings

from .raw_target import StartAlbauth, serve_ok

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
async def test_https_target_certificates_and_keep_alive(start_albauth: StartAlbauth, client: aiohttp.ClientSession,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verify: bool,
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
