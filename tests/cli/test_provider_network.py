"""Enterprise providers: the built-in provider served over HTTPS with a private CA made
here, reached with `albauth.ca_file` or SSL_CERT_FILE, and through a real CONNECT proxy
named by HTTPS_PROXY (NO_PROXY honoured)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import unused_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from albauth.clock import FakeClock
from albauth.config.load import load_text
from albauth.devidp import DevIdP, IdpClient, load_idp_settings
from tests.alb.conftest import CLIENT_ID, CLIENT_SECRET, StartAlb, Upstream, header
from tests.auth.test_jwt_validation import EchoUpstream, StartAlbauth, _doc, rsa, token

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
                   "ALL_PROXY", "all_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "NETRC")


@dataclass(frozen=True)
class PrivateCa:
    ca_file: str
    cert_file: str  # the provider's certificate (127.0.0.1, localhost), issued by the CA
    key_file: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCa:
    d = tmp_path_factory.mktemp("private-ca")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    root = _name("Example Corp Root CA")
    ca = (x509.CertificateBuilder().subject_name(root).issuer_name(root)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name("idp.corp.example")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = d / "corp-ca.pem", d / "idp.pem", d / "idp-key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return PrivateCa(str(ca_file), str(cert_file), str(key_file))


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def idp(clock: FakeClock, private_ca: PrivateCa) -> AsyncIterator[DevIdP]:
    """The built-in provider over HTTPS, its certificate from the private CA (overrides
    tests.alb's plain-HTTP `idp` for start_alb)."""
    port = unused_port()
    settings = load_idp_settings(None, f"https://127.0.0.1:{port}")
    client = IdpClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                       redirect_uris=("https://app.test/oauth2/idpresponse",))
    provider = DevIdP(replace(settings, clients=settings.clients + (client,)), clock=clock)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(private_ca.cert_file, private_ca.key_file)
    runner = web.AppRunner(provider.app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls).start()
    yield provider
    await runner.cleanup()


@dataclass
class ConnectProxy:
    """A forward proxy that only tunnels (CONNECT), as corporate proxies do for HTTPS."""

    port: int = 0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # (method, target, headers)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
            self.requests.append((method, target, headers))
            if method != "CONNECT":
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def connect_proxy() -> AsyncIterator[ConnectProxy]:
    proxy = ConnectProxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    yield proxy
    server.close()


async def _login_status(start_alb: StartAlb, **albauth: str) -> int:
    """Sign in at the provider, then the status albauth answers the callback with (it calls
    the token and UserInfo endpoints over HTTPS)."""
    alb = await start_alb(albauth=albauth or None)
    first = await alb.browser.get("https://app.test/")
    assert first.status == 302, first.body[:300]
    done = await alb.browser.get(await alb.browser.sign_in(first.location))
    return done.status


async def test_without_the_ca_file_the_private_ca_is_refused_with_albs_500(start_alb: StartAlb) -> None:
    assert await _login_status(start_alb) == 500


async def test_with_albauth_ca_file_the_login_completes(start_alb: StartAlb, private_ca: PrivateCa,
                                                        upstream: Upstream) -> None:
    assert await _login_status(start_alb, ca_file=private_ca.ca_file) == 302
    alb_token_seen = await _follow_to_upstream(start_alb, upstream, ca_file=private_ca.ca_file)
    assert alb_token_seen


async def _follow_to_upstream(start_alb: StartAlb, upstream: Upstream, **albauth: str) -> bool:
    alb = await start_alb(albauth=albauth)
    await alb.browser.login()
    return header(upstream.last, "x-amzn-oidc-data") is not None


