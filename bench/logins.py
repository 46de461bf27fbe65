"""Logins per second through the full authorization-code flow: albauth against the peer
(Apache + mod_auth_openidc), both against the same built-in provider (`albauth idp`) and the
same nginx upstream, in alternating rounds.

    PYTHONPATH=$PWD .venv/bin/python bench/logins.py                  # ~2.5 minutes
    PYTHONPATH=$PWD .venv/bin/python bench/logins.py --duration 2 --rounds 1 --targets albauth-cookie,peer-cookie

A login is a new browser (own cookies, own connections): GET / on the proxy (302 to the
provider), the provider's sign-in page, the form POST as alice/alice (302 to the callback),
the callback on the proxy (302 with the session cookies), then GET / with them, which must
answer the upstream's 200 "ok\\n": only verified logins count; every failure is counted by
kind. Two modes per target: `sequential` (one browser, back-to-back logins for --duration
seconds) and `concurrent` (--concurrency browsers doing the same).

CPU time (schedstat) of the proxy, the provider, the upstream, redis and of this client is
read around every run. With --pin split (default) the proxy under test has CPU 0 to itself;
the provider, the client, the upstream and redis share CPU 1. When that side is saturated
the logins/s ratio is bounded by it (it says little about the proxies): the proxy's CPU
per login is then the comparison (the verdict lines say which case a run was).

Writes bench/results/<UTC stamp>-logins.json and prints markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import BENCH, Processes
from flow_servers import TARGETS, Stack, Target, start_stack, start_target
from login_load import run_logins
from measure import machine_facts

DEFAULT_TARGETS = "albauth-cookie,albauth-redis,peer-cookie,peer-redis"
PAIRS = [("albauth-cookie", "peer-cookie"), ("albauth-redis", "peer-redis"), ("albauth-memory", "peer-cookie")]
SATURATED = 0.85  # share of one core above which a CPU counts as the bottleneck


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/logins.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=5, help="seconds per measured run (default 5)")
    p.add_argument("--warmup", type=float, default=2, help="seconds of unrecorded logins per target first")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    p.add_argument("--concurrency", type=int, default=16, help="browsers of the concurrent mode (default 16)")
    p.add_argument("--modes", default="sequential,concurrent", help="sequential and/or concurrent")
    p.add_argument("--targets", default=DEFAULT_TARGETS, help="comma-separated subset of: " + ", ".join(TARGETS))
    p.add_argument("--shared-connections", action="store_true",
                   help="browsers keep their connections across logins (default: every login opens new "
                        "ones, as a new browser does); lighter on the client and the provider")
    p.add_argument("--pin", choices=("split", "none"), default="split",
                   help="split (default): the proxy under test on CPU 0; provider, client, upstream and "
                        "redis on CPU 1. none: no pinning")
    p.add_argument("--proxy-cpus", help="taskset CPU list of the proxy under test (overrides --pin)")
    p.add_argument("--side-cpus", help="CPU list of the client (this process), the upstream and redis")
    p.add_argument("--provider-cpus", help="CPU list of the provider (default: the side's)")
    p.add_argument("--keep", action="store_true", help="keep the work dir (configs, server logs)")
    p.add_argument("--out", type=Path, default=BENCH / "results", help="where the JSON goes")
    args = p.parse_args(argv)
    args.target_keys = [k.strip() for k in args.targets.split(",") if k.strip()]
    args.mode_list = [m.strip() for m in args.modes.split(",") if m.strip()]
    if bad := [k for k in args.target_keys if k not in TARGETS]:
        p.error(f"unknown target(s): {', '.join(bad)}")
    if bad := [m for m in args.mode_list if m not in ("sequential", "concurrent")]:
        p.error(f"unknown mode(s): {', '.join(bad)}")
    if (os.cpu_count() or 1) < 2:
        args.pin = "none"
    args.proxy_cpu, args.side_cpu = ("0", "1") if args.pin == "split" else (None, None)
    args.proxy_cpu = args.proxy_cpus or args.proxy_cpu
    args.side_cpu = args.side_cpus or args.side_cpu
    args.provider_cpu = args.provider_cpus or args.side_cpu
    if args.proxy_cpus or args.side_cpus or args.provider_cpus:
        args.pin = f"proxy {args.proxy_cpu}, provider {args.provider_cpu}, client+upstream+redis {args.side_cpu}"
    return args


def cpu_list(spec: str | None) -> set[int]:
    """taskset's list syntax (0,2-3) as a set; every CPU when not pinned."""
    if spec is None:
        return set(range(os.cpu_count() or 1))
    out: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def concurrency_of(args: argparse.Namespace, mode: str) -> int:
    return 1 if mode == "sequential" else args.concurrency


