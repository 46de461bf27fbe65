"""Large transfers through albauth: a 100 MiB download (GET) and upload (PUT) with curl, in
MiB/s, direct to the upstream (the ceiling), through nginx (the baseline), through
albauth's forward rule and through albauth with a logged-in session (cookie store), in
alternating rounds; reported as ratios against nginx in the same round.

    PYTHONPATH=$PWD .venv/bin/python bench/transfer.py                 # 5 rounds x 5 transfers, ~1 minute
    PYTHONPATH=$PWD .venv/bin/python bench/transfer.py --rounds 2 --repeat 2 --size-mib 50

The upstream is nginx (1 worker): `sendfile on` serves the file; the upload location reads
the whole body into memory with the echo module's `echo_read_request_body` (Debian's
libnginx-mod-http-echo, which nginx-light depends on) and only then answers
`read <request_length>`, which the run checks against the size sent. The nginx proxy is a
streaming proxy: `proxy_request_buffering off; proxy_buffering off;` with 64 KiB buffers
(`--nginx-buffer`), keep-alive to the upstream, `client_max_body_size 0`.

Per series the proxy's CPU time (schedstat of its process group) per MiB, the client's CPU
share (curl, rusage) and the upstream's are recorded, to show who is the bottleneck; the
proxies' VmHWM (resident high-water mark) before and after all transfers shows whether
albauth streams (a buffered 100 MiB body would lift it by 100 MiB). Writes
bench/results/<UTC stamp>-transfer.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import free_port
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
from routes import (
    BASELINE,
    ROUTES,
    Route,
    bottleneck,
    cpu_busy_since,
    cpu_ticks,
    group_hwm_kib,
    parse_routes,
    start_routes,
)
from servers import start_nginx

MIB = 1 << 20
ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")
DIRECTIONS = ("download", "upload")

UPSTREAM = """
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    sendfile on;
    location = /download {{ alias {blob}; default_type application/octet-stream; }}
    location = /upload {{
      client_max_body_size 0;
      # the whole body is read (into memory: no temp file) before the answer
      client_body_buffer_size {buffer};
      echo_read_request_body;
      echo "read $request_length";
    }}
    location / {{ default_type text/plain; return 200 "ok\\n"; }}
  }}
"""

STREAMING_PROXY = """
  upstream backend {{
    server {upstream};
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    client_max_body_size 0;
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffering off;
      client_body_buffer_size {buffer};
      proxy_buffer_size {buffer};
      proxy_buffers 4 {buffer};  # unused unbuffered, but checked against the busy size
      proxy_busy_buffers_size {buffer};
    }}
  }}