async def test_ssl_cert_file_is_honoured(start_alb: StartAlb, private_ca: PrivateCa,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", private_ca.ca_file)
    assert await _login_status(start_alb) == 302


async def test_provider_calls_go_through_the_https_proxy(start_alb: StartAlb, private_ca: PrivateCa,
                                                         connect_proxy: ConnectProxy, idp: DevIdP,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://corp%5Cuser:pa%3Ass@127.0.0.1:{connect_proxy.port}")
    assert await _login_status(start_alb, ca_file=private_ca.ca_file) == 302
    idp_port = idp.settings.issuer.rsplit(":", 1)[1]
    assert connect_proxy.requests, "the proxy saw no request"
    for method, target, headers in connect_proxy.requests:
        assert (method, target) == ("CONNECT", f"127.0.0.1:{idp_port}")
        assert headers["proxy-authorization"] == "Basic " + base64.b64encode(b"corp\\user:pa:ss").decode()


async def test_no_proxy_bypasses_the_proxy(start_alb: StartAlb, private_ca: PrivateCa,
                                           connect_proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{connect_proxy.port}")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert await _login_status(start_alb, ca_file=private_ca.ca_file) == 302
    assert connect_proxy.requests == []


async def test_without_the_ca_file_the_proxied_login_still_fails_with_500(
        start_alb: StartAlb, connect_proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{connect_proxy.port}")
    assert await _login_status(start_alb) == 500
    assert connect_proxy.requests and connect_proxy.requests[0][0] == "CONNECT"


async def test_netrc_credentials_never_reach_the_provider(start_alb: StartAlb, private_ca: PrivateCa,
                                                          upstream: Upstream, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """aiohttp's trust_env would send a netrc `default` entry to every host as Basic auth,
    and then refuse UserInfo's explicit Authorization header: albauth reads only the proxy."""
    netrc = tmp_path / "netrc"
    netrc.write_text("default login machine-user password machine-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert await _follow_to_upstream(start_alb, upstream, ca_file=private_ca.ca_file)


# -- jwt-validation: JWKS endpoints are reached as providers are -------------------------


@pytest.fixture
async def https_jwks(private_ca: PrivateCa) -> AsyncIterator[str]:
    """A JWKS over HTTPS, its certificate from the private CA."""
    async def serve(_: web.Request) -> web.Response:
        return web.json_response({"keys": [rsa("main").as_dict(private=False)]})

    app = web.Application()
    app.router.add_get("/jwks", serve)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(private_ca.cert_file, private_ca.key_file)
    runner = web.AppRunner(app)
    await runner.setup()
    port = unused_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls).start()
    yield f"https://127.0.0.1:{port}/jwks"
    await runner.cleanup()


async def _bearer_status(start_albauth: StartAlbauth, echo_upstream: EchoUpstream, jwks_url: str,
                         **albauth: str) -> int:
    upstream = await echo_upstream()
    doc = yaml.safe_load(_doc(jwks_url, str(upstream.make_url("")).rstrip("/")))
    doc["albauth"].update(albauth)
    runtime = await start_albauth(load_text(yaml.safe_dump(doc), "api.yaml", {}))
    async with aiohttp.ClientSession() as http:
        async with http.get(runtime.urls[0] + "/orders", headers={"Authorization": f"Bearer {token()}"}) as resp:
            return resp.status


async def test_a_jwks_behind_the_private_ca_needs_albauth_ca_file(
        start_albauth: StartAlbauth, echo_upstream: EchoUpstream, private_ca: PrivateCa, https_jwks: str) -> None:
    assert await _bearer_status(start_albauth, echo_upstream, https_jwks) == 401
    assert await _bearer_status(start_albauth, echo_upstream, https_jwks, ca_file=private_ca.ca_file) == 200


async def test_jwks_fetches_go_through_the_https_proxy(
        start_albauth: StartAlbauth, echo_upstream: EchoUpstream, private_ca: PrivateCa, https_jwks: str,
        connect_proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{connect_proxy.port}")
    assert await _bearer_status(start_albauth, echo_upstream, https_jwks, ca_file=private_ca.ca_file) == 200
    jwks_host = https_jwks.split("/")[2]
    assert [(m, t) for m, t, _ in connect_proxy.requests] == [("CONNECT", jwks_host)]