def measure(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]] | None:
    """Start everything, warm each target up, run the rounds; None when interrupted."""
    procs = Processes(workdir)
    affinity = os.sched_getaffinity(0)  # given back at the end: main() may run inside bench/run
    try:
        stack = start_stack(workdir, procs, side_cpu=args.side_cpu, idp_cpu=args.provider_cpu,
                            redis=any("redis" in k for k in args.target_keys))
        if args.side_cpu is not None:  # the client (this process) off the proxy's CPU
            os.sched_setaffinity(0, cpu_list(args.side_cpu))
        targets = [start_target(stack, k, cpu=args.proxy_cpu) for k in args.target_keys]
        print(f"logins: {len(targets)} targets x {args.rounds} rounds x {args.mode_list} x {args.duration:g}s, "
              f"concurrency {args.concurrency}, pin={args.pin} (work dir {workdir})", flush=True)
        for t in targets:
            warm = run_logins(t.flow, concurrency=args.concurrency, duration=max(args.warmup, 0.5),
                              pgids={}, shared=args.shared_connections)
            if warm["logins"] == 0:
                raise RuntimeError(f"{t.key}: no login succeeded in the warm-up: {warm['failures']}\n"
                                   f"{procs.log_tail(t.key)}")
        return _rounds(args, stack, targets)
    except KeyboardInterrupt:
        print("interrupted: stopping servers", file=sys.stderr)
        return None
    finally:
        os.sched_setaffinity(0, affinity)
        procs.stop_all()
        if args.keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _rounds(args: argparse.Namespace, stack: Stack, targets: list[Target]) -> list[dict[str, Any]]:
    runs = []
    for rnd in range(1, args.rounds + 1):
        for mode in args.mode_list:
            for t in targets:
                r = run_logins(t.flow, concurrency=concurrency_of(args, mode), duration=args.duration,
                               pgids={"proxy": t.pgid, **stack.side_pgids}, shared=args.shared_connections)
                r.update(round=rnd, mode=mode, target=t.key)
                runs.append(r)
                cpu = r["cpu_ms_per_login"]
                print(f"  round {rnd} {mode:10} {t.key:15} {r['logins_per_s']:7.1f} logins/s "
                      f"failures {sum(r['failures'].values())}  CPU ms/login: proxy {cpu['proxy']:.2f} "
                      f"provider {cpu['provider']:.2f} client {cpu['client']:.2f}", flush=True)
    return runs


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def summarize(args: argparse.Namespace, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per target and mode: medians over rounds, every round's logins/s, all failures."""
    rows = []
    for mode in args.mode_list:
        for key in args.target_keys:
            rs = [r for r in runs if r["mode"] == mode and r["target"] == key]
            failures: dict[str, int] = {}
            for r in rs:
                for kind, n in r["failures"].items():
                    failures[kind] = failures.get(kind, 0) + n
            names = rs[0]["cpu_ms_per_login"].keys()
            proxy_ms = _med([r["cpu_ms_per_login"]["proxy"] for r in rs])
            rows.append({
                "target": key, "label": TARGETS[key], "mode": mode, "concurrency": concurrency_of(args, mode),
                "logins_per_s_median": _med([r["logins_per_s"] for r in rs]),
                "logins_per_s_per_round": [r["logins_per_s"] for r in rs],
                "logins": sum(r["logins"] for r in rs), "failures": failures,
                "latency_p50_ms_median": _med([r["latency_ms"]["p50"] for r in rs]),
                "latency_p99_ms_median": _med([r["latency_ms"]["p99"] for r in rs]),
                "cpu_ms_per_login_median": {n: _med([r["cpu_ms_per_login"][n] for r in rs]) for n in names},
                "cpu_share_of_core_median": {n: _med([r["cpu_share_of_core"][n] for r in rs]) for n in names},
                # What one fully used core would sustain for this proxy alone (its CPU/login).
                "logins_per_proxy_core_s": 1000 / proxy_ms if proxy_ms else 0.0,
            })
    return rows


def ratios(args: argparse.Namespace, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """albauth / peer per round (same round, same mode): logins/s, and peer proxy CPU per
    login / albauth's (> 1: albauth spends less CPU per login)."""
    out = []
    for mode in args.mode_list:
        for a, b in PAIRS:
            if a not in args.target_keys or b not in args.target_keys:
                continue
            by_round = {(r["round"], r["target"]): r for r in runs if r["mode"] == mode}
            rps, cpu = [], []
            for rnd in range(1, args.rounds + 1):
                ra, rb = by_round[(rnd, a)], by_round[(rnd, b)]
                rps.append(ra["logins_per_s"] / rb["logins_per_s"] if rb["logins_per_s"] else 0.0)
                pa, pb = ra["cpu_ms_per_login"]["proxy"], rb["cpu_ms_per_login"]["proxy"]
                cpu.append(pb / pa if pa else 0.0)
            out.append({"albauth": a, "peer": b, "mode": mode,
                        "logins_per_s_ratio_median": _med(rps), "logins_per_s_ratio_per_round": rps,
                        "proxy_cpu_per_login_peer_over_albauth_median": _med(cpu),
                        "proxy_cpu_per_login_peer_over_albauth_per_round": cpu})
    return out


def verdicts(args: argparse.Namespace, rows: list[dict[str, Any]], runs: list[dict[str, Any]]) -> list[str]:
    """Which CPUs bounded each mode's runs: the proxy's (the logins/s ratio compares the
    proxies) or the provider's and client's (the ratio says little: compare CPU per login).
    A CPU counts as saturated when busy, whoever ran there: neighbours take their share."""
    groups: dict[frozenset[int], list[str]] = {}  # CPU set -> who of ours runs there
    for who, spec in (("proxy", args.proxy_cpu), ("provider", args.provider_cpu), ("client", args.side_cpu),
                      ("upstream", args.side_cpu), ("redis", args.side_cpu)):
        groups.setdefault(frozenset(cpu_list(spec)), []).append(who)
    out = []
    for mode in args.mode_list:
        mine = [r for r in rows if r["mode"] == mode]
        busy_runs = [r["cpu_busy_all_processes"] for r in runs if r["mode"] == mode]
        side_busy, notes = [], []
        for cpus, who in groups.items():
            ours = max(sum(r["cpu_share_of_core_median"].get(w, 0.0) for w in who) for r in mine)
            anyone = _med([sum(b.get(str(c), 0.0) for c in cpus) for b in busy_runs])
            where = f"CPU {','.join(map(str, sorted(cpus)))} ({' + '.join(who)})"
            if anyone < SATURATED * len(cpus):
                continue
            if "proxy" not in who:
                side_busy.append(f"{where}: ours up to {ours:.2f}, busy {anyone:.2f} of {len(cpus)} with neighbours")
            elif ours < SATURATED * len(cpus):
                notes.append(f"{where} was busy {anyone:.2f} but the proxy used only {ours:.2f}: neighbours "
                             "took the rest, the proxies' figures are noisy")
        shares = {w: max(r["cpu_share_of_core_median"][w] for r in mine) for w in ("proxy", "provider", "client")}
        facts = ", ".join(f"{w} up to {v:.2f} core" for w, v in shares.items())
        if shares["proxy"] >= SATURATED * len(cpu_list(args.proxy_cpu)):
            why = "the proxy's CPU saturated: the logins/s ratio compares the proxies"
        elif side_busy:
            why = (f"saturated: {'; '.join(side_busy)}: logins/s is bounded there, the logins/s ratio says "
                   "little about the proxies; compare proxy CPU per login")
        elif mode == "sequential":
            cpu = mine[0]["cpu_ms_per_login_median"]
            why = (f"nothing saturated: one login's time ({mine[0]['latency_p50_ms_median']:.1f} ms p50, "
                   f"{mine[0]['target']}) is mostly the parties' work in turn (CPU ms/login: proxy "
                   f"{cpu['proxy']:.2f}, provider {cpu['provider']:.2f}, client {cpu['client']:.2f}), so the "
                   "logins/s ratio dilutes the proxies' difference")
        else:
            why = "nothing saturated: more concurrency would load the proxies further"
        why += "".join(f"; {n}" for n in notes)
        out.append(f"{mode}: {why} ({facts})")
    return out


def markdown(rows: list[dict[str, Any]], pairs: list[dict[str, Any]]) -> str:
    head = ["mode", "target", "logins/s (median)", "per round", "failures", "p50 ms", "proxy CPU ms/login",
            "logins/s per proxy core", "provider CPU ms/login", "client CPU ms/login", "proxy / provider / client core"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cpu, share = r["cpu_ms_per_login_median"], r["cpu_share_of_core_median"]
        lines.append("| " + " | ".join([
            r["mode"] + (f" ({r['concurrency']})" if r["concurrency"] > 1 else ""), r["label"],
            f"{r['logins_per_s_median']:.1f}", " ".join(f"{v:.1f}" for v in r["logins_per_s_per_round"]),
            f"{sum(r['failures'].values())}/{r['logins'] + sum(r['failures'].values())}",
            f"{r['latency_p50_ms_median']:.1f}", f"{cpu['proxy']:.2f}", f"{r['logins_per_proxy_core_s']:.0f}",
            f"{cpu['provider']:.2f}", f"{cpu['client']:.2f}",
            f"{share['proxy']:.2f} / {share['provider']:.2f} / {share['client']:.2f}"]) + " |")
    if pairs:
        lines += ["", "| mode | albauth / peer | logins/s ratio (median) | per round | "
                      "proxy CPU/login, peer / albauth (median) | per round |", "|---|---|---|---|---|---|"]
        for p in pairs:
            lines.append(
                f"| {p['mode']} | {p['albauth']} / {p['peer']} | x{p['logins_per_s_ratio_median']:.2f} | "
                + " ".join(f"{v:.2f}" for v in p["logins_per_s_ratio_per_round"])
                + f" | x{p['proxy_cpu_per_login_peer_over_albauth_median']:.2f} | "
                + " ".join(f"{v:.2f}" for v in p["proxy_cpu_per_login_peer_over_albauth_per_round"]) + " |")
    return "\n".join(lines)


def peer_versions() -> dict[str, str]:
    def out(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError as exc:
            return f"unavailable: {exc}"

    return {"apache2": out(["apache2", "-v"]).splitlines()[0] if shutil.which("apache2") else "absent",
            "mod_auth_openidc": out(["dpkg-query", "-W", "-f", "${Version}", "libapache2-mod-auth-openidc"])}


METHOD = (
    "A login = a new browser (own cookie jar and connections unless --shared-connections) walking GET / (302), "
    "the provider's page, the form POST (302), the callback (302 + session cookies), and GET / with the "
    "session answered 200 'ok\\n' (verified for every login; failures counted by kind, not in logins/s). "
    "logins/s = verified logins / wall time until the last started login ended. cpu_ms_per_login = CPU "
    "time (schedstat, all threads of the process group; 'client' is this process) / attempts. Rounds "
    "alternate the targets; ratios are per round (same round, same mode), then the median.")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop  # the client shares its CPU with the provider: the cheaper, the better

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started, stamp = time.monotonic(), _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    facts = {**machine_facts(), **peer_versions()}
    runs = measure(args, Path(tempfile.mkdtemp(prefix="albauth-logins-")))
    if runs is None:
        return 130
    facts["loadavg_end"] = Path("/proc/loadavg").read_text().strip()
    rows, pairs = summarize(args, runs), ratios(args, runs)
    notes = verdicts(args, rows, runs)
    command = " ".join(shlex.quote(a) for a in ["bench/logins.py", *(sys.argv[1:] if argv is None else argv)])
    doc = {"timestamp": stamp, "command": command,
           "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
           "machine": facts, "elapsed_s": round(time.monotonic() - started, 1), "method": METHOD,
           "verdicts": notes, "results": rows, "ratios": pairs, "runs": runs}
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"{stamp}-logins.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"\n$ {command}\n  pin={args.pin}; load average: start {facts['loadavg_start'].split()[:3]}, "
          f"end {facts['loadavg_end'].split()[:3]}; {facts['apache2']}, mod_auth_openidc "
          f"{facts['mod_auth_openidc']}\n")
    print(markdown(rows, pairs))
    print()
    for note in notes:
        print(f"* {note}")
    print(f"\nwritten {out} ({doc['elapsed_s']} s)")
    failed = sum(sum(r["failures"].values()) for r in rows)
    if failed:
        print(f"WARNING: {failed} failed logins", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
