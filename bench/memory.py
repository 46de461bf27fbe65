"""Memory per worker: `albauth serve` (one process, authenticate-oidc against the built-in
provider, memory session store by default) holding --sessions live sessions and
--connections idle keep-alive client connections; VmRSS and VmHWM (/proc/<pid>/status)
of every process of albauth's group at each step. Target: <= 100 MB RSS per worker.

    PYTHONPATH=$PWD .venv/bin/python bench/memory.py                      # ~1 minute
    PYTHONPATH=$PWD .venv/bin/python bench/memory.py --store cookie --sessions 1000
    PYTHONPATH=$PWD .venv/bin/python bench/memory.py --store cookie --workers 2 --sessions 1000

Steps (each followed by a reading): started and listening; one login (lazy imports, the
provider's keys and discovery fetched); --sessions logins through albauth's real flow
(GET / 302, the provider's page and form, the callback; every session then verified by
GET / answering 200 "ok\\n"), --concurrency at a time over keep-alive client connections;
then --connections new connections, each sending one authenticated request with a
different session (spread over all of them) and reading its 200, then left open and idle.
albauth's idle timeout is 60 s; the reading is taken seconds later, with the number of
descriptors albauth holds as the evidence that the connections are still open.

Writes bench/results/<UTC stamp>-memory.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import os
import resource
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import BENCH, UPSTREAM_BODY, Processes, group_pids
from flow_servers import Target, start_stack, start_target
from login_client import failure_kind, full_login, new_browser
from measure import machine_facts

TARGET_MB = 100.0
STATUS_FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/memory.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=10_000, help="logins made through the flow (default 10000)")
    p.add_argument("--connections", type=int, default=1000, help="idle keep-alive connections (default 1000)")
    p.add_argument("--concurrency", type=int, default=32, help="logins in flight at a time (default 32)")
    p.add_argument("--store", choices=("memory", "cookie", "redis"), default="memory")
    p.add_argument("--workers", type=int, default=1, help="albauth --workers (not with the memory store)")
    p.add_argument("--settle", type=float, default=2.0, help="seconds before each reading (default 2)")
    p.add_argument("--keep", action="store_true", help="keep the work dir (configs, server logs)")
    p.add_argument("--out", type=Path, default=BENCH / "results", help="where the JSON goes")
    args = p.parse_args(argv)
    if args.workers > 1 and args.store == "memory":
        p.error("albauth refuses --workers > 1 with the memory store (sessions would live in one worker)")
    if args.connections > args.sessions:
        p.error("each idle connection uses its own session: --connections <= --sessions")
    return args


def raise_nofile(needed: int) -> tuple[int, int]:
    """This process holds every idle connection (and albauth, started from it, inherits
    the limit before lifting its own to the hard one): the soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed and (hard == resource.RLIM_INFINITY or soft < hard):
        soft = hard if hard != resource.RLIM_INFINITY else max(needed, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft < needed:
        raise RuntimeError(f"open files limit {soft} (hard {hard}) < {needed} needed; raise ulimit -n")
    return soft, hard


def proc_status(pid: int) -> dict[str, Any]:
    """The memory lines of /proc/<pid>/status (kB) and the descriptors it holds."""
    out: dict[str, Any] = {"pid": pid}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in STATUS_FIELDS:
            out[key + ("" if key == "Threads" else "_kB")] = int(value.split()[0])
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def reading(step: str, target: Target, workers: int) -> dict[str, Any]:
    """Every process of albauth's group: with --workers, the supervising parent and each
    worker (a worker is what serves requests; the target is per worker)."""
    procs = []
    for pid in group_pids(target.pgid):
        st = proc_status(pid)
        st["role"] = "supervisor" if workers > 1 and pid == target.pgid else "worker"
        procs.append(st)
    return {"step": step, "time": time.time(), "processes": procs}


async def make_sessions(target: Target, count: int, concurrency: int) -> tuple[list[str], dict[str, int], float]:
    """`count` verified logins; the Cookie header of each session, failures by kind."""
    cookies: list[str] = []
    failures: dict[str, int] = {}
    todo = iter(range(count))
    started = time.monotonic()
    async with new_browser(limit=concurrency) as http:
        async def worker() -> None:
            for _ in todo:
                try:
                    jar = await full_login(target.flow, http)
                except Exception as exc:  # counted and reported
                    kind = failure_kind(exc)
                    failures[kind] = failures.get(kind, 0) + 1
                    continue
                session = jar.session(target.flow.session_prefix)
                cookies.append("; ".join(f"{k}={v}" for k, v in sorted(session.items())))
                if len(cookies) % 2000 == 0:
                    print(f"  {len(cookies)} sessions ({time.monotonic() - started:.0f} s)", flush=True)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return cookies, failures, time.monotonic() - started


async def open_idle(target: Target, cookies: list[str], parallel: int = 50) -> tuple[list[asyncio.StreamWriter],
                                                                                    dict[str, int]]:
    """One connection per cookie: one authenticated GET / answered 200 "ok\\n", then idle."""
    host = target.flow.base.removeprefix("http://")
    hostname, _, port = host.partition(":")
    writers: list[asyncio.StreamWriter] = []
    failures: dict[str, int] = {}
    gate = asyncio.Semaphore(parallel)

    async def one(cookie: str) -> None:
        async with gate:
            try:
                reader, writer = await asyncio.open_connection(hostname, int(port))
                writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\nCookie: {cookie}\r\n\r\n"
                             .encode())
                head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode("latin-1")
                length = next((int(l.split(":", 1)[1]) for l in head.split("\r\n")
                               if l.lower().startswith("content-length:")), 0)
                body = await asyncio.wait_for(reader.readexactly(length), 10)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
                kind = failure_kind(exc)
                failures[kind] = failures.get(kind, 0) + 1
                return
            writers.append(writer)
            if not head.startswith("HTTP/1.1 200") or body != UPSTREAM_BODY.encode():
                kind = f"idle connection's request: {head.splitlines()[0]} {body[:40]!r}"
                failures[kind] = failures.get(kind, 0) + 1
            elif "connection: close" in head.lower():
                failures["server closes the connection"] = failures.get("server closes the connection", 0) + 1

    await asyncio.gather(*(one(c) for c in cookies))
    return writers, failures


async def steps(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    """The readings at each step, the idle connections still open at the last one."""
    readings = [reading("started (listening)", target, args.workers)]
    cookies, failures, _ = await make_sessions(target, 1, 1)
    await asyncio.sleep(args.settle)
    readings.append(reading("after 1 login", target, args.workers))
    more, more_failures, took = await make_sessions(target, args.sessions - 1, args.concurrency)
    cookies += more
    for kind, n in more_failures.items():
        failures[kind] = failures.get(kind, 0) + n
    print(f"{len(cookies)} sessions in {took:.1f} s ({len(cookies) / took:.0f} logins/s), "
          f"{sum(failures.values())} failures", flush=True)
    await asyncio.sleep(args.settle)
    readings.append(reading(f"after {len(cookies)} logins", target, args.workers))
    # A different session on every connection, spread over all of them (oldest to newest).
    picked = [cookies[i * len(cookies) // args.connections] for i in range(args.connections)] if cookies else []
    writers, idle_failures = await open_idle(target, picked)
    await asyncio.sleep(args.settle)
    readings.append(reading(f"{len(writers)} idle connections open", target, args.workers))
    print(f"{len(writers)} idle connections, {sum(idle_failures.values())} failures", flush=True)
    for w in writers:
        w.close()
    return {"readings": readings, "sessions": len(cookies), "login_failures": failures,
            "logins_s": round(took, 1), "idle_connections": len(writers), "idle_failures": idle_failures}


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any] | None:
    procs = Processes(workdir)
    try:
        stack = start_stack(workdir, procs, side_cpu=None, redis=args.store == "redis")
        target = start_target(stack, f"albauth-{args.store}", cpu=None, workers=args.workers)
        time.sleep(args.settle if args.workers == 1 else args.settle + 3)  # workers start after the parent
        print(f"memory: albauth serve --workers {args.workers}, {args.store} store, {args.sessions} sessions, "
              f"{args.connections} idle connections (work dir {workdir})", flush=True)
        return asyncio.run(steps(args, target))
    except KeyboardInterrupt:
        print("interrupted: stopping servers", file=sys.stderr)
        return None
    finally:
        procs.stop_all()
        if args.keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def mib(kb: int) -> float:
    return kb / 1024


def summary(args: argparse.Namespace, out: dict[str, Any]) -> dict[str, Any]:
    """Per-session and per-connection growth of the largest worker; the target check on
    the workers' peak (VmHWM), in MB of 10^6 bytes as the target is written."""
    def worst(r: dict[str, Any], key: str) -> int:
        return max(p[key] for p in r["processes"] if p["role"] == "worker")

    first, logged, idle = out["readings"][1], out["readings"][2], out["readings"][3]
    peak_kb = max(worst(r, "VmHWM_kB") for r in out["readings"])
    n_workers = max(1, args.workers)
    return {
        "per_login_kB": (worst(logged, "VmRSS_kB") - worst(first, "VmRSS_kB")) * n_workers
        / max(1, out["sessions"] - 1),
        "per_idle_connection_kB": (worst(idle, "VmRSS_kB") - worst(logged, "VmRSS_kB")) * n_workers
        / max(1, out["idle_connections"]),
        "worker_peak_VmHWM_MB": peak_kb * 1024 / 1e6,
        "worker_final_VmRSS_MB": worst(idle, "VmRSS_kB") * 1024 / 1e6,
        "target_MB": TARGET_MB,
        "within_target": peak_kb * 1024 / 1e6 <= TARGET_MB,
    }


def markdown(args: argparse.Namespace, out: dict[str, Any], summ: dict[str, Any]) -> str:
    lines = ["| step | process | VmRSS MiB | VmHWM MiB | RssAnon MiB | fds |", "|---|---|---|---|---|---|"]
    for r in out["readings"]:
        for p in r["processes"]:
            lines.append(f"| {r['step']} | {p['role']} {p['pid']} | {mib(p['VmRSS_kB']):.1f} | "
                         f"{mib(p['VmHWM_kB']):.1f} | {mib(p.get('RssAnon_kB', 0)):.1f} | {p['fds']} |")
    held = "the process holds each session" if args.store == "memory" else "sessions live outside the process"
    lines += ["", f"* RSS growth per login: {summ['per_login_kB']:.2f} kB ({held}); per idle connection: "
                  f"{summ['per_idle_connection_kB']:.1f} kB RSS (largest worker's growth"
                  f"{' x workers' if len(out['readings'][0]['processes']) > 1 else ''})",
              f"* worker peak (VmHWM) {summ['worker_peak_VmHWM_MB']:.1f} MB, final VmRSS "
              f"{summ['worker_final_VmRSS_MB']:.1f} MB (10^6 bytes): "
              f"{'within' if summ['within_target'] else 'OVER'} the {summ['target_MB']:.0f} MB target"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limits = raise_nofile(args.connections + args.concurrency * 4 + 256)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started, stamp = time.monotonic(), _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    facts = machine_facts()
    out = measure(args, Path(tempfile.mkdtemp(prefix="albauth-memory-")))
    if out is None:
        return 130
    facts["loadavg_end"] = Path("/proc/loadavg").read_text().strip()
    summ = summary(args, out)
    command = " ".join(shlex.quote(a) for a in ["bench/memory.py", *(sys.argv[1:] if argv is None else argv)])
    doc = {"timestamp": stamp, "command": command,
           "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
           "open_files_limit": {"soft": limits[0], "hard": limits[1]}, "machine": facts,
           "elapsed_s": round(time.monotonic() - started, 1), "summary": summ, **out}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{stamp}-memory.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"\n$ {command}\n  load average: start {facts['loadavg_start'].split()[:3]}, end "
          f"{facts['loadavg_end'].split()[:3]}; open files limit {limits[0]}\n")
    print(markdown(args, out, summ))
    print(f"\nwritten {path} ({doc['elapsed_s']} s)")
    failed = sum(out["login_failures"].values()) + sum(out["idle_failures"].values())
    if failed:
        print(f"WARNING: {failed} failures: {out['login_failures']} {out['idle_failures']}", file=sys.stderr)
    return 1 if failed or out["idle_connections"] < args.connections else 0


if __name__ == "__main__":
    sys.exit(main())