"""

METRIC = Metric("mib_s", "MiB/s", "cpu_ms_per_mib", "proxy CPU ms/MiB")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/transfer.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-mib", type=int, default=100, help="size of the file moved each way (default 100)")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    p.add_argument("--repeat", type=int, default=5, help="transfers per series and round (default 5)")
    p.add_argument("--routes", default=",".join(k for k, _ in ROUTES),
                   help=f"comma-separated subset of {', '.join(k for k, _ in ROUTES)} ({BASELINE} always)")
    p.add_argument("--directions", default=",".join(DIRECTIONS), help="download, upload or both (default)")
    p.add_argument("--nginx-buffer", default="64k",
                   help="the nginx proxy's client_body_buffer_size and proxy_buffer_size (default 64k)")
    add_pin_option(p)
    args = p.parse_args(argv)
    pin_cpus(args)
    return args


def make_blob(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        for _ in range(size // MIB):
            f.write(os.urandom(MIB))
        f.write(os.urandom(size % MIB))


def start_upstream(procs: Any, workdir: Path, blob: Path, size: int, cpu: str | None) -> tuple[str, int]:
    if not ECHO_MODULE.exists():
        raise SystemExit(f"no {ECHO_MODULE}: apt-get install libnginx-mod-http-echo")
    port = free_port()
    buffer = f"{size // MIB + 1}m"
    return start_nginx(procs, workdir, "upstream", UPSTREAM.format(port=port, blob=blob, buffer=buffer), port, cpu,
                       main=f"load_module {ECHO_MODULE};")


def curl_once(url: str, direction: str, blob: Path, size: int, cookie: str, cpu: str | None) -> dict[str, Any]:
    """One transfer; curl's own byte count and time, and what the upstream says it read."""
    argv = ["curl", "-sS", "-o", "-" if direction == "upload" else "/dev/null",
            "-w", "\n%{http_code} %{size_download} %{size_upload} %{time_total}"]
    if direction == "upload":
        argv += ["-T", str(blob)]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    argv.append(f"{url}/{direction}")
    if cpu is not None:
        argv = ["taskset", "-c", cpu, *argv]
    before, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    after, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic() - wall
    body, _, stats = res.stdout.rpartition("\n")
    fields = stats.split()
    if res.returncode != 0 or len(fields) != 4 or fields[0] != "200":
        raise RuntimeError(f"curl {direction} {url}: exit {res.returncode}, {res.stdout[-300:]!r} {res.stderr[-300:]}")
    moved = int(float(fields[1 if direction == "download" else 2]))
    if moved != size:
        raise RuntimeError(f"curl {direction} {url}: moved {moved} bytes, not {size}")
    if direction == "upload":
        read = int(body.strip().removeprefix("read "))  # request_length: the body and the head
        if read < size:
            raise RuntimeError(f"upload {url}: the upstream read {read} bytes of {size}")
    client_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"bytes": moved, "seconds": float(fields[3]), "client_cpu_s": client_s, "client_wall_s": wall}


def measure(route: Route, direction: str, args: argparse.Namespace, blob: Path, size: int,
            upstream_pgid: int) -> dict[str, Any]:
    """`--repeat` transfers back to back; CPU of the proxy and the upstream around them."""
    proxy0 = group_cpu_ns(route.pgid) if route.pgid else 0
    up0 = group_cpu_ns(upstream_pgid)
    ticks = cpu_ticks()
    wall0 = time.monotonic()
    done = [curl_once(route.url, direction, blob, size, route.cookie, args.side_cpu) for _ in range(args.repeat)]
    wall = time.monotonic() - wall0
    busy = cpu_busy_since(ticks)
    proxy_s = (group_cpu_ns(route.pgid) - proxy0) / 1e9 if route.pgid else None
    upstream_s = (group_cpu_ns(upstream_pgid) - up0) / 1e9
    moved = sum(d["bytes"] for d in done)
    seconds = sum(d["seconds"] for d in done)
    mib = moved / MIB
    client_s = sum(d["client_cpu_s"] for d in done)
    return {
        "transfers": done, "mib": mib, "seconds": seconds, "wall_s": wall,
        "mib_s": mib / seconds,
        "proxy_cpu_s": proxy_s,
        "cpu_ms_per_mib": proxy_s * 1e3 / mib if proxy_s is not None else None,
        "proxy_busy": proxy_s / seconds if proxy_s is not None else None,
        "upstream_busy": upstream_s / seconds,
        "client_busy": client_s / sum(d["client_wall_s"] for d in done),  # curl's start-up included
        "cpu_busy": busy,
    }


