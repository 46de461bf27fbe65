"""What the transfer, WebSocket and access-log benchmarks share: a run's work dir and
servers (stopped at the end, also on Ctrl-C or SIGTERM), alternating rounds over the
measured series, ratios against a baseline measured in the same round, the JSON
document in bench/results/ and the printed markdown table."""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import BENCH, REPO, Processes
from measure import machine_facts


@dataclass
class Series:
    """One measured thing (a route, a route and a direction, a configuration); `baseline`
    is the key of the series it is divided by, round by round ("" for none)."""

    key: str
    label: str
    baseline: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Metric:
    """`rate` is higher-is-better (MiB/s, messages/s, req/s); `cost` is the proxy's CPU
    per unit (lower is better), reported as scenario / baseline."""

    rate: str
    rate_label: str
    cost: str
    cost_label: str


def add_pin_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pin", choices=("split", "none"), default="split",
                   help="split (default): the proxy under test on CPU 0; the client, the upstream and the "
                        "provider on CPU 1. none: no pinning")
    p.add_argument("--keep", action="store_true", help="keep the work dir (configs, server logs)")
    p.add_argument("--out", type=Path, default=BENCH / "results", help="where the JSON goes")


def pin_cpus(args: argparse.Namespace) -> None:
    """args.proxy_cpu / args.side_cpu (None: not pinned), as bench.py's `--pin split`."""
    split = args.pin == "split" and (os.cpu_count() or 1) >= 2
    args.proxy_cpu, args.side_cpu = ("0", "1") if split else (None, None)
    args.wrk_cpu = "1" if split else "none"  # for measure.run_wrk


@contextlib.contextmanager
def servers(prefix: str, keep: bool) -> Iterator[tuple[Path, Processes]]:
    """A work dir and the process groups started in it; everything is stopped on the way
    out, and SIGTERM ends the run as Ctrl-C does."""
    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    workdir = Path(tempfile.mkdtemp(prefix=f"albauth-{prefix}-"))
    procs = Processes(workdir)
    try:
        yield workdir, procs
    finally:
        procs.stop_all()
        signal.signal(signal.SIGTERM, previous)
        if keep:
            print(f"work dir kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def alternate(series: list[Series], rounds: int, measure: Callable[[Series], dict[str, Any]],
              show: Callable[[Series, dict[str, Any]], str], *, abba: bool = False) -> None:
    """Rounds A B C … A B C …: drift of the machine between rounds cancels in the ratios.
    `abba`: every other round in reverse order (A B, B A, …), so a linear drift cancels
    also within a round."""
    for rnd in range(rounds):
        for s in (reversed(series) if abba and rnd % 2 else series):
            r = measure(s)
            s.runs.append(r)
            print(f"  round {rnd + 1}: {s.label}: {show(s, r)}", flush=True)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def summarize(series: list[Series], metric: Metric) -> list[dict[str, Any]]:
    """Per series: the median rate, and per round its rate / the baseline's rate of the
    same round (the median of those is the ratio), likewise for the CPU cost."""
    by_key = {s.key: s for s in series}
    rows = []
    for s in series:
        rates = [r[metric.rate] for r in s.runs]
        costs = [r[metric.cost] for r in s.runs if r.get(metric.cost) is not None]
        row: dict[str, Any] = {
            "key": s.key, "label": s.label, "baseline": s.baseline or None,
            f"{metric.rate}_median": statistics.median(rates), f"{metric.rate}_per_round": rates,
            f"{metric.cost}_median": statistics.median(costs) if costs else None,
        }
        base = by_key.get(s.baseline)
        if base is not None:
            ratios = [_ratio(a[metric.rate], b[metric.rate]) for a, b in zip(s.runs, base.runs)]
            row["ratio_vs_baseline"] = statistics.median(ratios)
            row["ratio_per_round"] = ratios
            cost = [_ratio(a[metric.cost], b[metric.cost]) for a, b in zip(s.runs, base.runs)
                    if a.get(metric.cost) is not None and b.get(metric.cost) is not None]
            row["cost_vs_baseline"] = statistics.median(cost) if cost else None
            row["cost_per_round"] = cost
        row["runs"] = s.runs
        rows.append(row)
    return rows


def markdown_table(rows: list[dict[str, Any]], metric: Metric, extra: list[tuple[str, Callable[[dict[str, Any]], str]]]
                   ) -> str:
    """One line per series: median rate, ratio (median and every round), CPU cost and its
    ratio, and the module's own columns."""
    def num(v: float | None, fmt: str) -> str:
        return "–" if v is None else format(v, fmt)

    head = ["series", f"{metric.rate_label} (median)", "vs baseline", "per round", metric.cost_label,
            "CPU vs baseline", "CPU per round", *(name for name, _ in extra)]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        base = f" (/ {r['baseline']})" if r["baseline"] else ""
        cells = [r["label"] + base, num(r[f"{metric.rate}_median"], ",.1f"),
                 num(r.get("ratio_vs_baseline"), ".3f") + ("x" if "ratio_vs_baseline" in r else ""),
                 " ".join(f"{x:.3f}" for x in r.get("ratio_per_round", [])) or "–",
                 num(r[f"{metric.cost}_median"], ".2f"),
                 num(r.get("cost_vs_baseline"), ".3f") + ("x" if r.get("cost_vs_baseline") else ""),
                 " ".join(f"{x:.3f}" for x in r.get("cost_per_round", [])) or "–",
                 *(f(r) for _, f in extra)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def utc_stamp() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def write_document(name: str, args: argparse.Namespace, argv: list[str], stamp: str, facts: dict[str, Any],
                   started: float, **content: Any) -> Path:
    """bench/results/<stamp>-<name>.json: the command, the parameters, the machine (with
    the load average at start and end), and what the module measured."""
    facts["loadavg_end"] = Path("/proc/loadavg").read_text().strip()
    doc = {
        "timestamp": stamp,
        "command": " ".join(shlex.quote(a) for a in [f"bench/{name}.py", *argv]),
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": facts,
        "elapsed_s": round(time.monotonic() - started, 1),
        **content,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out: Path = args.out / f"{stamp}-{name}.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    return out


def print_header(doc_path: Path, facts: dict[str, Any], command: str) -> None:
    print()
    print(f"$ {command}")
    print(f"  {facts['nproc']} CPUs ({facts['cpu_model']}), python {facts['python']}, aiohttp "
          f"{facts['aiohttp_version']}, uvloop {facts['uvloop_version']}, {facts['nginx_version']}")
    print(f"  load average: start {facts['loadavg_start'].split()[:3]}, end {facts['loadavg_end'].split()[:3]}")
    shown = doc_path.relative_to(REPO) if doc_path.is_relative_to(REPO) else doc_path
    print(f"  written {shown}")
    print()


__all__ = ["Metric", "Series", "add_pin_option", "alternate", "machine_facts", "markdown_table", "pin_cpus",
           "print_header", "servers", "summarize", "utc_stamp", "write_document"]
