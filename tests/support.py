"""Helpers for the foundation tests (rules, config, proxy, examples): config text to
`Settings`, a listener config around one upstream, raw HTTP over a socket, and running
the `albauth` command as a real process."""

from __future__ import annotations

import asyncio
import datetime
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp.test_utils import unused_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from albauth.config.errors import ConfigError
from albauth.config.load import load_text
from albauth.config.model import Settings

REPO = Path(__file__).resolve().parents[1]
TRACE_ROOT = r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}"


def settings_from_yaml(text: str, env: Mapping[str, str] | None = None,
                       file: str = "test.yaml") -> Settings:
    return load_text(textwrap.dedent(text), file, dict(env or {}))


def config_error(text: str, env: Mapping[str, str] | None = None,
                 file: str = "test.yaml") -> ConfigError:
    """The ConfigError the text raises (fails the test if it loads)."""
    try:
        settings_from_yaml(text, env, file)
    except ConfigError as exc:
        return exc
    raise AssertionError("the configuration loaded, but it should have been refused")


def proxy_settings(targets: Mapping[str, list[str]], *, rules: str = "", default: str | None = None,
                   port: int | None = None, proxy: str = "") -> Settings:
    """One HTTP listener on loopback with `targets` as target groups; `rules` is YAML for
    the listener's Rules list (indented as a top-level list), `default` for DefaultActions."""
    port = port or unused_port()
    groups = "\n".join(f"    {name}: {{targets: [{', '.join(urls)}]}}" if urls else f"    {name}: {{targets: []}}"
                       for name, urls in targets.items())
    first = next(iter(targets))
    default = default or f"[{{Type: forward, TargetGroupArn: {first}}}]"
    doc = (
        "albauth:\n"
        "  admin_listen: off\n"
        f"  proxy: {{{proxy}}}\n"
        "  target_groups:\n"
        f"{groups}\n"
        "listeners:\n"
        "  - Protocol: HTTP\n"
        f"    Port: {port}\n"
        "    albauth: {address: 127.0.0.1}\n"
        f"    DefaultActions: {default}\n"
    )
    if rules:
        doc += "    Rules:\n" + textwrap.indent(textwrap.dedent(rules).strip("\n"), "      ") + "\n"
    return load_text(doc, "test.yaml", {})


def address(runtime: Any) -> tuple[str, int]:
    """(base URL, port) of a started runtime's first listener."""
    return runtime.urls[0], runtime.settings.listeners[0].port


async def raw_http(port: int, request: bytes, *, host: str = "127.0.0.1",
                   timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client library to normalise them); read one response.
    Send `Connection: close` in `request` so the body ends with the connection."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def headers_of(echoed: dict[str, Any], name: str) -> list[str]:
    """All values of one header as the echo upstream received it."""
    return [v for k, v in echoed["headers"] if k.lower() == name.lower()]


def run_albauth(*args: str, env: Mapping[str, str] | None = None,
                timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`python -m albauth ...` with a clean ALBAUTH_* environment plus `env`."""
    return subprocess.run([sys.executable, "-m", "albauth", *args], env=clean_env(env), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALBAUTH_")}
    env.update(extra or {})
    return env


class ServeProcess:
    """`albauth serve` as a real process (env-only mode unless `args` names a config)."""

    def __init__(self, env: Mapping[str, str], *args: str) -> None:
        self.port = int(env["ALBAUTH_LISTEN"].rsplit(":", 1)[1])
        self.proc = subprocess.Popen([sys.executable, "-m", "albauth", "serve", *args], env=clean_env(env),
                                     cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    async def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.proc.poll() is not None:
                stderr = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"albauth exited with {self.proc.returncode}: {stderr}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError("albauth did not start listening") from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return

    def peak_rss_kib(self) -> int:
        """VmHWM: the process's peak resident set size so far."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc/<pid>/status")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def self_signed_certificate(directory: Path, *hosts: str) -> tuple[str, str]:
    """(certificate, key) PEM files in `directory`: a self-signed P-256 certificate for
    `hosts` (the first is the subject), valid from yesterday for 30 days."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)
