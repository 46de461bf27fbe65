"""The compose demo's pieces, run in the built image (scripts/test-image; the whole stack is
not started here: no registry serves its Redis image, and podman-compose's
`service_healthy` needs systemd's healthcheck timers): the `certs` service's command as
root, then albauth as its own uid reads the key and accepts the compose config with it, and
the `app` service's code imports in the image."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from tests.deploy.podman import LABEL, podman
from tests.deploy.report import check

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose"


def check_compose(image: str) -> None:
    print("compose services, one by one:", flush=True)
    services = yaml.safe_load((COMPOSE / "compose.yaml").read_text())["services"]
    secret = services["albauth"]["environment"]["ALBAUTH_SESSION_SECRET"].split(":-")[1].rstrip("}")
    run = ["run", "--rm", "--label", LABEL, "--network", "none", "--no-healthcheck"]
    with tempfile.TemporaryDirectory(prefix="albauth-compose-") as tmp:
        certs = Path(tmp) / "certs"
        certs.mkdir()
        made = podman(*run, "--user", services["certs"]["user"], "--volume", f"{COMPOSE}/make-cert.py:/make-cert.py:ro",
                      "--volume", f"{certs}:/certs", "--entrypoint", "python", image, "/make-cert.py", "/certs",
                      check=False)
        check("certs: make-cert.py writes the certificate", made.returncode == 0, made.stderr.strip()[-500:])
        loaded = podman(*run, "--read-only", "--env", f"ALBAUTH_SESSION_SECRET={secret}",
                        "--volume", f"{COMPOSE}/albauth.yaml:/etc/albauth/albauth.yaml:ro",
                        "--volume", f"{certs}:/certs:ro", image, "check-config", "/etc/albauth/albauth.yaml",
                        check=False)
        check("albauth (uid 10001) loads the compose config and the key", loaded.returncode == 0,
              loaded.stdout.strip() if loaded.returncode == 0 else loaded.stderr.strip())
    (code,) = services["app"]["command"]
    imports = code.split("; web.run_app")[0]
    app = podman(*run, "--entrypoint", "python", image, "-c", imports, check=False)
    check("app: the demo app's code imports in the image", app.returncode == 0, app.stderr.strip()[-500:])
