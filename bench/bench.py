"""albauth throughput benchmark: nginx, a naive aiohttp proxy and albauth, measured with wrk
in alternating rounds on the same machine, reported as ratios against nginx pass-through.

    bench/run                        # everything, ~2-3 minutes
    bench/run --rounds 2 --duration 3 --scenarios albauth,auth-cookie
    bench/run --scenarios albauth --ab 8 --duration 2 --patch nodelay=/tmp/nodelay.diff
    bench/run --scenarios albauth --ab 8 --duration 2 --ref before=HEAD~1

Every server listens on 127.0.0.1 on a port picked at run time and runs in its own process
group; all of them are stopped when the run ends, also on Ctrl-C or an error. Each run
writes bench/results/<UTC timestamp>.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The modules beside this script (run as `bench/run`, the script's directory is on sys.path).
from common import ALBAUTH_KEYS, BASELINE, BENCH, PY, REPO, SCENARIOS, Processes
from http_login import check_ok
from measure import Scenario, ab_table, machine_facts, peer_table, run_ab, run_wrk, summarize, table
from servers import Variant, parse_variant, setup

__all__ = ["ALBAUTH_KEYS", "BASELINE", "BENCH", "PY", "REPO", "Processes", "Variant", "main",
           "parse_args", "run_wrk", "setup"]


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
    p.add_argument("--ref", action="append", default=[], metavar="NAME=GITREF",
                   help="also measure the selected albauth scenarios with albauth/ as it is at this git "
                        "ref (repeatable), e.g. before=HEAD~1")
    p.add_argument("--ab", type=int, default=0, metavar="PAIRS",
                   help="A/B mode: instead of rounds, measure each --patch / --ref variant against the "
                        "working tree in PAIRS back-to-back pairs (ABBA order) and report per-pair ratios "
                        "(variant / tree: a --ref to an older commit shows what the tree gained as < 1)")
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
    if (os.cpu_count() or 1) < 2 and args.pin != "none":
        args.pin, args.wrk_cpu, args.proxy_cpu, args.side_cpu = "none", "none", None, None
    return args


def measure(args: argparse.Namespace, wanted: set[str], variants: list[Variant],
            workdir: Path) -> tuple[list[Scenario], list[dict[str, Any]]] | None:
    """Start the servers, warm up, run the rounds (or the A/B pairs), stop everything.
    None when interrupted."""
    procs = Processes(workdir)
    try:
        scenarios = setup(args, wanted, variants, workdir, procs)
        print(f"albauth bench: {len(scenarios)} scenarios x {args.rounds} rounds x {args.duration:g}s, "
              f"wrk -t{args.threads} -c{args.connections}, pin={args.pin} (work dir {workdir})", flush=True)
        for sc in scenarios:
            if args.warmup > 0:
                run_wrk(args, sc, args.warmup)
        ab_rows = run_ab(args, scenarios) if args.ab else []
        for rnd in range(0 if args.ab else args.rounds):
            for sc in scenarios:
                r = run_wrk(args, sc, args.duration)
                sc.runs.append(r)
                print(f"  round {rnd + 1}: {sc.label}{' [' + sc.variant + ']' if sc.variant else ''}: "
                      f"{r['rps']:,.0f} req/s p50 {r['latency_us']['p50'] / 1000:.2f} ms "
                      f"p99 {r['latency_us']['p99'] / 1000:.2f} ms", flush=True)
        for sc in scenarios:  # sessions still valid at the end: every request was the hot path
            check_ok(sc.url, sc.cookie)
        return scenarios, ab_rows
    except KeyboardInterrupt:
        print("interrupted: stopping servers", file=sys.stderr)
        return None
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def result_document(args: argparse.Namespace, argv: list[str] | None, stamp: str, facts: dict[str, Any],
                    variants: list[Variant], rows: list[dict[str, Any]], ab_rows: list[dict[str, Any]],
                    elapsed: float) -> dict[str, Any]:
    command = " ".join(shlex.quote(a) for a in ["bench/run", *(sys.argv[1:] if argv is None else argv)])
    wrk_cmd = (("taskset -c " + args.wrk_cpu + " ") if args.wrk_cpu != "none" else "") + \
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency -s bench/wrk.lua URL/"
    result = {
        "timestamp": stamp,
        "command": command,
        "wrk_command": wrk_cmd,
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "patches": {v.name: str(v.patch) for v in variants if v.patch is not None},
        "refs": {v.name: v.ref for v in variants if v.ref is not None},
        "machine": facts,
        "elapsed_s": round(elapsed, 1),
        "method": ("ratio_vs_nginx = median over rounds of (scenario req/s / nginx pass-through req/s "
                   "in the same round); latencies are medians of the per-run wrk percentiles; "
                   "cpu_us_per_request = CPU time of the server's process group (schedstat, all threads) "
                   "during the run / requests; cpu_efficiency_vs_nginx = median over rounds of "
                   "(nginx CPU/request / scenario CPU/request)"),
        "results": rows,
    }
    if args.ab:
        result["ab"] = ab_rows
        result["method"] = ("A/B: per pair, variant / tree req/s and tree / variant server CPU per "
                            "request, pairs in ABBA order; median and range over pairs; 'wins' counts pairs "
                            "where the variant was better")
    return result


def print_report(args: argparse.Namespace, result: dict[str, Any], out: Path) -> None:
    facts = result["machine"]
    print()
    print(f"$ {result['command']}")
    print(f"  {result['wrk_command']}; {args.rounds} alternating rounds after {args.warmup:g}s warm-up; "
          f"pin={args.pin}")
    print(f"  {facts['nproc']} CPUs ({facts['cpu_model']}), python {facts['python']}, aiohttp "
          f"{facts['aiohttp_version']}, uvloop {facts['uvloop_version']}, {facts['nginx_version']}")
    print(f"  load average: start {facts['loadavg_start'].split()[:3]}, end {facts['loadavg_end'].split()[:3]}")
    print()
    print(ab_table(result["ab"]) if args.ab else table(result["results"]))
    if not args.ab and (versus := peer_table(result["results"])):
        print()
        print(versus)
    print()
    print(f"written {out.relative_to(REPO) if out.is_relative_to(REPO) else out} ({result['elapsed_s']} s)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = {k.strip() for k in args.scenarios.split(",") if k.strip()} | {BASELINE}
    unknown = wanted - {k for k, _ in SCENARIOS}
    if unknown:
        print(f"unknown scenario(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    variants = [parse_variant(s, ref=False) for s in args.patch] + [parse_variant(s, ref=True) for s in args.ref]

    started = time.monotonic()
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    facts = machine_facts()

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    measured = measure(args, wanted, variants, Path(tempfile.mkdtemp(prefix="albauth-bench-")))
    if measured is None:
        return 130
    scenarios, ab_rows = measured
    rows = [] if args.ab else summarize(scenarios)
    facts["loadavg_end"] = Path("/proc/loadavg").read_text().strip()
    result = result_document(args, argv, stamp, facts, variants, rows, ab_rows, time.monotonic() - started)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"{stamp}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print_report(args, result, out)
    bad = [r["key"] for r in rows if r["non_2xx_3xx"] or r["socket_errors"]]
    if args.ab:
        bad = [f"{r['scenario']}+{r['patch']}" for r in ab_rows if r["errors"]]
    if bad:
        print(f"WARNING: errors in {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
