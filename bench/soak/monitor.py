"""RSS and open file descriptors of each replica over time, read from /proc."""

from __future__ import annotations

import asyncio
import os
import time

from cluster import Cluster


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


async def sample(cluster: Cluster, t0: float, every: float, out: list[dict[str, object]],
                 stop: asyncio.Event) -> None:
    while not stop.is_set():
        row: dict[str, object] = {"t": round(time.monotonic() - t0, 1)}
        for replica in cluster.replicas:
            pid = replica.proc.pid if replica.proc and replica.proc.poll() is None else 0
            row[replica.name] = {"rss_mib": round(rss_kib(pid) / 1024, 1), "fds": open_fds(pid)} if pid else None
        out.append(row)
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass
