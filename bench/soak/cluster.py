"""What the soak runs: a private redis-server (AOF, fsync always), the built-in provider
(idp_process.py), the target (upstream_process.py) and two `albauth serve` replicas sharing
the Redis store; each part in its own process group, loopback only, ports picked at start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

from common import PY, REPO, Processes, free_port, signal_group, wait_port  # noqa: E402

CLIENT_ID, CLIENT_SECRET = "albauth-soak", "albauth-soak-secret-0123456789"
SESSION_SECRET = "soak-session-secret-0123456789-abcdefghijkl"
PASSWORD = "soak"


def idp_users(users: int, token_ttl: int) -> str:
    """The provider's settings: `users` accounts, short access tokens so refreshes never stop."""
    lines = [f"access_token_ttl: {token_ttl}", f"id_token_ttl: {token_ttl}", "refresh_token_ttl: 86400",
             "code_ttl: 60", "clients:", f"  - client_id: {CLIENT_ID}", f"    client_secret: {CLIENT_SECRET}",
             '    redirect_uris: ["http://127.0.0.1:*/oauth2/idpresponse"]', "    issue_refresh_tokens: true",
             "    rotate_refresh_tokens: false", "users:"]
    for i in range(users):
        lines += [f"  - username: user{i}", f"    password: {PASSWORD}", f"    email: user{i}@example.com"]
    return "\n".join(lines) + "\n"


@dataclass
class Replica:
    name: str
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    workdir: Path
    procs: Processes
    redis_port: int = 0
    idp_port: int = 0
    idp_control: int = 0
    upstream_port: int = 0
    replicas: list[Replica] = field(default_factory=list)
    redis_proc: subprocess.Popen[bytes] | None = None
    redis_starts: int = 0

    # -- starting ---------------------------------------------------------------------

    def start(self, users: int, token_ttl: int, *, log_level: str = "WARNING") -> None:
        self.start_redis()
        users_file = self.workdir / "idp-users.yaml"
        users_file.write_text(idp_users(users, token_ttl))
        self.idp_port, self.idp_control = free_port(), free_port()
        proc = self.procs.start("idp", [PY, str(BENCH / "soak/idp_process.py"), "--port", str(self.idp_port),
                                        "--control", str(self.idp_control), "--users", str(users_file),
                                        "--duplicate-window", str(token_ttl / 2)], env=_env({}))
        wait_port(self.idp_control, proc, "idp", self.procs)
        wait_port(self.idp_port, proc, "idp", self.procs)
        self.upstream_port = free_port()
        proc = self.procs.start("upstream", [PY, str(BENCH / "soak/upstream_process.py"),
                                             "--port", str(self.upstream_port)], env=_env({}))
        wait_port(self.upstream_port, proc, "upstream", self.procs)
        for name in ("replica-a", "replica-b"):
            port = free_port()
            self.replicas.append(Replica(name, port, _env({
                "ALBAUTH_LISTEN": f"127.0.0.1:{port}",
                "ALBAUTH_UPSTREAM": f"http://127.0.0.1:{self.upstream_port}",
                "ALBAUTH_ADMIN_LISTEN": "off",
                "ALBAUTH_LOG_LEVEL": log_level,
                "ALBAUTH_OIDC_ISSUER": f"http://127.0.0.1:{self.idp_port}",
                "ALBAUTH_OIDC_CLIENT_ID": CLIENT_ID,
                "ALBAUTH_OIDC_CLIENT_SECRET": CLIENT_SECRET,
                "ALBAUTH_SESSION_STORE": f"redis://127.0.0.1:{self.redis_port}/0",
                "ALBAUTH_SESSION_SECRET": SESSION_SECRET,
                # No signing key file: the replicas share their signing keys through Redis.
            })))
        for replica in self.replicas:
            self.start_replica(replica)

    def start_redis(self) -> None:
        self.redis_port = self.redis_port or free_port()
        self.redis_starts += 1
        name = f"redis-{self.redis_starts}"
        self.redis_proc = self.procs.start(name, [
            "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.workdir), "--daemonize", "no"])
        wait_port(self.redis_port, self.redis_proc, name, self.procs)
        while b"loading:0" not in self.redis_info("persistence"):
            time.sleep(0.05)

    def start_replica(self, replica: Replica) -> None:
        replica.starts += 1
        name = f"{replica.name}-{replica.starts}"
        replica.proc = self.procs.start(name, [PY, "-m", "albauth", "serve"], env=replica.env, cwd=REPO)
        wait_port(replica.port, replica.proc, name, self.procs)

    # -- faults -----------------------------------------------------------------------

    def kill_redis(self) -> None:
        assert self.redis_proc is not None
        signal_group(self.redis_proc, signal.SIGKILL)
        self.redis_proc.wait()

    def signal_redis(self, sig: int) -> None:
        assert self.redis_proc is not None
        signal_group(self.redis_proc, sig)

    def idp(self, command: str) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.idp_control}/{command}", method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def stop_replica(self, replica: Replica) -> None:
        """SIGTERM, as an orchestrator stops a container; albauth stops accepting and drains."""
        assert replica.proc is not None
        replica.proc.send_signal(signal.SIGTERM)
        try:
            replica.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            replica.proc.kill()
            replica.proc.wait()

    # -- reading ----------------------------------------------------------------------

    def redis_info(self, section: str) -> bytes:
        out = subprocess.run(["redis-cli", "-p", str(self.redis_port), "info", section], capture_output=True,
                             timeout=10)
        return out.stdout

    def redis_memory(self) -> tuple[int, int]:
        """(used_memory bytes, DBSIZE)."""
        info = self.redis_info("memory").decode()
        used = int(next(line.split(":")[1] for line in info.splitlines() if line.startswith("used_memory:")))
        size = subprocess.run(["redis-cli", "-p", str(self.redis_port), "dbsize"], capture_output=True, timeout=10)
        return used, int(size.stdout.strip() or 0)

    def key_bytes(self) -> int:
        """MEMORY USAGE summed over every key: what the sessions themselves take, without the
        server's buffers (AOF, client output) that used_memory also counts."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.redis_port)
        try:
            total = 0
            pipe = client.pipeline(transaction=False)
            for key in client.scan_iter(count=1000):
                pipe.memory_usage(key, samples=0)
            for n in pipe.execute():
                total += int(n or 0)
            return total
        finally:
            client.close()

    def idp_grants(self) -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.idp_control}/grants", timeout=10) as r:
            return dict(json.load(r))

    def upstream_stats(self) -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.upstream_port}/__soak/stats", timeout=10) as r:
            return dict(json.load(r))


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALBAUTH_", "PYTHON"))}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env
