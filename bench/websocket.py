"""WebSocket echo through albauth, in messages/s: N connections each keeping W small text
messages in flight against an echo upstream (bench/ws_echo.py, one process), direct (the
ceiling), through nginx (the baseline), through albauth's forward rule and through albauth
with a logged-in session (cookie store), in alternating rounds; reported as ratios against
nginx in the same round.

    PYTHONPATH=$PWD .venv/bin/python bench/websocket.py                # 3 rounds x 5 s
    PYTHONPATH=$PWD .venv/bin/python bench/websocket.py --duration 2 --engine aiohttp

The load comes from bench/ws_client.py processes (pinned with the upstream), which all
count echoes in the same wall-clock window; the connections and upgrades are made before
the window opens. `--engine raw` (default): client and echo server speak RFC 6455 on
asyncio protocols and write all the frames due after one read in one write: together they
cost a few µs per message, so the direct route runs far above the proxied ones and the
proxy is the bottleneck. `--engine aiohttp`: aiohttp's client and server, a write per
message; they cost more than nginx per message, so the other side's core saturates first.
The nginx proxy sets `proxy_http_version 1.1`, `Upgrade: $http_upgrade` and `Connection:
upgrade`. Per series: the proxy's CPU time per echoed message (schedstat of its process
group; each echo is two frames through the proxy), the client's and the echo server's CPU
per message, and each CPU's busy share (when CPU1, the client's, is saturated, messages/s
is bounded by the client side and the proxy CPU per message is the per-core comparison).
Writes bench/results/<UTC stamp>-websocket.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from common import BENCH, PY, Processes, free_port, wait_port
from http_login import check_ok
from measure import group_cpu_ns
from rounds import (
    Metric,
    Series,
    add_pin_option,
    alternate,
    machine_facts,
    markdown_table,
    pin_cpus,
    print_header,
    servers,
    summarize,
    utc_stamp,
    write_document,
)
from routes import BASELINE, ROUTES, Route, bottleneck, cpu_busy_since, cpu_ticks, parse_routes, start_routes

WS_PROXY = """
  upstream backend {{
    server {upstream};
    keepalive 16;
  }}
  map $http_upgrade $connection_upgrade {{
    default upgrade;
    ''      "";
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 1h;
    }}
  }}
