"""The fault schedule: each fault starts at a fraction of the run, lasts a few seconds, and
is recorded as the window [start, recovered + grace] in which errors are expected."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from cluster import Cluster


@dataclass
class Fault:
    name: str
    at: float  # fraction of the run
    hold: float  # seconds between the fault and its repair
    begin: Callable[[Cluster], None]
    end: Callable[[Cluster], None]


@dataclass
class Window:
    name: str
    start: float  # monotonic
    end: float  # monotonic, repair done (grace added when classifying)


def default_faults() -> list[Fault]:
    return [
        Fault("redis killed (SIGKILL), restarted from its AOF", 0.15, 3.0,
              lambda c: c.kill_redis(), lambda c: c.start_redis()),
        Fault("redis frozen (SIGSTOP), then SIGCONT", 0.35, 3.0,
              lambda c: c.signal_redis(signal.SIGSTOP), lambda c: c.signal_redis(signal.SIGCONT)),
        Fault("provider stopped, then restarted", 0.55, 5.0, lambda c: c.idp("stop"), lambda c: c.idp("start")),
        Fault("replica-a SIGTERMed, then restarted", 0.75, 2.0,
              lambda c: c.stop_replica(c.replicas[0]), lambda c: c.start_replica(c.replicas[0])),
    ]


SCHEDULES = {"default": default_faults, "none": lambda: []}


async def run_faults(cluster: Cluster, faults: list[Fault], t0: float, duration: float,
                     windows: list[Window]) -> None:
    for fault in faults:
        await asyncio.sleep(max(0.0, t0 + fault.at * duration - time.monotonic()))
        start = time.monotonic()
        print(f"[{start - t0:6.1f}s] fault: {fault.name}", flush=True)
        await asyncio.to_thread(fault.begin, cluster)
        await asyncio.sleep(fault.hold)
        await asyncio.to_thread(fault.end, cluster)
        end = time.monotonic()
        print(f"[{end - t0:6.1f}s] repaired: {fault.name}", flush=True)
        windows.append(Window(fault.name, start, end))
