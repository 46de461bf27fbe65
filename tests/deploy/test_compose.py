"""deploy/compose: the file is consistent (every service, volume and mounted file it names
exists; albauth's listener is the published port), the app's command compiles against
albauth's demo app, make-cert.py makes a certificate albauth's HTTPS listener loads, and the
ALB-shaped config passes albauth's loader with what compose gives it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from albauth.config.load import load_text
from tests.deploy.manifests import DEPLOY

COMPOSE = DEPLOY / "compose"


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    return doc


def test_services_volumes_and_mounted_files_exist() -> None:
    doc = _compose()
    services = doc["services"]
    assert set(services) == {"idp", "certs", "redis", "albauth", "app"}
    for name, service in services.items():
        mode = service.get("network_mode", "")
        if mode.startswith("service:"):
            assert mode.removeprefix("service:") in services, name
            assert "ports" not in service, f"{name} shares another service's network: publish there"
        assert set(service.get("depends_on", {})) <= set(services), name
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE / source).exists(), (name, source)
            else:
                assert source in doc["volumes"], (name, source)
    assert services["albauth"]["image"] == services["idp"]["image"] == "${ALBAUTH_IMAGE:-albauth:latest}"


def test_published_ports_are_albauths_listener_and_the_providers() -> None:
    config = yaml.safe_load((COMPOSE / "albauth.yaml").read_text())
    published = {int(p.split(":")[-1]) for p in _compose()["services"]["idp"]["ports"]}
    assert published == {config["listeners"][0]["Port"], 9000}
    command = _compose()["services"]["idp"]["command"]
    assert command[command.index("--port") + 1] == "9000"


def test_the_apps_command_is_albauths_demo_app() -> None:
    app = _compose()["services"]["app"]
    assert app["entrypoint"] == ["python", "-c"]
    (code,) = app["command"]
    compile(code, "app", "exec")
    namespace: dict[str, Any] = {}
    exec(code.split("; web.run_app")[0], namespace)  # the imports only
    assert callable(namespace["create_demo_app"])


def test_config_loads_with_the_certificate_make_cert_writes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(COMPOSE / "make-cert.py"), str(tmp_path)], check=True, timeout=30)
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0
    env = {"CERT_DIR": str(tmp_path),
           "ALBAUTH_SESSION_SECRET": "compose-demo-only-0123456789abcdefghijklmnop"}
    settings = load_text((COMPOSE / "albauth.yaml").read_text(), "albauth.yaml", env)
    (listener,) = settings.listeners
    assert (listener.protocol, listener.port) == ("HTTPS", 8443)
    assert settings.session.redis_url == "redis://redis:6379/0"
    assert settings.admin_listen == ("127.0.0.1", 9901)