"""

METRIC = Metric("msgs_s", "messages/s", "cpu_us_per_msg", "proxy CPU µs/message")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/websocket.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=5, help="seconds counted per series and round (default 5)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    p.add_argument("--connections", type=int, default=16, help="WebSocket connections in all (default 16)")
    p.add_argument("--window", type=int, default=16, help="messages in flight per connection (default 16)")
    p.add_argument("--size", type=int, default=32, help="bytes per text message (default 32)")
    p.add_argument("--client-procs", type=int, default=1,
                   help="client processes sharing the connections (default 1)")
    p.add_argument("--engine", choices=("raw", "aiohttp"), default="raw",
                   help="the client's and the echo server's WebSocket code: raw (default; RFC 6455 on an asyncio "
                        "protocol, all echoes of a read in one write, cheap) or aiohttp (a write per message)")
    p.add_argument("--routes", default=",".join(k for k, _ in ROUTES),
                   help=f"comma-separated subset of {', '.join(k for k, _ in ROUTES)} ({BASELINE} always)")
    add_pin_option(p)
    args = p.parse_args(argv)
    pin_cpus(args)
    if args.connections < args.client_procs:
        p.error("--connections must be at least --client-procs")
    return args


def start_echo(procs: Processes, engine: str, cpu: str | None) -> tuple[str, int]:
    port = free_port()
    proc = procs.start("ws-echo", [PY, str(BENCH / "ws_echo.py"), "--listen", f"127.0.0.1:{port}", "--engine", engine],
                       cpu=cpu)
    wait_port(port, proc, "ws-echo", procs)
    check_ok(f"http://127.0.0.1:{port}")
    return f"http://127.0.0.1:{port}", proc.pid


def run_clients(route: Route, args: argparse.Namespace, duration: float, echo_pid: int,
                settle: float = 0.3) -> dict[str, Any]:
    """The client processes against one route; the proxy's CPU time over the counted
    window (the connections are up by then)."""
    start_at = time.time() + 1.5 + 0.3 * args.client_procs  # imports and upgrades come first
    url = route.url.replace("http://", "ws://", 1) + "/ws"
    shares = [args.connections // args.client_procs + (i < args.connections % args.client_procs)
              for i in range(args.client_procs)]
    clients = []
    for n in shares:
        argv = [PY, str(BENCH / "ws_client.py"), "--url", url, "--connections", str(n), "--window",
                str(args.window), "--size", str(args.size), "--duration", str(duration), "--settle", str(settle),
                "--start-at", repr(start_at), "--engine", args.engine]
        if route.cookie:
            argv += ["--cookie", route.cookie]
        if args.side_cpu is not None:
            argv = ["taskset", "-c", args.side_cpu, *argv]
        clients.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        time.sleep(max(0.0, start_at + settle - time.time()))
        cpu0, echo0, ticks = (group_cpu_ns(route.pgid) if route.pgid else 0), group_cpu_ns(echo_pid), cpu_ticks()
        time.sleep(max(0.0, start_at + settle + duration - time.time()))
        cpu_ns = group_cpu_ns(route.pgid) - cpu0 if route.pgid else None
        echo_ns = group_cpu_ns(echo_pid) - echo0
        busy = cpu_busy_since(ticks)
        outs = [c.communicate(timeout=duration + 30) for c in clients]
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait()
    reports = []
    for c, (out, err) in zip(clients, outs):
        if c.returncode != 0 or not out.strip():
            raise RuntimeError(f"ws_client on {route.label} exited {c.returncode}:\n{err[-1500:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return {"clients": reports, "cpu_ns": cpu_ns, "echo_ns": echo_ns, "cpu_busy": busy}


def measure(route: Route, args: argparse.Namespace, echo_pid: int) -> dict[str, Any]:
    r = run_clients(route, args, args.duration, echo_pid)
    messages = sum(c["messages"] for c in r["clients"])
    errors = [e for c in r["clients"] for e in c["errors"]]
    if errors or any(c["late"] for c in r["clients"]):
        raise RuntimeError(f"{route.label}: {'late start; ' if any(c['late'] for c in r['clients']) else ''}"
                           f"{errors}")
    cpu_s = r["cpu_ns"] / 1e9 if r["cpu_ns"] is not None else None
    return {
        "messages": messages, "seconds": args.duration, "msgs_s": messages / args.duration,
        "proxy_cpu_s": cpu_s,
        "cpu_us_per_msg": cpu_s * 1e6 / messages if cpu_s is not None and messages else None,
        "proxy_busy": cpu_s / args.duration if cpu_s is not None else None,
        # the other side: every client process and the echo server, per message
        "client_cpu_us_per_msg": sum(c["cpu_s"] for c in r["clients"]) * 1e6 / max(1, messages),
        "echo_cpu_us_per_msg": r["echo_ns"] / 1e3 / max(1, messages),
        "cpu_busy": r["cpu_busy"], "clients": r["clients"],
    }


def run(args: argparse.Namespace, wanted: list[str]) -> list[Series]:
    with servers("websocket", args.keep) as (workdir, procs):
        upstream, echo_pid = start_echo(procs, args.engine, args.side_cpu)
        routes = start_routes(procs, workdir, wanted, upstream, WS_PROXY, args.proxy_cpu, args.side_cpu)
        by_key = {r.key: r for r in routes}
        series = [Series(r.key, r.label, BASELINE) for r in routes]
        print(f"websocket bench: {len(series)} routes x {args.rounds} rounds x {args.duration:g}s, "
              f"{args.connections} connections x {args.window} in flight x {args.size} B, "
              f"{args.client_procs} client process(es), pin={args.pin} (work dir {workdir})", flush=True)
        for r in routes:  # warm-up, and proof that the upgrade goes through every route
            run_clients(r, args, 1.0, echo_pid, settle=0.1)
        alternate(series, args.rounds, lambda s: measure(by_key[s.key], args, echo_pid),
                  lambda s, r: f"{r['msgs_s']:,.0f} messages/s" + (
                      f", proxy {r['cpu_us_per_msg']:.1f} µs CPU/message" if r["cpu_us_per_msg"] else ""))
        for r in routes:
            check_ok(r.url, r.cookie)  # the session still good at the end
    return series


def report(rows: list[dict[str, Any]], pinned: bool) -> str:
    def median(r: dict[str, Any], get: Any) -> float:
        vals = sorted(get(x) for x in r["runs"])
        return float(vals[len(vals) // 2])

    def proxy_busy(r: dict[str, Any]) -> str:
        return "–" if r["runs"][0]["proxy_busy"] is None else f"{100 * median(r, lambda x: x['proxy_busy']):.0f} %"

    def cores(r: dict[str, Any]) -> str:
        names = sorted(r["runs"][0]["cpu_busy"])
        return " / ".join(f"{100 * median(r, lambda x, n=n: x['cpu_busy'][n]):.0f}" for n in names) + " %"

    def other_side(r: dict[str, Any]) -> str:
        return (f"{median(r, lambda x: x['client_cpu_us_per_msg']):.1f} + "
                f"{median(r, lambda x: x['echo_cpu_us_per_msg']):.1f}")

    return markdown_table(rows, METRIC, [("proxy CPU busy", proxy_busy), ("CPU0 / CPU1 busy", cores),
                                         ("client + echo CPU µs/message", other_side),
                                         ("bottleneck", lambda r: bottleneck(r["runs"], pinned))])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    wanted = parse_routes(args.routes)
    started, stamp, facts = time.monotonic(), utc_stamp(), machine_facts()
    try:
        series = run(args, wanted)
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        return 130
    rows = summarize(series, METRIC)
    method = ("bench/ws_client.py processes (--engine) keep --window text messages of --size bytes in "
              "flight on each of --connections WebSockets and count the echoes in one wall-clock window of "
              "--duration s; msgs_s = echoes / duration; ratio_vs_baseline = median over rounds of (route "
              "msgs/s / nginx msgs/s of the same round); cpu_us_per_msg = CPU time of the proxy's process group "
              "(schedstat) over the window / echoes; cpu_busy = each CPU's busy share (/proc/stat) over the window")
    out = write_document("websocket", args, argv, stamp, facts, started, method=method, results=rows)
    print_header(out, facts, "bench/websocket.py " + " ".join(argv))
    print(report(rows, args.proxy_cpu is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