def run(args: argparse.Namespace, routes_wanted: list[str], directions: list[str]
        ) -> tuple[list[Series], dict[str, dict[str, Any]]]:
    """Start the upstream and the routes, warm up, run the rounds; the series and each
    proxy's memory before and after."""
    size = args.size_mib * MIB
    with servers("transfer", args.keep) as (workdir, procs):
        blob = workdir / "blob.bin"
        make_blob(blob, size)
        workdir.chmod(0o755)  # nginx's worker (nobody) reads the file
        blob.chmod(0o644)
        upstream, up_pgid = start_upstream(procs, workdir, blob, size, args.side_cpu)
        routes = start_routes(procs, workdir, routes_wanted, upstream, STREAMING_PROXY.replace(
            "{buffer}", args.nginx_buffer), args.proxy_cpu, args.side_cpu)
        by_key = {r.key: r for r in routes}
        pgids = {r.key: r.pgid for r in routes if r.pgid}
        memory: dict[str, dict[str, Any]] = {k: {"vmhwm_kib_before": group_hwm_kib(g)} for k, g in pgids.items()}
        series = [Series(f"{r.key}/{d}", f"{r.label}, {d}", f"{BASELINE}/{d}") for d in directions for r in routes]
        for s in series:  # warm-up: page cache, connections, albauth's first request
            key, _, direction = s.key.partition("/")
            curl_once(by_key[key].url, direction, blob, size, by_key[key].cookie, args.side_cpu)
        print(f"transfer bench: {len(series)} series x {args.rounds} rounds x {args.repeat} transfers of "
              f"{args.size_mib} MiB, pin={args.pin} (work dir {workdir})", flush=True)

        def one(s: Series) -> dict[str, Any]:
            key, _, direction = s.key.partition("/")
            return measure(by_key[key], direction, args, blob, size, up_pgid)

        alternate(series, args.rounds, one, lambda s, r: f"{r['mib_s']:,.0f} MiB/s" + (
            f", proxy {r['cpu_ms_per_mib']:.2f} ms CPU/MiB" if r["cpu_ms_per_mib"] is not None else ""))
        for key, pgid in pgids.items():
            memory[key]["vmhwm_kib_after"] = group_hwm_kib(pgid)
    return series, memory


def _mib(kib: int | None) -> str:
    return "–" if kib is None else f"{kib / 1024:.0f}"


def report(rows: list[dict[str, Any]], memory: dict[str, dict[str, Any]], pinned: bool) -> str:
    def median_of(name: str) -> Any:
        def cell(r: dict[str, Any]) -> str:
            vals = sorted(v for x in r["runs"] if (v := x.get(name)) is not None)
            return f"{100 * vals[len(vals) // 2]:.0f} %" if vals else "–"
        return cell

    def busy3(r: dict[str, Any]) -> str:
        return " / ".join(median_of(n)(r) for n in ("proxy_busy", "client_busy", "upstream_busy"))

    def hwm(r: dict[str, Any]) -> str:
        m = memory.get(r["key"].partition("/")[0])
        return f"{_mib(m['vmhwm_kib_before'])} → {_mib(m['vmhwm_kib_after'])}" if m else "–"

    def cores(r: dict[str, Any]) -> str:
        names = sorted(r["runs"][0]["cpu_busy"])
        return " / ".join(f"{100 * sorted(x['cpu_busy'][n] for x in r['runs'])[len(r['runs']) // 2]:.0f}"
                          for n in names) + " %"

    return markdown_table(rows, METRIC, [("proxy / client / upstream CPU", busy3),
                                         ("CPU0 / CPU1 busy", cores),
                                         ("proxy VmHWM MiB before → after", hwm),
                                         ("bottleneck", lambda r: bottleneck(r["runs"], pinned))])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    routes_wanted = parse_routes(args.routes)
    directions = [d for d in DIRECTIONS if d in args.directions.split(",")]
    started, stamp, facts = time.monotonic(), utc_stamp(), machine_facts()
    try:
        series, memory = run(args, routes_wanted, directions)
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        return 130
    rows = summarize(series, METRIC)
    method = ("curl (one process per transfer, pinned with the upstream) moves the file --repeat times per "
              "series and round; mib_s = bytes / curl's time_total summed; ratio_vs_baseline = median over "
              "rounds of (series MiB/s / nginx MiB/s of the same direction and round); cpu_ms_per_mib = CPU "
              "time of the proxy's process group (schedstat) / MiB; proxy_busy, upstream_busy = CPU seconds / "
              "transfer seconds, client_busy = curl's CPU / curl's wall time; "
              "vmhwm_kib = the largest VmHWM in the proxy's process group")
    out = write_document("transfer", args, argv, stamp, facts, started, method=method, size_bytes=args.size_mib * MIB,
                         results=rows, memory=memory)
    print_header(out, facts, "bench/transfer.py " + " ".join(argv))
    print(report(rows, memory, args.proxy_cpu is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
