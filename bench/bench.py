"""albauth throughput benchmark: nginx, a naive aiohttp proxy and albauth, measured with wrk
in alternating rounds on the same machine, reported as ratios against nginx pass-through.

    bench/run                        # everything, ~2-3 minutes
    bench/run --rounds 2 --duration 3 --scenarios albauth,auth-cookie
    bench/run --scenarios albauth,auth-cookie --patch nodelay=bench/patches/01-x.diff

Every server listens on 127.0.0.1 on a port picked at run time and runs in its own process
group; all of them are stopped when the run ends, also on Ctrl-C or an error. Each run
writes bench/results/<UTC timestamp>.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PY = sys.executable
SESSION_COOKIE = "AWSELBAuthSessionCookie"
SESSION_SECRET = "bench-session-secret-0123456789-abcdefghijkl"
CLIENT_ID, CLIENT_SECRET = "albauth-bench", "albauth-bench-secret"
UPSTREAM_BODY = "ok\n"

# (key, label); the order is the order of every round. nginx is the baseline.
SCENARIOS: list[tuple[str, str]] = [
    ("upstream", "upstream direct (nginx return 200)"),
    ("nginx", "nginx pass-through [baseline]"),
    ("naive", "naive aiohttp proxy"),
    ("albauth", "albauth pass-through"),
    ("auth-cookie", "albauth + session, cookie store"),
    ("auth-memory", "albauth + session, memory store"),
    ("auth-redis", "albauth + session, redis store"),
]
ALBAUTH_KEYS = ("albauth", "auth-cookie", "auth-memory", "auth-redis")
BASELINE = "nginx"


# -- processes -------------------------------------------------------------------------

class Processes:
    """Every server we start, each in its own session (process group), stopped in reverse."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], *, env: dict[str, str] | None = None,
              cpu: str | None = None, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        if cpu is not None:
            argv = ["taskset", "-c", cpu, *argv]
        log = open(self.logdir / f"{name}.log", "wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd or self.logdir, start_new_session=True)
        log.close()
        self.procs.append((name, proc))
        return proc

    def log_tail(self, name: str, lines: int = 20) -> str:
        try:
            text = (self.logdir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop_all(self) -> None:
        for _, proc in reversed(self.procs):
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)  # the group may hold children (nginx workers)
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        self.procs.clear()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session: the group id is the leader's pid
    except (ProcessLookupError, PermissionError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], name: str, procs: Processes,
              timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{procs.log_tail(name)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on {port} within {timeout}s:\n{procs.log_tail(name)}")


# -- HTTP helpers (plain http.client: no redirects, no cookie jar) ----------------------

@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def set_cookies(self) -> dict[str, str]:
        out = {}
        for k, v in self.headers:
            if k.lower() == "set-cookie":
                pair = v.split(";", 1)[0]
                name, _, value = pair.partition("=")
                out[name.strip()] = value.strip()
        return out


def http_request(method: str, url: str, headers: dict[str, str] | None = None,
                 body: bytes | None = None) -> Reply:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden" and "name" in a:
            self.fields[a["name"]] = a.get("value", "")


def login(base: str, username: str = "alice") -> str:
    """Log in through albauth and the built-in provider as a browser would; returns the
    Cookie header carrying the session shards (for the Host of `base`)."""
    first = http_request("GET", base + "/")
    assert first.status == 302, f"expected a login redirect, got {first.status}: {first.body[:200]!r}"
    jar = first.set_cookies()
    authorize = first.header("Location")
    page = http_request("GET", authorize)
    assert page.status == 200, f"provider login page: {page.status}"
    form = _Form()
    form.feed(page.body.decode())
    fields = dict(form.fields, username=username, password=username, action="login")
    p = urlsplit(authorize)
    target = form.action if form.action.startswith("http") else f"{p.scheme}://{p.netloc}{form.action or p.path}"
    posted = http_request("POST", target, {"Content-Type": "application/x-www-form-urlencoded"},
                          urlencode(fields).encode())
    assert posted.status == 302, f"provider form post: {posted.status}: {posted.body[:200]!r}"
    callback = posted.header("Location")
    assert callback.startswith(base + "/oauth2/idpresponse"), callback
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    done = http_request("GET", callback, {"Cookie": cookie})
    assert done.status == 302, f"callback: {done.status}: {done.body[:300]!r}"
    shards = {k: v for k, v in done.set_cookies().items() if k.startswith(SESSION_COOKIE + "-") and v}
    assert shards, f"no session cookies in {done.headers}"
    return "; ".join(f"{k}={v}" for k, v in sorted(shards.items()))


def check_ok(url: str, cookie: str = "") -> None:
    reply = http_request("GET", url + "/", {"Cookie": cookie} if cookie else {})
    if reply.status != 200 or reply.body != UPSTREAM_BODY.encode():
        raise RuntimeError(f"{url}: expected 200 {UPSTREAM_BODY!r}, got {reply.status} {reply.body[:200]!r}")


# -- servers ---------------------------------------------------------------------------

NGINX_COMMON = """
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
                cpu: str | None) -> tuple[str, int]:
    (workdir / f"{name}-tmp").mkdir(exist_ok=True)
    conf = workdir / f"{name}.conf"
    conf.write_text(NGINX_COMMON.format(dir=workdir, name=name, body=body))
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


def snapshot_albauth(workdir: Path, name: str, patch: Path | None) -> Path:
    """A copy of the working tree's package, optionally patched: measured code never
    changes under a run, and patches are measured without touching the shared tree."""
    dest = workdir / "src" / name
    shutil.copytree(REPO / "albauth", dest / "albauth",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if patch is not None:
        res = subprocess.run(["patch", "-p1", "--batch", "--forward", "-d", str(dest), "-i", str(patch.resolve())],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"patch {patch} does not apply:\n{res.stdout}{res.stderr}")
    where = subprocess.run([PY, "-c", "import albauth; print(albauth.__file__)"], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(dest)}, cwd=workdir)
    if not where.stdout.strip().startswith(str(dest)):
        raise RuntimeError(f"snapshot {dest} is not what Python imports: {where.stdout}{where.stderr}")
    return dest


# -- wrk -------------------------------------------------------------------------------

@dataclass
class Scenario:
    key: str
    label: str
    url: str = ""
    cookie: str = ""
    variant: str = ""  # patch name, "" for the tree as it is
    pgid: int = 0  # process group of the server under test (its CPU time is counted)
    runs: list[dict[str, Any]] = field(default_factory=list)


def group_cpu_ns(pgid: int) -> int:
    """CPU time (ns, from schedstat: exact, not tick-sampled) of every thread of every
    process in the group: the proxy's own cost, which a busy neighbour does not inflate
    the way it cuts throughput."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:  # field 5: pgrp
                continue
            for task in os.scandir(f"/proc/{entry.name}/task"):
                total += int(Path(f"{task.path}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


_LINE = re.compile(r"^BENCH_JSON (\{.*\})$", re.M)


def run_wrk(args: argparse.Namespace, sc: Scenario, duration: int) -> dict[str, Any]:
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "--latency",
            "-s", str(BENCH / "wrk.lua"), sc.url + "/"]
    if args.wrk_cpu != "none":
        argv = ["taskset", "-c", args.wrk_cpu, *argv]
    env = dict(os.environ, BENCH_COOKIE=sc.cookie)
    cpu0 = group_cpu_ns(sc.pgid) if sc.pgid else 0
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=duration + 20)
        cpu_ns = group_cpu_ns(sc.pgid) - cpu0 if sc.pgid else 0
    finally:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
    m = _LINE.search(out.decode(errors="replace"))
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed for {sc.label} ({proc.returncode}):\n{out.decode(errors='replace')}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["bytes_per_response"] = r["bytes"] / max(1, r["requests"])
    r["server_cpu_s"] = cpu_ns / 1e9
    r["cpu_us_per_request"] = cpu_ns / 1e3 / max(1, r["requests"])
    return r


# -- report ----------------------------------------------------------------------------

def summarize(scenarios: list[Scenario]) -> list[dict[str, Any]]:
    base = next(s for s in scenarios if s.key == BASELINE and not s.variant)
    rows = []
    for sc in scenarios:
        n = len(sc.runs)
        # Ratio per round against the baseline of the same round, then the median: drift
        # between rounds cancels out.
        ratios = [sc.runs[i]["rps"] / base.runs[i]["rps"] for i in range(n)]
        bad = sum(r["errors"]["status"] for r in sc.runs)
        sock = sum(r["errors"][k] for r in sc.runs for k in ("connect", "read", "write", "timeout"))
        rows.append({
            "key": sc.key + (f"+{sc.variant}" if sc.variant else ""),
            "scenario": sc.label,
            "variant": sc.variant or None,
            "url": sc.url,
            "rps_median": statistics.median(r["rps"] for r in sc.runs),
            "p50_ms_median": statistics.median(r["latency_us"]["p50"] for r in sc.runs) / 1000,
            "p99_ms_median": statistics.median(r["latency_us"]["p99"] for r in sc.runs) / 1000,
            "ratio_vs_nginx": statistics.median(ratios),
            "cpu_us_per_request_median": statistics.median(r["cpu_us_per_request"] for r in sc.runs),
            # nginx's CPU per request / this one's: throughput per fully used core, relative
            "cpu_efficiency_vs_nginx": statistics.median(
                base.runs[i]["cpu_us_per_request"] / sc.runs[i]["cpu_us_per_request"] for i in range(n)),
            "ratio_per_round": ratios,
            "rps_per_round": [r["rps"] for r in sc.runs],
            "non_2xx_3xx": bad,
            "socket_errors": sock,
            "bytes_per_response": statistics.median(r["bytes_per_response"] for r in sc.runs),
            "runs": sc.runs,
        })
    # A patched variant is also compared with its own unpatched scenario, round by round.
    by_key = {(s.key, s.variant): s for s in scenarios}
    for row, sc in zip(rows, scenarios):
        if sc.variant:
            plain = by_key[(sc.key, "")]
            gains = [sc.runs[i]["rps"] / plain.runs[i]["rps"] for i in range(len(sc.runs))]
            row["gain_vs_unpatched"] = statistics.median(gains)
            row["gain_per_round"] = gains
            cpu = [plain.runs[i]["cpu_us_per_request"] / sc.runs[i]["cpu_us_per_request"] for i in range(len(sc.runs))]
            row["cpu_gain_vs_unpatched"] = statistics.median(cpu)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = ("scenario", "req/s (median)", "p50 ms", "p99 ms", "vs nginx", "per round", "CPU µs/req",
            "vs nginx (CPU)", "notes")
    lines = []
    for r in rows:
        label = r["scenario"] + (f" [patch {r['variant']}]" if r["variant"] else "")
        notes = []
        if "gain_vs_unpatched" in r:
            notes.append(f"x{r['gain_vs_unpatched']:.3f} req/s, x{r['cpu_gain_vs_unpatched']:.3f} CPU vs unpatched")
        if r["non_2xx_3xx"] or r["socket_errors"]:
            notes.append(f"ERRORS non2xx={r['non_2xx_3xx']} sock={r['socket_errors']}")
        lines.append((label, f"{r['rps_median']:,.0f}", f"{r['p50_ms_median']:.2f}", f"{r['p99_ms_median']:.2f}",
                      f"{r['ratio_vs_nginx']:.3f}x", " ".join(f"{x:.3f}" for x in r["ratio_per_round"]),
                      f"{r['cpu_us_per_request_median']:.1f}", f"{r['cpu_efficiency_vs_nginx']:.3f}x",
                      "; ".join(notes)))
    widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(head)]
    fmt = lambda cols: "  ".join(c.ljust(w) if i in (0, 5, 8) else c.rjust(w)  # noqa: E731
                                 for i, (c, w) in enumerate(zip(cols, widths))).rstrip()
    return "\n".join([fmt(head), fmt(tuple("-" * w for w in widths)), *(fmt(l) for l in lines)])


def run_ab(args: argparse.Namespace, scenarios: list[Scenario]) -> list[dict[str, Any]]:
    plain = {s.key: s for s in scenarios if not s.variant}
    rows = []
    for sc in scenarios:
        if not sc.variant:
            continue
        base = plain[sc.key]
        pairs = []
        for i in range(args.ab):
            order = (base, sc) if i % 2 == 0 else (sc, base)  # ABBA: linear drift cancels
            res = {s.variant: run_wrk(args, s, args.duration) for s in order}
            a, b = res[""], res[sc.variant]
            pairs.append({"unpatched": a, "patched": b, "rps_gain": b["rps"] / a["rps"],
                          "cpu_gain": a["cpu_us_per_request"] / b["cpu_us_per_request"]})
            print(f"  {sc.key} [{sc.variant}] pair {i + 1}: req/s x{pairs[-1]['rps_gain']:.3f}, "
                  f"CPU/request x{pairs[-1]['cpu_gain']:.3f}", flush=True)
        rps = [p["rps_gain"] for p in pairs]
        cpu = [p["cpu_gain"] for p in pairs]
        rows.append({
            "scenario": sc.key, "label": sc.label, "patch": sc.variant, "pairs": pairs,
            "rps_gain_median": statistics.median(rps), "rps_gain_range": [min(rps), max(rps)],
            "rps_wins": sum(g > 1 for g in rps),
            "cpu_gain_median": statistics.median(cpu), "cpu_gain_range": [min(cpu), max(cpu)],
            "cpu_wins": sum(g > 1 for g in cpu),
            "cpu_us_per_request_unpatched": statistics.median(p["unpatched"]["cpu_us_per_request"] for p in pairs),
            "cpu_us_per_request_patched": statistics.median(p["patched"]["cpu_us_per_request"] for p in pairs),
            "errors": sum(p[k]["errors"]["status"] for p in pairs for k in ("unpatched", "patched")),
        })
    return rows


def ab_table(rows: list[dict[str, Any]]) -> str:
    head = ("scenario", "patch", "req/s gain (median, range, wins)", "CPU/request gain (median, range, wins)",
            "CPU µs/req before -> after")
    lines = [(r["scenario"], r["patch"],
              f"x{r['rps_gain_median']:.3f} [{r['rps_gain_range'][0]:.3f}-{r['rps_gain_range'][1]:.3f}] "
              f"{r['rps_wins']}/{len(r['pairs'])}",
              f"x{r['cpu_gain_median']:.3f} [{r['cpu_gain_range'][0]:.3f}-{r['cpu_gain_range'][1]:.3f}] "
              f"{r['cpu_wins']}/{len(r['pairs'])}",
              f"{r['cpu_us_per_request_unpatched']:.1f} -> {r['cpu_us_per_request_patched']:.1f}")
             for r in rows]
    widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(head)]
    fmt = lambda cols: "  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(head), fmt(tuple("-" * w for w in widths)), *(fmt(l) for l in lines)])


