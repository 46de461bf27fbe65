"""Smoke test of the built container image, run by scripts/test-image after `podman build`:

    python -m tests.deploy.image_smoke IMAGE

`albauth serve` from environment variables only, with a read-only root filesystem (not even
a tmpfs on /tmp, as in the Kubernetes manifests) and the signing key from a mounted secret,
logs a user in at the built-in provider (run on the host) and proxies to an upstream on the
host, which gets x-amzn-oidc-data signed with the mounted key; the image's HEALTHCHECK
passes; it runs as a non-root uid, with uvloop and without pip; SIGTERM stops it cleanly
after the request in flight is answered; `albauth dev` in the image logs a user in; the
compose demo's services start their parts (compose_smoke)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from albauth.signing.keyring import kid_for
from tests.deploy.browser import Browser
from tests.deploy.compose_smoke import check_compose
from tests.deploy.podman import Container, podman
from tests.deploy.report import check

SLOW_SECONDS = 1.5
STOP_TIMEOUT = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Upstream(ThreadingHTTPServer):
    """The app behind albauth: says which path it got; /slow answers after SLOW_SECONDS
    (the request in flight while the container is stopped)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _UpstreamHandler)
        self.slow_started = threading.Event()
        self.oidc_data: list[str] = []  # x-amzn-oidc-data of each request that had one

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _UpstreamHandler(BaseHTTPRequestHandler):
    server: Upstream

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/slow":
            self.server.slow_started.set()
            time.sleep(SLOW_SECONDS)
        if data := self.headers.get("x-amzn-oidc-data"):
            self.server.oidc_data.append(data)
        body = f"upstream saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def provider() -> Iterator[str]:
    """The built-in OpenID provider on the host's loopback (its client albauth-dev accepts
    http://127.0.0.1:*/oauth2/idpresponse); yields its issuer."""
    port = free_port()
    idp = subprocess.Popen([sys.executable, "-m", "albauth", "idp", "--host", "127.0.0.1", "--port", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    issuer = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                get(f"{issuer}/.well-known/openid-configuration")
                break
            except OSError:
                time.sleep(0.1)
        yield issuer
    finally:
        idp.terminate()
        idp.wait(10)


def jwt_kid(token: str) -> str:
    header = token.split(".")[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


@contextmanager
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()


def signing_key_dir(root: Path) -> tuple[Path, str]:
    """A directory to mount as the signing-key secret, and the kid albauth must serve from it."""
    key = ec.generate_private_key(ec.SECP256R1())
    secret_dir = root / "secrets"
    secret_dir.mkdir(mode=0o755)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    (secret_dir / "signing.pem").write_bytes(pem)
    (secret_dir / "signing.pem").chmod(0o644)  # the image's uid 10001 reads it; a test key
    root.chmod(0o755)
    return secret_dir, kid_for(key.public_key())


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.status, reply.read().decode()


def check_serve(image: str, root: Path) -> None:
    print("albauth serve, environment only:", flush=True)
    listen, admin = free_port(), free_port()
    secret_dir, kid = signing_key_dir(root)
    with upstream() as app, provider() as issuer:
        env = {"ALBAUTH_LISTEN": f"127.0.0.1:{listen}", "ALBAUTH_ADMIN_LISTEN": f"127.0.0.1:{admin}",
               "ALBAUTH_UPSTREAM": app.url, "ALBAUTH_SESSION_SECRET": secrets.token_urlsafe(32),
               "ALBAUTH_SIGNING_KEY_FILE": "/run/secrets/albauth/signing.pem",
               "ALBAUTH_OIDC_ISSUER": issuer, "ALBAUTH_OIDC_CLIENT_ID": "albauth-dev",
               "ALBAUTH_OIDC_CLIENT_SECRET": "albauth-dev-secret"}
        box = Container.run(image, f"albauth-smoke-serve-{os.getpid()}", ["serve"], env=env,
                            options=["--read-only", "--read-only-tmpfs=false",
                                     "--volume", f"{secret_dir}:/run/secrets/albauth:ro"])
        try:
            box.wait_for(f"http://127.0.0.1:{admin}/healthz")
            browser = Browser()
            page = browser.login(f"http://127.0.0.1:{listen}/hello", "bob")
            check("logs in and proxies to the upstream", page == "upstream saw /hello")
            signed = [jwt_kid(token) for token in app.oidc_data]
            check("signs x-amzn-oidc-data with the mounted key", signed == [kid], signed)
            check("serves the mounted key", get(f"http://127.0.0.1:{admin}/{kid}")[0] == 200, kid)
            check_inside(box)
            check_graceful_stop(box, browser, listen, app)
        except BaseException:
            print(box.logs(), file=sys.stderr)
            raise
        finally:
            box.remove()


def check_inside(box: Container) -> None:
    health = podman("healthcheck", "run", box.name, check=False)
    check("podman healthcheck run", health.returncode == 0, (health.stdout + health.stderr).strip())
    uid = box.exec("id", "-u").stdout.strip()
    check("runs as a non-root uid", uid not in ("", "0"), uid)
    check("uvloop is installed", box.exec("python", "-c", "import uvloop").returncode == 0)
    no_pip = box.exec("python", "-c", "import importlib.util, sys; sys.exit(bool(importlib.util.find_spec('pip')))")
    check("no pip in the image", no_pip.returncode == 0 and box.exec("sh", "-c", "command -v pip pip3").returncode != 0)
    # As root, so that only the read-only mount (not file permissions) can refuse the write.
    check("root filesystem is read-only", podman("exec", "--user", "0", box.name, "touch", "/opt/x",
                                                 check=False).returncode != 0)


def check_graceful_stop(box: Container, browser: Browser, listen: int, app: Upstream) -> None:
    answers: list[tuple[int, str]] = []

    def slow_request() -> None:
        reply = browser.request(f"http://127.0.0.1:{listen}/slow")
        answers.append((reply.status, reply.body))

    client = threading.Thread(target=slow_request)
    client.start()
    check("a request is in flight", app.slow_started.wait(10))
    began = time.monotonic()
    podman("stop", "--time", str(STOP_TIMEOUT), box.name, timeout=STOP_TIMEOUT + 30)
    took = time.monotonic() - began
    client.join(10)
    code = box.state("ExitCode")
    check("SIGTERM stops it within the stop timeout", took < STOP_TIMEOUT and code in ("0", "143"),
          f"exit {code} after {took:.1f}s")
    check("the request in flight was answered", answers == [(200, "upstream saw /slow")], answers)


def check_dev(image: str) -> None:
    print("albauth dev (built-in provider + demo app), on the host's loopback:", flush=True)
    # On the host's network: every part of `albauth dev` binds 127.0.0.1 (there is no option
    # to listen on all interfaces in this version), so published ports could not reach it.
    port, idp, app, admin = (free_port() for _ in range(4))
    args = ["dev", "--port", str(port), "--idp-port", str(idp), "--app-port", str(app), "--admin-port", str(admin)]
    box = Container.run(image, f"albauth-smoke-dev-{os.getpid()}", args, options=["--read-only", "--no-healthcheck"])
    try:
        box.wait_for(f"http://127.0.0.1:{admin}/healthz")
        page = Browser().login(f"http://127.0.0.1:{port}/", "alice")
        check("a scripted login reaches the demo app as alice", "alice@example.com" in page)
    except BaseException:
        print(box.logs(), file=sys.stderr)
        raise
    finally:
        box.remove()


def main(argv: list[str]) -> int:
    (image,) = argv
    with tempfile.TemporaryDirectory(prefix="albauth-smoke-") as tmp:
        check_serve(image, Path(tmp))
    check_dev(image)
    check_compose(image)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
