"""`albauth.ca_file` / ALBAUTH_OIDC_CA_FILE: checked when the configuration loads."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from albauth.config.env import load_env
from albauth.config.errors import ConfigError, ConfigIssue
from albauth.config.load import load_text

from .helpers import albauth_sync, write

DOC = """\
albauth:
  ca_file: {ca_file}
  target_groups: {{app: {{targets: ["http://127.0.0.1:3000"]}}}}
listeners:
  - {{Protocol: HTTP, Port: 8080, DefaultActions: [{{Type: forward, TargetGroupArn: app}}]}}
"""


def _issues(text: str) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        load_text(text, "test.yaml", {})
    return caught.value.issues


def _a_ca_file(tmp_path: Path) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Corp Root CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return write(tmp_path / "ca.pem", cert.public_bytes(serialization.Encoding.PEM).decode())


def test_ca_file_is_loaded_from_the_file_and_the_environment(tmp_path: Path) -> None:
    ca_file = _a_ca_file(tmp_path)
    assert load_text(DOC.format(ca_file=ca_file), "test.yaml", {}).ca_file == ca_file
    env = {"ALBAUTH_UPSTREAM": "http://127.0.0.1:3000", "ALBAUTH_OIDC_CA_FILE": ca_file}
    assert load_env(env).ca_file == ca_file


def test_a_missing_or_unreadable_ca_file_is_refused_at_load(tmp_path: Path) -> None:
    [missing] = _issues(DOC.format(ca_file=tmp_path / "none.pem"))
    assert (missing.key, missing.environmental) == ("albauth.ca_file", True)
    assert "no such file" in missing.message
    [garbage] = _issues(DOC.format(ca_file=write(tmp_path / "x.pem", "not a certificate\n")))
    assert (garbage.key, garbage.environmental) == ("albauth.ca_file", False)
    assert "PEM CA bundle" in garbage.message
    with pytest.raises(ConfigError) as caught:
        load_env({"ALBAUTH_UPSTREAM": "http://127.0.0.1:3000", "ALBAUTH_OIDC_CA_FILE": str(tmp_path / "none.pem")})
    assert [i.key for i in caught.value.issues] == ["ALBAUTH_OIDC_CA_FILE"]


def test_offline_a_missing_ca_file_is_a_note(tmp_path: Path) -> None:
    path = write(tmp_path / "albauth.yaml", DOC.format(ca_file="/etc/pki/corp-ca.pem"))
    result = albauth_sync("check-config", "--offline", path)
    assert result.returncode == 0, result.stderr
    assert "note: " in result.stdout and "albauth.ca_file: no such file: /etc/pki/corp-ca.pem" in result.stdout
