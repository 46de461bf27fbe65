"""What the login benchmarks (logins.py, memory.py) start: the nginx upstream, the built-in
provider (`albauth idp`), a private redis when asked, and the proxies under test: albauth
(`albauth serve`, authenticate-oidc, one store) and the peer (Apache + mod_auth_openidc).
The same pieces as bench.py (servers.py, peer.py), started the same way: loopback, ports
picked at run time, each in its own process group of `procs`, albauth from a snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common import PY, Processes, free_port, wait_port
from http_login import check_ok
from login_client import Flow
from peer import available, start_apache
from servers import (
    NGINX_UPSTREAM,
    albauth_env,
    auth_env,
    snapshot_albauth,
    start_idp,
    start_nginx,
    start_redis,
)

# key -> label; albauth-* are `albauth serve` with that session store, peer-* are Apache.
TARGETS: dict[str, str] = {
    "albauth-cookie": "albauth, cookie store",
    "albauth-memory": "albauth, memory store",
    "albauth-redis": "albauth, redis store",
    "peer-cookie": "Apache + mod_auth_openidc, client-cookie",
    "peer-redis": "Apache + mod_auth_openidc, redis",
}


@dataclass
class Target:
    key: str
    label: str
    flow: Flow
    pgid: int  # process group of the proxy (its CPU time and memory are counted)


@dataclass
class Stack:
    """The shared parts: every target talks to the same upstream and provider."""

    workdir: Path
    procs: Processes
    src: Path  # albauth snapshot, for the provider and every albauth
    upstream: str
    idp: str
    redis_url: str
    side_pgids: dict[str, int]  # upstream, provider, redis: their CPU is reported too


def pgid_of(procs: Processes, name: str) -> int:
    return next(p.pid for n, p in procs.procs if n == name)


def start_stack(workdir: Path, procs: Processes, *, side_cpu: str | None, redis: bool,
                idp_cpu: str | None = None) -> Stack:
    """Upstream nginx (1 worker), the provider, and a private redis-server if `redis`."""
    src = snapshot_albauth(workdir, "base", None)
    up_port = free_port()
    upstream, up_pgid = start_nginx(procs, workdir, "upstream", NGINX_UPSTREAM.format(port=up_port), up_port,
                                    side_cpu)
    check_ok(upstream)
    idp = start_idp(src, idp_cpu if idp_cpu is not None else side_cpu, procs)
    side = {"upstream": up_pgid, "provider": pgid_of(procs, "idp")}
    redis_url = ""
    if redis:
        redis_url = start_redis(side_cpu, workdir, procs) or ""
        if not redis_url:
            raise RuntimeError("a redis target needs redis-server and albauth/session/redis_store.py")
        side["redis"] = pgid_of(procs, "redis")
    return Stack(workdir, procs, src, upstream, idp, redis_url, side)


def start_target(stack: Stack, key: str, *, cpu: str | None, workers: int = 1,
                 extra_env: dict[str, str] | None = None) -> Target:
    """One proxy under test, answering 302 to the provider at GET /."""
    if key.startswith("peer-"):
        why = available()
        if why:
            raise RuntimeError(f"the peer cannot run: {why}")
        sessions = "redis" if key == "peer-redis" else "client-cookie"
        url, pgid = start_apache(stack.procs, stack.workdir, key, idp=stack.idp, upstream=stack.upstream,
                                 sessions=sessions, redis_url=stack.redis_url, cpu=cpu)
        return Target(key, TARGETS[key], Flow.peer(url), pgid)
    store_key = "auth-" + key.removeprefix("albauth-")
    port = free_port()
    env = albauth_env(stack.src, port, stack.upstream,
                      {**auth_env(store_key, stack.idp, stack.redis_url, stack.workdir), **(extra_env or {})})
    argv = [PY, "-m", "albauth", "serve", *(["--workers", str(workers)] if workers > 1 else [])]
    proc = stack.procs.start(key, argv, cpu=cpu, env=env)
    wait_port(port, proc, key, stack.procs)
    return Target(key, TARGETS[key], Flow.albauth(f"http://127.0.0.1:{port}"), proc.pid)
