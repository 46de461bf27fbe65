"""One timed run of back-to-back complete logins against one proxy: N concurrent browsers
(asyncio tasks in this process) each logging in again as soon as its last login is
verified, for D seconds; with the CPU time of every process involved around the run:
the proxy, the provider, the upstream, redis, and this client itself."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from login_client import Flow, failure_kind, full_login, new_browser
from measure import group_cpu_ns


def self_cpu_ns() -> int:
    """CPU time of this process, all threads (schedstat: exact, like group_cpu_ns)."""
    total = 0
    for task in os.scandir("/proc/self/task"):
        try:
            total += int(Path(f"{task.path}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


def cpu_ticks() -> dict[str, tuple[int, int]]:
    """Per CPU, (busy, total) jiffies from /proc/stat: what everyone ran there, our
    processes and the neighbours' (the machine is shared), steal included."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *vals = line.split()
        if name.startswith("cpu") and name != "cpu":
            v = [int(x) for x in vals[:8]]  # user nice system idle iowait irq softirq steal
            out[name.removeprefix("cpu")] = (sum(v) - v[3] - v[4], sum(v))
    return out


async def _browsers(flow: Flow, concurrency: int, duration: float, shared: bool) -> dict[str, Any]:
    """Every browser starts logins until the deadline; logins in flight then finish and
    count (elapsed runs until the last one ends)."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    start = time.monotonic()
    deadline = start + duration
    one = new_browser(limit=4 * concurrency) if shared else None

    async def browser() -> None:
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                await full_login(flow, one)
            except Exception as exc:  # every failure is counted and reported, none stops the run
                failures[failure_kind(exc)] += 1
            else:
                latencies.append(time.monotonic() - t0)

    try:
        await asyncio.gather(*(browser() for _ in range(concurrency)))
    finally:
        if one is not None:
            await one.close()
    elapsed = time.monotonic() - start
    return {"logins": len(latencies), "failures": dict(failures), "elapsed_s": elapsed, "latencies": latencies}


def run_logins(flow: Flow, *, concurrency: int, duration: float, pgids: dict[str, int],
               shared: bool = False) -> dict[str, Any]:
    """The run's figures: verified logins/s, failures by kind, latency, and per process
    (pgids: name -> process group; "client" is this process) CPU ms per login and the
    share of one core it used."""
    cpu0 = {name: group_cpu_ns(pgid) for name, pgid in pgids.items()}
    client0, ticks0 = self_cpu_ns(), cpu_ticks()
    out = asyncio.run(_browsers(flow, concurrency, duration, shared))
    cpu = {name: group_cpu_ns(pgid) - cpu0[name] for name, pgid in pgids.items()}
    cpu["client"] = self_cpu_ns() - client0
    ticks = cpu_ticks()
    busy = {c: (b - ticks0[c][0]) / max(1, t - ticks0[c][1]) for c, (b, t) in ticks.items() if c in ticks0}
    lat = sorted(out.pop("latencies"))
    n, wall = out["logins"], out["elapsed_s"]
    done = n + sum(out["failures"].values())
    out.update({
        "concurrency": concurrency,
        "logins_per_s": n / wall,
        "latency_ms": {"p50": _pct(lat, 0.50) * 1e3, "p90": _pct(lat, 0.90) * 1e3, "p99": _pct(lat, 0.99) * 1e3,
                       "mean": (statistics.fmean(lat) * 1e3) if lat else 0.0},
        # Failed attempts cost CPU too: per attempt, so a failing proxy does not look cheap.
        "cpu_ms_per_login": {k: v / 1e6 / max(1, done) for k, v in cpu.items()},
        "cpu_share_of_core": {k: v / 1e9 / wall for k, v in cpu.items()},
        "cpu_busy_all_processes": busy,  # per CPU: share of time anyone (neighbours too) ran there
    })
    return out


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]
