"""The cost of albauth's access log: albauth with a logged-in session (cookie store, as
bench.py's `auth-cookie`) with the access log off and on (`albauth serve --access-log alb
--access-log-file FILE`), measured with wrk in alternating rounds (ABBA order, so a linear
drift of the machine cancels); req/s ratio and CPU µs/request, on / off.

    PYTHONPATH=$PWD .venv/bin/python bench/accesslog.py                  # 6 rounds x 5 s
    PYTHONPATH=$PWD .venv/bin/python bench/accesslog.py --format json --rounds 4 --duration 3
    PYTHONPATH=$PWD .venv/bin/python bench/accesslog.py --profile 8     # and py-spy both

wrk, the upstream nginx and the provider run as in bench.py (`wrk -t1 -c32 --latency -s
bench/wrk.lua`, upstream `return 200 "ok\\n"`); both albauth processes sit on the proxy's
CPU, only one is loaded at a time. The log file is checked at the end: one line per
request. With --profile, py-spy samples each albauth under wrk and the report gives the
share of samples in the access-log code (albauth/ops/access_line.py, access_log.py,
log_sink.py, ListenerObserver.line, connection_facts). Writes
bench/results/<UTC stamp>-accesslog.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import BENCH, PY, Processes, free_port
from http_login import check_ok, login
from measure import Scenario, run_wrk
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
from servers import NGINX_UPSTREAM, session_env, snapshot_albauth, start_albauth, start_idp, start_nginx

METRIC = Metric("rps", "req/s", "cpu_us_per_request", "CPU µs/request")
# Where the access log's own work is (albauth/ops/…); a sample counts once if any frame matches.
LOG_FRAMES = ("albauth/ops/access_line.py", "albauth/ops/access_log.py", "albauth/ops/log_sink.py",
              "ListenerObserver.line (", "connection_facts (")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/accesslog.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="seconds of unrecorded wrk per server first (default 2)")
    p.add_argument("--rounds", type=int, default=6, help="rounds, each measuring off and on (default 6)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--format", choices=("alb", "json"), default="alb", help="the access log's format (default alb)")
    p.add_argument("--profile", type=int, default=0, metavar="SECONDS",
                   help="after the rounds, sample each albauth with py-spy under wrk for SECONDS")
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second (default 250)")
    add_pin_option(p)
    args = p.parse_args(argv)
    pin_cpus(args)
    return args


def start(args: argparse.Namespace, workdir: Path, procs: Processes) -> tuple[list[Scenario], Path]:
    """The upstream, the provider, albauth with the log off and on (logged in); the log file."""
    up_port = free_port()
    upstream, _ = start_nginx(procs, workdir, "upstream", NGINX_UPSTREAM.format(port=up_port), up_port, args.side_cpu)
    src = snapshot_albauth(workdir, "base", None)
    idp = start_idp(src, args.side_cpu, procs)
    log_file = workdir / "access.log"
    out = []
    for key, argv in (("off", ()), ("on", ("--access-log", args.format, "--access-log-file", str(log_file)))):
        url, pid = start_albauth(procs, f"albauth-log-{key}", src, upstream, session_env(idp, workdir),
                                 args.proxy_cpu, argv)
        cookie = login(url)
        check_ok(url, cookie)
        label = f"albauth + session, access log {'off' if key == 'off' else 'on (' + args.format + ', file)'}"
        out.append(Scenario(key, label, url, cookie, pgid=pid))
    return out, log_file


def run(args: argparse.Namespace) -> tuple[list[Series], dict[str, Any], dict[str, Any]]:
    with servers("accesslog", args.keep) as (workdir, procs):
        scenarios, log_file = start(args, workdir, procs)
        by_key = {s.key: s for s in scenarios}
        print(f"access-log bench: off/on x {args.rounds} rounds (ABBA) x {args.duration}s, wrk -t{args.threads} "
              f"-c{args.connections}, pin={args.pin} (work dir {workdir})", flush=True)
        for sc in scenarios:
            if args.warmup > 0:
                run_wrk(args, sc, args.warmup)
        series = [Series("off", by_key["off"].label), Series("on", by_key["on"].label, "off")]
        alternate(series, args.rounds, lambda s: run_wrk(args, by_key[s.key], args.duration),
                  lambda s, r: f"{r['rps']:,.0f} req/s, {r['cpu_us_per_request']:.1f} µs CPU/request", abba=True)
        profiles = profile_both(args, scenarios, procs) if args.profile else {}
        for sc in scenarios:
            check_ok(sc.url, sc.cookie)
        sent = sum(r["requests"] for r in series[1].runs)
        procs.stop_all()  # the sink writes out what it holds on stop
        written = log_check(log_file, sent)
    return series, written, profiles


def log_check(log_file: Path, measured_requests: int) -> dict[str, Any]:
    """The file after the stop: lines (every request of the server with the log on, the
    warm-up, login and checks included), bytes per line."""
    try:
        size = log_file.stat().st_size
        with open(log_file, "rb") as f:
            lines = sum(1 for _ in f)
    except OSError:
        size, lines = 0, 0
    return {"lines": lines, "bytes": size, "bytes_per_line": size / lines if lines else None,
            "requests_in_measured_runs": measured_requests,
            "complete": lines >= measured_requests}


def _profile_module() -> Any:
    """bench/profile.py's `top` and `_short` (loaded by path: `profile` is also a stdlib name)."""
    spec = importlib.util.spec_from_file_location("bench_profile", BENCH / "profile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def profile_both(args: argparse.Namespace, scenarios: list[Scenario], procs: Processes) -> dict[str, Any]:
    """py-spy on each albauth under wrk; collapsed stacks kept in bench/results/."""
    pyspy = str(Path(PY).parent / "py-spy")
    out: dict[str, Any] = {}
    stamp = utc_stamp()
    for sc in scenarios:
        collapsed = args.out / f"{stamp}-accesslog-profile-{sc.key}.txt"
        args.out.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen([pyspy, "record", "--format", "raw", "-r", str(args.rate), "-d", str(args.profile + 1),
                                "-o", str(collapsed), "--pid", str(sc.pgid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        time.sleep(0.5)
        r = run_wrk(args, sc, args.profile)
        _, err = spy.communicate(timeout=args.profile + 30)
        if spy.returncode != 0 or not collapsed.exists():
            out[sc.key] = {"error": err.decode(errors="replace")[-500:]}
            continue
        out[sc.key] = {"collapsed": str(collapsed), "rps_under_pyspy": r["rps"], **log_share(collapsed)}
    return out


def log_share(collapsed: Path) -> dict[str, Any]:
    """Samples in the access-log code (inclusive), and by function."""
    prof = _profile_module()
    total = in_log = observer = 0
    by_frame: collections.Counter[str] = collections.Counter()
    for frames, c in prof.stacks(collapsed):
        total += c
        hits = {prof._short(f) for f in frames if any(m in f for m in LOG_FRAMES)}
        if hits:
            in_log += c
        if any(f.startswith("ObserverHook.log (") for f in frames):  # metrics and, when on, the line
            observer += c
        for h in hits:
            by_frame[h] += c
    return {"samples": total, "access_log_samples": in_log,
            "access_log_share": in_log / total if total else None,
            "observer_share": observer / total if total else None,
            "access_log_frames": {f: c / total for f, c in by_frame.most_common(12)},
            "top": prof.top(collapsed, 15)}


def report(rows: list[dict[str, Any]], written: dict[str, Any], profiles: dict[str, Any]) -> str:
    def p99(r: dict[str, Any]) -> str:
        vals = sorted(x["latency_us"]["p99"] for x in r["runs"])
        return f"{vals[len(vals) // 2] / 1000:.2f}"

    def errors(r: dict[str, Any]) -> str:
        return str(sum(x["errors"]["status"] + x["errors"]["timeout"] + x["errors"]["read"] for x in r["runs"]))

    out = [markdown_table(rows, METRIC, [("p99 ms", p99), ("errors", errors)]), ""]
    out.append(f"log file: {written['lines']:,} lines, {written['bytes_per_line'] or 0:.0f} bytes/line, "
               f"{written['requests_in_measured_runs']:,} requests in the measured runs "
               f"({'every one logged' if written['complete'] else 'LINES MISSING'})")
    for key, p in profiles.items():
        if "error" in p:
            out.append(f"\npy-spy on '{key}' failed: {p['error']}")
            continue
        share = p["access_log_share"]
        out.append(f"\npy-spy, log {key}: {p['samples']} samples at {p['rps_under_pyspy']:,.0f} req/s; "
                   f"in access-log code: {100 * share:.1f} %; in ObserverHook.log (metrics + line): "
                   f"{100 * p['observer_share']:.1f} %")
        out += [f"  {100 * v:5.1f} %  {f}" for f, v in p["access_log_frames"].items()]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started, stamp, facts = time.monotonic(), utc_stamp(), machine_facts()
    try:
        series, written, profiles = run(args)
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        return 130
    rows = summarize(series, METRIC)
    method = ("wrk (bench/wrk.lua, the session's cookie) against albauth with the access log off and on, rounds in "
              "ABBA order; ratio_vs_baseline = median over rounds of (on req/s / off req/s of the same round); "
              "cost_vs_baseline = median over rounds of (on CPU µs/request / off CPU µs/request), CPU from "
              "schedstat of the albauth process")
    out = write_document("accesslog", args, argv, stamp, facts, started, method=method, results=rows,
                         log_file=written, profiles=profiles)
    print_header(out, facts, "bench/accesslog.py " + " ".join(argv))
    print(report(rows, written, profiles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