def machine_facts() -> dict[str, Any]:
    def out(argv: list[str]) -> str:
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip()
        except OSError as exc:
            return f"unavailable: {exc}"

    model = ""
    try:
        model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                      if l.startswith("model name")), "")
    except OSError:
        pass
    versions = {}
    for mod in ("aiohttp", "uvloop", "multidict", "yarl", "redis", "cryptography"):
        try:
            from importlib.metadata import version

            versions[mod] = version(mod)
        except Exception:
            versions[mod] = None
    return {
        "nproc": out(["nproc"]),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "python_executable": PY,
        **{f"{k}_version": v for k, v in versions.items()},
        "nginx_version": out(["nginx", "-v"]),
        "wrk_version": out(["wrk", "-v"]).splitlines()[0] if shutil.which("wrk") else None,
        "redis_version": out(["redis-server", "--version"]) if shutil.which("redis-server") else None,
        "git_commit": out(["git", "-C", str(REPO), "rev-parse", "HEAD"]),
        "albauth_tree_changes": out(["git", "-C", str(REPO), "status", "--porcelain", "--", "albauth"]),
        "loadavg_start": Path("/proc/loadavg").read_text().strip(),
    }


# -- main ------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=5, help="seconds per measured wrk run (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="seconds of unrecorded wrk per scenario first (default 2)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--scenarios", default=",".join(k for k, _ in SCENARIOS),
                   help="comma-separated subset of: " + ", ".join(k for k, _ in SCENARIOS)
                   + f" ({BASELINE} is always measured)")
    p.add_argument("--patch", action="append", default=[], metavar="NAME=FILE",
                   help="also measure the selected albauth scenarios with this patch applied to a copy "
                        "of albauth/ (repeatable; the working tree is never touched)")
    p.add_argument("--ab", type=int, default=0, metavar="PAIRS",
                   help="patch A/B mode: instead of rounds, measure each --patch against the unpatched "
                        "scenario in PAIRS back-to-back pairs (ABBA order) and report per-pair ratios")
    p.add_argument("--pin", choices=("split", "wrk", "none"), default="split",
                   help="split (default): proxies under test on CPU 0; wrk, the upstream nginx, the "
                        "provider and redis on CPU 1. wrk: only wrk on CPU 1. none: no pinning")
    p.add_argument("--naive-loop", choices=("uvloop", "asyncio"), default="uvloop",
                   help="event loop of the naive proxy (default uvloop, as albauth)")
    p.add_argument("--keep", action="store_true", help="keep the work dir (configs, server logs)")
    p.add_argument("--out", type=Path, default=BENCH / "results", help="where the JSON goes")
    args = p.parse_args(argv)
    args.wrk_cpu = "none" if args.pin == "none" else "1"
    args.proxy_cpu = "0" if args.pin == "split" else None
    args.side_cpu = "1" if args.pin == "split" else None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = {k.strip() for k in args.scenarios.split(",") if k.strip()} | {BASELINE}
    unknown = wanted - {k for k, _ in SCENARIOS}
    if unknown:
        print(f"unknown scenario(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    patches: list[tuple[str, Path]] = []
    for spec in args.patch:
        name, _, file = spec.partition("=")
        if not file:
            name, file = Path(spec).stem, spec
        patches.append((name, Path(file)))
    if (os.cpu_count() or 1) < 2 and args.pin != "none":
        args.pin, args.wrk_cpu, args.proxy_cpu, args.side_cpu = "none", "none", None, None

    started = time.monotonic()
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    facts = machine_facts()
    workdir = Path(tempfile.mkdtemp(prefix="albauth-bench-"))
    procs = Processes(workdir)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    scenarios: list[Scenario] = []
    ab_rows: list[dict[str, Any]] = []
    try:
        scenarios = setup(args, wanted, patches, workdir, procs)
        print(f"albauth bench: {len(scenarios)} scenarios x {args.rounds} rounds x {args.duration:g}s, "
              f"wrk -t{args.threads} -c{args.connections}, pin={args.pin} (work dir {workdir})", flush=True)
        for sc in scenarios:
            if args.warmup > 0:
                run_wrk(args, sc, args.warmup)
        if args.ab:
            ab_rows = run_ab(args, scenarios)
        for rnd in range(0 if args.ab else args.rounds):
            for sc in scenarios:
                r = run_wrk(args, sc, args.duration)
                sc.runs.append(r)
                print(f"  round {rnd + 1}: {sc.label}{' [' + sc.variant + ']' if sc.variant else ''}: "
                      f"{r['rps']:,.0f} req/s p50 {r['latency_us']['p50'] / 1000:.2f} ms "
                      f"p99 {r['latency_us']['p99'] / 1000:.2f} ms", flush=True)
        for sc in scenarios:  # sessions still valid at the end: every request was the hot path
            check_ok(sc.url, sc.cookie)
    except KeyboardInterrupt:
        print("interrupted: stopping servers", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    rows = [] if args.ab else summarize(scenarios)
    facts["loadavg_end"] = Path("/proc/loadavg").read_text().strip()
    command = " ".join(shlex.quote(a) for a in ["bench/run", *(sys.argv[1:] if argv is None else argv)])
    wrk_cmd = (("taskset -c " + args.wrk_cpu + " ") if args.wrk_cpu != "none" else "") + \
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency -s bench/wrk.lua URL/"
    result = {
        "timestamp": stamp,
        "command": command,
        "wrk_command": wrk_cmd,
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "patches": {n: str(f) for n, f in patches},
        "machine": facts,
        "elapsed_s": round(time.monotonic() - started, 1),
        "method": ("ratio_vs_nginx = median over rounds of (scenario req/s / nginx pass-through req/s "
                   "in the same round); latencies are medians of the per-run wrk percentiles; "
                   "cpu_us_per_request = CPU time of the server's process group (schedstat, all threads) "
                   "during the run / requests; cpu_efficiency_vs_nginx = median over rounds of "
                   "(nginx CPU/request / scenario CPU/request)"),
        "results": rows,
    }
    if args.ab:
        result["ab"] = ab_rows
        result["method"] = ("A/B: per pair, patched / unpatched req/s and unpatched / patched server CPU per "
                            "request, pairs in ABBA order; median and range over pairs; 'wins' counts pairs "
                            "where the patched one was better")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"{stamp}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print()
    print(f"$ {command}")
    print(f"  {wrk_cmd}; {args.rounds} alternating rounds after {args.warmup:g}s warm-up; pin={args.pin}")
    print(f"  {facts['nproc']} CPUs ({facts['cpu_model']}), python {facts['python']}, aiohttp "
          f"{facts['aiohttp_version']}, uvloop {facts['uvloop_version']}, {facts['nginx_version']}")
    print(f"  load average: start {facts['loadavg_start'].split()[:3]}, end {facts['loadavg_end'].split()[:3]}")
    print()
    print(ab_table(ab_rows) if args.ab else table(rows))
    print()
    print(f"written {out.relative_to(REPO) if out.is_relative_to(REPO) else out} ({result['elapsed_s']} s)")
    bad = [r["key"] for r in rows if r["non_2xx_3xx"] or r["socket_errors"]]
    if args.ab:
        bad = [f"{r['scenario']}+{r['patch']}" for r in ab_rows if r["errors"]]
    if bad:
        print(f"WARNING: errors in {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def setup(args: argparse.Namespace, wanted: set[str], patches: list[tuple[str, Path]], workdir: Path,
          procs: Processes) -> list[Scenario]:
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

    selected = [k for k in ALBAUTH_KEYS if k in wanted]
    if not selected:
        return out
    idp = redis_url = None
    srcs = {"": snapshot_albauth(workdir, "base", None)}
    srcs.update((name, snapshot_albauth(workdir, name, patch)) for name, patch in patches)
    if any(k.startswith("auth-") for k in selected):
        idp_port = free_port()
        proc = procs.start("idp", [PY, "-m", "albauth", "idp", "--host", "127.0.0.1", "--port", str(idp_port),
                                   "--users", str(BENCH / "idp-users.yaml")],
                           env=albauth_env(srcs[""], 0, "", {}), cpu=side)
        wait_port(idp_port, proc, "idp", procs)
        idp = f"http://127.0.0.1:{idp_port}"
    if "auth-redis" in selected:
        if not (REPO / "albauth/session/redis_store.py").exists() or not shutil.which("redis-server"):
            print("skipping auth-redis: no albauth/session/redis_store.py or no redis-server", file=sys.stderr)
            selected.remove("auth-redis")
        else:
            rport = free_port()
            proc = procs.start("redis", ["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no", "--daemonize", "no",
                                         "--dir", str(workdir)], cpu=side)
            wait_port(rport, proc, "redis", procs)
            redis_url = f"redis://127.0.0.1:{rport}/0"

    for variant, src in srcs.items():
        for key in selected:
            extra: dict[str, str] = {}
            if key.startswith("auth-"):
                store = key.removeprefix("auth-")
                extra = {
                    "ALBAUTH_OIDC_ISSUER": idp or "",
                    "ALBAUTH_OIDC_CLIENT_ID": CLIENT_ID,
                    "ALBAUTH_OIDC_CLIENT_SECRET": CLIENT_SECRET,
                    "ALBAUTH_SESSION_STORE": redis_url if store == "redis" else store,
                    "ALBAUTH_SESSION_SECRET": SESSION_SECRET,
                    "ALBAUTH_SIGNING_KEY_FILE": str(workdir / "signing.pem"),
                }
            port = free_port()
            name = f"{key}{'-' + variant if variant else ''}"
            proc = procs.start(name, [PY, "-m", "albauth", "serve"],
                               env=albauth_env(src, port, upstream, extra), cpu=px)
            wait_port(port, proc, name, procs)
            url = f"http://127.0.0.1:{port}"
            cookie = login(url) if key.startswith("auth-") else ""
            check_ok(url, cookie)
            out.append(Scenario(key, labels[key], url, cookie, variant, pgid=proc.pid))
    # Round order: the scenario list order, each patched variant right after its original.
    order = {k: i for i, (k, _) in enumerate(SCENARIOS)}
    out.sort(key=lambda s: (order[s.key], s.variant != "", s.variant))
    return out


if __name__ == "__main__":
    sys.exit(main())
