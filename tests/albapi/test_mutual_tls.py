"""Mutual TLS, `MutualAuthentication: {Mode: verify}`, over real TLS with certificates the test
makes: a valid one gets through and the target sees ALB's X-Amzn-Mtls-Clientcert-* headers;
an expired one, one from an unknown CA and none at all never get a request in."""

from __future__ import annotations

import asyncio
import datetime
import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import address

from .helpers import StartAlbauth, attributes, load_doc, settings_doc

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"), x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                      "mTLS"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, issuer_key: ec.EllipticCurvePrivateKey,
                 *, ca: bool, not_after: datetime.datetime, serial: int) -> x509.Certificate:
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(NOW - 30 * DAY).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class Pki:
    """A trusted root, an unknown one, and client certificates: valid, expired, unknown CA."""

    def __init__(self, d: Path) -> None:
        self.dir = d
        root_key, other_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        self.root = _certificate("rootcamtls.test", root_key, "rootcamtls.test", root_key, ca=True,
                                 not_after=NOW + 365 * DAY, serial=1)
        other = _certificate("unknown-ca.test", other_key, "unknown-ca.test", other_key, ca=True,
                             not_after=NOW + 365 * DAY, serial=2)
        (d / "trust.pem").write_bytes(_pem(self.root))
        self.valid = self._client("valid", root_key, "rootcamtls.test", NOW + 30 * DAY, 0x3A5B2C1D)
        self.expired = self._client("expired", root_key, "rootcamtls.test", NOW - DAY, 0x3A5B2C1E)
        self.unknown = self._client("unknown", other_key, other.subject.rfc4514_string().split("CN=")[1].split(",")[0],
                                    NOW + 30 * DAY, 0x3A5B2C1F)

    def _client(self, name: str, issuer_key: ec.EllipticCurvePrivateKey, issuer: str, not_after: datetime.datetime,
                serial: int) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(f"{name}.client.test", key, issuer, issuer_key, ca=False, not_after=not_after,
                            serial=serial)
        cert_path, key_path = self.dir / f"{name}.pem", self.dir / f"{name}.key"
        cert_path.write_bytes(_pem(cert))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("mtls"))


async def _start(start_albauth: StartAlbauth, echo_upstream: Any, tls_files: tuple[str, str], pki: Pki,
                 mtls: dict[str, Any], listener_attributes: dict[str, str] | None = None) -> int:
    upstream = await echo_upstream()
    listener: dict[str, Any] = {"Protocol": "HTTPS", "MutualAuthentication": mtls, "albauth": {
        "address": "127.0.0.1", "certificate_file": tls_files[0], "key_file": tls_files[1],
        **({"trust_store_file": str(pki.dir / "trust.pem")} if mtls["Mode"] == "verify" else {})}}
    if listener_attributes:
        listener["ListenerAttributes"] = attributes(**listener_attributes)
    return address(await start_albauth(load_doc(settings_doc([str(upstream.make_url(""))], listener=listener))))[1]


async def _request(port: int, client: tuple[str, str] | None) -> dict[str, str] | None:
    """The headers the target saw (forged mTLS headers sent along), or None when the TLS
    connection or the request was refused."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    if client is not None:
        context.load_cert_chain(*client)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        writer.write(b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Amzn-Mtls-Clientcert-Subject: CN=forged\r\n"
                     b"Connection: close\r\n\r\n")
        raw = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    except (ssl.SSLError, ConnectionError):
        return None
    if not raw.startswith(b"HTTP/1.1 200"):  # TLS 1.3 reports a refused certificate after the handshake
        return None
    return {k.lower(): v for k, v in json.loads(raw.partition(b"\r\n\r\n")[2])["headers"]}


VERIFY = {"Mode": "verify", "TrustStoreArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/ts/1"}


async def test_a_valid_certificate_gets_alb_headers(start_albauth: StartAlbauth, echo_upstream: Any,
                                                    tls_files: tuple[str, str], pki: Pki) -> None:
    port = await _start(start_albauth, echo_upstream, tls_files, pki, VERIFY)
    seen = await _request(port, pki.valid)
    assert seen is not None
    assert seen["x-amzn-mtls-clientcert-serial-number"] == "3A5B2C1D"
    assert seen["x-amzn-mtls-clientcert-subject"] == "CN=valid.client.test,O=mTLS,C=US"  # not the forged one
    assert seen["x-amzn-mtls-clientcert-issuer"] == "CN=rootcamtls.test,O=mTLS,C=US"
    cert = x509.load_pem_x509_certificate(Path(pki.valid[0]).read_bytes())
    assert seen["x-amzn-mtls-clientcert-validity"] == (
        f"NotBefore={cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ};NotAfter={cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}")
    leaf = seen["x-amzn-mtls-clientcert-leaf"]
    assert leaf.startswith("-----BEGIN%20CERTIFICATE-----%0A") and "\n" not in leaf
    assert unquote(leaf).encode() == Path(pki.valid[0]).read_bytes()


@pytest.mark.parametrize(("client", "mtls", "admitted"), [
    ("expired", VERIFY, False),
    ("unknown", VERIFY, False),
    (None, VERIFY, False),
    ("expired", {**VERIFY, "IgnoreClientCertificateExpiry": True}, True),
    ("unknown", {**VERIFY, "IgnoreClientCertificateExpiry": True}, False),
    (None, {"Mode": "off"}, True),
])
async def test_who_gets_in(start_albauth: StartAlbauth, echo_upstream: Any, tls_files: tuple[str, str], pki: Pki,
                           client: str | None, mtls: dict[str, Any], admitted: bool) -> None:
    port = await _start(start_albauth, echo_upstream, tls_files, pki, mtls)
    seen = await _request(port, getattr(pki, client) if client else None)
    assert (seen is not None) is admitted
    if seen is not None and mtls["Mode"] == "off":
        assert "x-amzn-mtls-clientcert-subject" not in seen  # the client's forged copy is dropped too


async def test_listener_attributes_rename_the_headers(start_albauth: StartAlbauth, echo_upstream: Any,
                                                      tls_files: tuple[str, str], pki: Pki) -> None:
    port = await _start(start_albauth, echo_upstream, tls_files, pki, VERIFY, {
        "routing.http.request.x_amzn_mtls_clientcert_subject.header_name": "X-Client-Subject",
        "routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name": "X-Client-Serial"})
    seen = await _request(port, pki.valid)
    assert seen is not None
    assert seen["x-client-subject"] == "CN=valid.client.test,O=mTLS,C=US"
    assert seen["x-client-serial"] == "3A5B2C1D"
    assert "x-amzn-mtls-clientcert-subject" not in seen
    assert seen["x-amzn-mtls-clientcert-issuer"] == "CN=rootcamtls.test,O=mTLS,C=US"


def test_trust_store_file_must_exist(tmp_path: Path) -> None:
    from albauth.config.errors import ConfigError
    doc = settings_doc(["http://127.0.0.1:1"], listener={"MutualAuthentication": VERIFY, "albauth": {
        "address": "127.0.0.1", "trust_store_file": str(tmp_path / "missing.pem")}})
    with pytest.raises(ConfigError) as info:
        load_doc(doc)
    assert "trust_store_file: no such file" in str(info.value) and "HTTPS listeners" in str(info.value)
