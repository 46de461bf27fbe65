"""One wrk run against one scenario, with the server's CPU time around it, and the
reports: ratios against nginx per round, and A/B pairs."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import BASELINE, BENCH, PY, REPO, group_pids, signal_group


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
    for pid in group_pids(pgid):
        try:
            for task in os.scandir(f"/proc/{pid}/task"):
                total += int(Path(f"{task.path}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the process or thread ended meanwhile
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
            signal_group(proc, signal.SIGKILL)
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


# albauth's scenario and the peer's it answers to (the same kind of session store).
PEER_PAIRS = (("auth-cookie", "peer-cookie"), ("auth-cookie-w2", "peer-cookie"), ("auth-memory", "peer-cookie"),
              ("auth-redis", "peer-redis"), ("auth-redis-w2", "peer-redis"))


def peer_table(rows: list[dict[str, Any]]) -> str:
    """albauth against mod_auth_openidc, round by round: req/s and CPU per request."""
    by_key = {r["key"]: r for r in rows}
    lines = []
    for ours, theirs in PEER_PAIRS:
        a, b = by_key.get(ours), by_key.get(theirs)
        if a is None or b is None:
            continue
        rps = [x["rps"] / y["rps"] for x, y in zip(a["runs"], b["runs"], strict=True)]
        cpu = [y["cpu_us_per_request"] / x["cpu_us_per_request"] for x, y in zip(a["runs"], b["runs"], strict=True)
               if x["cpu_us_per_request"]]
        lines.append(f"  {ours} / {theirs}: req/s x{statistics.median(rps):.2f} (per round "
                     f"{' '.join(f'{v:.2f}' for v in rps)}), per CPU second x{statistics.median(cpu):.2f}")
    return "albauth against mod_auth_openidc:\n" + "\n".join(lines) if lines else ""
