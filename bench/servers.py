"""Starting what is measured: nginx (upstream and proxy), the naive proxy, the provider,
redis, and albauth from a snapshot of albauth/ (the working tree, a patched copy, or a git
ref), so edits during a run never change what is measured."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from common import (
    ALBAUTH_KEYS,
    BENCH,
    CLIENT_ID,
    CLIENT_SECRET,
    PEER_KEYS,
    PY,
    REPO,
    SCENARIOS,
    SESSION_SECRET,
    Processes,
    free_port,
    wait_port,
)
from http_login import check_ok, login
from measure import Scenario
from peer import available, peer_login, start_apache

NGINX_COMMON = """{main}
worker_processes 1;
daemon off;
pid {dir}/{name}.pid;
error_log {dir}/{name}-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/{name}-tmp/body;
  proxy_temp_path {dir}/{name}-tmp/proxy;
  fastcgi_temp_path {dir}/{name}-tmp/fastcgi;
  uwsgi_temp_path {dir}/{name}-tmp/uwsgi;
  scgi_temp_path {dir}/{name}-tmp/scgi;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
{body}
}}
"""

NGINX_UPSTREAM = """
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{ default_type text/plain; return 200 "ok\\n"; }}
  }}
"""

NGINX_PROXY = """
  upstream backend {{
    server 127.0.0.1:{upstream};
    keepalive 64;
    keepalive_requests 1000000;
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
"""


def start_nginx(procs: Processes, workdir: Path, name: str, body: str, port: int,
                cpu: str | None, main: str = "") -> tuple[str, int]:
    """`main`: directives of the main context (load_module)."""
    (workdir / f"{name}-tmp").mkdir(exist_ok=True)
    conf = workdir / f"{name}.conf"
    conf.write_text(NGINX_COMMON.format(dir=workdir, name=name, body=body, main=main))
    proc = procs.start(name, ["nginx", "-p", str(workdir), "-e", str(workdir / f"{name}-error.log"),
                              "-c", str(conf)], cpu=cpu)
    wait_port(port, proc, name, procs)
    return f"http://127.0.0.1:{port}", proc.pid


def albauth_env(src: Path, port: int, upstream: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALBAUTH_", "PYTHON"))}
    env.update({
        "PYTHONPATH": str(src),  # the snapshot (or a patched copy) comes before the editable install
        "ALBAUTH_LISTEN": f"127.0.0.1:{port}",
        "ALBAUTH_UPSTREAM": upstream,
        "ALBAUTH_ADMIN_LISTEN": "off",
        "ALBAUTH_LOG_LEVEL": "WARNING",
    })
    env.update(extra)
    return env


@dataclass(frozen=True)
class Variant:
    """Another albauth to measure beside the working tree's: the tree with a patch
    applied, or albauth/ as it was at a git ref (e.g. the commit before a change)."""

    name: str
    patch: Path | None = None
    ref: str | None = None


def parse_variant(spec: str, *, ref: bool) -> Variant:
    """`NAME=FILE` (or `FILE`, named by its stem) for a patch; `NAME=REF` (or `REF`) for a ref."""
    name, _, value = spec.partition("=")
    if not value:
        name, value = (spec if ref else Path(spec).stem), spec
    return Variant(name, ref=value) if ref else Variant(name, patch=Path(value))


def snapshot_albauth(workdir: Path, name: str, variant: Variant | None) -> Path:
    """A copy of albauth/ (the working tree's, patched, or at a git ref): measured code
    never changes under a run, and variants are measured without touching the tree."""
    dest = workdir / "src" / name
    if variant is not None and variant.ref is not None:
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", variant.ref, "albauth"],
                                 capture_output=True, check=False)
        if archive.returncode != 0:
            raise RuntimeError(f"git ref {variant.ref}: {archive.stderr.decode(errors='replace')}")
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    else:
        shutil.copytree(REPO / "albauth", dest / "albauth",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if variant is not None and variant.patch is not None:
        _apply_patch(dest, variant.patch)
    where = subprocess.run([PY, "-c", "import albauth; print(albauth.__file__)"], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(dest)}, cwd=workdir)
    if not where.stdout.strip().startswith(str(dest)):
        raise RuntimeError(f"snapshot {dest} is not what Python imports: {where.stdout}{where.stderr}")
    return dest


def _apply_patch(dest: Path, patch: Path) -> None:
    res = subprocess.run(["patch", "-p1", "--batch", "--forward", "-d", str(dest), "-i", str(patch.resolve())],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"patch {patch} does not apply:\n{res.stdout}{res.stderr}")


# -- what a run starts -------------------------------------------------------------------

def setup(args: argparse.Namespace, wanted: set[str], variants: list[Variant], workdir: Path,
          procs: Processes) -> list[Scenario]:
    """Start every server the wanted scenarios need; the scenarios in round order (the
    scenario list order, each variant right after the tree's own)."""
    upstream, out = _start_reference_servers(args, wanted, workdir, procs)
    selected = [k for k in (*ALBAUTH_KEYS, *PEER_KEYS) if k in wanted]
    if selected:
        out += _start_albauths(args, selected, upstream, variants, workdir, procs)
    order = {k: i for i, (k, _) in enumerate(SCENARIOS)}
    out.sort(key=lambda s: (order[s.key], s.variant != "", s.variant))
    return out


def _start_reference_servers(args: argparse.Namespace, wanted: set[str], workdir: Path,
                             procs: Processes) -> tuple[str, list[Scenario]]:
    """The upstream nginx, the nginx proxy (the baseline) and the naive proxy."""
    labels = dict(SCENARIOS)
    side, px = args.side_cpu, args.proxy_cpu
    up_port = free_port()
    upstream, up_pgid = start_nginx(procs, workdir, "upstream", NGINX_UPSTREAM.format(port=up_port), up_port, side)
    check_ok(upstream)
    out: list[Scenario] = []
    if "upstream" in wanted:
        out.append(Scenario("upstream", labels["upstream"], upstream, pgid=up_pgid))
    port = free_port()
    nginx, pgid = start_nginx(procs, workdir, "nginx-proxy", NGINX_PROXY.format(port=port, upstream=up_port), port, px)
    check_ok(nginx)
    out.append(Scenario("nginx", labels["nginx"], nginx, pgid=pgid))
    if "naive" in wanted:
        port = free_port()
        argv = [PY, str(BENCH / "naive_proxy.py"), "--listen", f"127.0.0.1:{port}", "--upstream", upstream]
        if args.naive_loop == "uvloop":
            argv.append("--uvloop")
        proc = procs.start("naive", argv, cpu=px)
        wait_port(port, proc, "naive", procs)
        check_ok(f"http://127.0.0.1:{port}")
        out.append(Scenario("naive", labels["naive"], f"http://127.0.0.1:{port}", pgid=proc.pid))
    return upstream, out


def start_idp(src: Path, side: str | None, procs: Processes) -> str:
    idp_port = free_port()
    proc = procs.start("idp", [PY, "-m", "albauth", "idp", "--host", "127.0.0.1", "--port", str(idp_port),
                               "--users", str(BENCH / "idp-users.yaml")],
                       env=albauth_env(src, 0, "", {}), cpu=side)
    wait_port(idp_port, proc, "idp", procs)
    return f"http://127.0.0.1:{idp_port}"


def _start_redis(side: str | None, workdir: Path, procs: Processes) -> str | None:
    if not (REPO / "albauth/session/redis_store.py").exists() or not shutil.which("redis-server"):
        print("skipping auth-redis: no albauth/session/redis_store.py or no redis-server", file=sys.stderr)
        return None
    rport = free_port()
    proc = procs.start("redis", ["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--daemonize", "no",
                                 "--dir", str(workdir)], cpu=side)
    wait_port(rport, proc, "redis", procs)
    return f"redis://127.0.0.1:{rport}/0"


def start_albauth(procs: Processes, name: str, src: Path, upstream: str, extra: dict[str, str],
                  cpu: str | None, argv: tuple[str, ...] = ()) -> tuple[str, int]:
    """One `albauth serve` (environment-only mode) from the snapshot `src`; its URL and pid."""
    port = free_port()
    proc = procs.start(name, [PY, "-m", "albauth", "serve", *argv], cpu=cpu,
                       env=albauth_env(src, port, upstream, extra))
    wait_port(port, proc, name, procs)
    return f"http://127.0.0.1:{port}", proc.pid


def session_env(idp: str, workdir: Path) -> dict[str, str]:
    """authenticate-oidc against the provider `idp`, sessions in the cookie store."""
    return _auth_env("auth-cookie", idp, None, workdir)


def _auth_env(key: str, idp: str, redis_url: str | None, workdir: Path) -> dict[str, str]:
    if not key.startswith("auth-"):
        return {}
    store = key.removeprefix("auth-").removesuffix("-w2")
    return {
        "ALBAUTH_OIDC_ISSUER": idp,
        "ALBAUTH_OIDC_CLIENT_ID": CLIENT_ID,
        "ALBAUTH_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "ALBAUTH_SESSION_STORE": (redis_url or "") if store == "redis" else store,
        "ALBAUTH_SESSION_SECRET": SESSION_SECRET,
        "ALBAUTH_SIGNING_KEY_FILE": str(workdir / "signing.pem"),
    }


def _start_albauths(args: argparse.Namespace, selected: list[str], upstream: str, variants: list[Variant],
                    workdir: Path, procs: Processes) -> list[Scenario]:
    """albauth for each selected scenario, once per source (the tree and each variant);
    authenticated scenarios log in once, and wrk replays that session."""
    labels = dict(SCENARIOS)
    srcs = {"": snapshot_albauth(workdir, "base", None)}
    srcs.update((v.name, snapshot_albauth(workdir, v.name, v)) for v in variants)
    idp = redis_url = ""
    if any(k.startswith(("auth-", "peer-")) for k in selected):
        idp = start_idp(srcs[""], args.side_cpu, procs)
    if any(k.startswith("peer-") for k in selected) and (why := available()):
        print(f"skipping the peer: {why}", file=sys.stderr)
        selected = [k for k in selected if not k.startswith("peer-")]
    if any("redis" in k for k in selected):
        redis_url = _start_redis(args.side_cpu, workdir, procs) or ""
        if not redis_url:
            selected = [k for k in selected if "redis" not in k]
    out = _start_peers([k for k in selected if k.startswith("peer-")], args, upstream, idp, redis_url, workdir,
                       procs)
    selected = [k for k in selected if not k.startswith("peer-")]
    for variant, src in srcs.items():
        for key in selected:
            name = f"{key}{'-' + variant if variant else ''}"
            workers = ("--workers", "2") if key.endswith("-w2") else ()
            url, pid = start_albauth(procs, name, src, upstream, _auth_env(key, idp, redis_url, workdir),
                                     args.proxy_cpu, workers)
            cookie = login(url) if key.startswith("auth-") else ""
            check_ok(url, cookie)
            out.append(Scenario(key, labels[key], url, cookie, variant, pgid=pid))
    return out


def _start_peers(keys: list[str], args: argparse.Namespace, upstream: str, idp: str, redis_url: str,
                 workdir: Path, procs: Processes) -> list[Scenario]:
    labels = dict(SCENARIOS)
    out = []
    for key in keys:
        sessions = "redis" if key == "peer-redis" else "client-cookie"
        url, pgid = start_apache(procs, workdir, key, idp=idp, upstream=upstream, sessions=sessions,
                                 redis_url=redis_url, cpu=args.proxy_cpu)
        cookie = peer_login(url)
        check_ok(url, cookie)
        out.append(Scenario(key, labels[key], url, cookie, pgid=pgid))
    return out


# The parts the flow benchmarks (logins.py, memory.py) start on their own.
start_redis, auth_env = _start_redis, _auth_env
