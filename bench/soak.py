"""Soak: N users logging in and browsing through two albauth replicas sharing a private
Redis, with short access tokens (refreshes never stop) and injected faults; prints a report
and writes it to bench/results/soak-<UTC timestamp>.json.

    .venv/bin/python bench/soak.py --users 1000 --duration 60 --faults default

Loopback only; every process is started here on ports picked at run time and stopped at the
end (also on Ctrl-C). Not part of the test suite: it takes duration + ~30 s and both cores.
The parts: soak/cluster.py (processes), soak/users.py (the load), soak/faults.py (schedule),
soak/monitor.py (/proc sampling), soak/report.py (figures)."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "soak"))

import aiohttp  # noqa: E402
from cluster import Cluster  # noqa: E402
from common import BENCH, Processes  # noqa: E402
from faults import SCHEDULES, Window, run_faults  # noqa: E402
from monitor import sample  # noqa: E402
from report import figures, text  # noqa: E402
from users import Stats, User, run_browsing, run_logins  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--duration", type=float, default=60, help="seconds of browsing after the logins")
    p.add_argument("--faults", choices=sorted(SCHEDULES), default="default")
    p.add_argument("--token-ttl", type=int, default=30, help="access token lifetime at the provider (s)")
    p.add_argument("--think", type=float, default=2.0, help="mean seconds between a user's requests")
    p.add_argument("--login-concurrency", type=int, default=50)
    p.add_argument("--grace", type=float, default=5.0, help="seconds after a repair still counted as the fault's")
    p.add_argument("--sample-every", type=float, default=5.0, help="seconds between /proc samples")
    p.add_argument("--log-level", default="WARNING", help="the replicas' ALBAUTH_LOG_LEVEL")
    p.add_argument("--keep", action="store_true", help="keep the work dir (configs, server logs)")
    args = p.parse_args()
    if not 1 <= args.users <= 5000 or not 5 <= args.duration <= 1800:
        p.error("bounded: 1-5000 users, 5-1800 s")
    return args


async def soak(args: argparse.Namespace, cluster: Cluster) -> dict[str, Any]:
    stats = Stats()
    idp = f"http://127.0.0.1:{cluster.idp_port}"
    replicas = [r.url for r in cluster.replicas]
    connector = aiohttp.TCPConnector(limit=2000, limit_per_host=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60, connect=20, sock_read=30)
    before, _ = cluster.redis_memory()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        users = [User(i, http, replicas, idp, stats) for i in range(args.users)]
        login_start = time.monotonic()
        await run_logins(users, args.login_concurrency)
        login_end = time.monotonic()
        after_logins, dbsize = cluster.redis_memory()
        key_bytes = cluster.key_bytes()
        print(f"{args.users} users logged in in {login_end - login_start:.1f} s", flush=True)
        t0 = time.monotonic()
        windows: list[Window] = []
        samples: list[dict[str, object]] = []
        stop = asyncio.Event()
        monitor = asyncio.create_task(sample(cluster, t0, args.sample_every, samples, stop))
        faults = asyncio.create_task(run_faults(cluster, SCHEDULES[args.faults](), t0, args.duration, windows))
        await run_browsing(users, until=t0 + args.duration, think=args.think)
        t1 = time.monotonic()
        await faults
        stop.set()
        await monitor
    await asyncio.sleep(1.0)  # the provider's counts are polled every 0.25 s
    return {
        "command": " ".join(sys.argv),
        "duration_s": args.duration, "token_ttl_s": args.token_ttl, "faults": args.faults, "grace_s": args.grace,
        "figures": figures(stats, windows, grace=args.grace, login_phase=(login_start, login_end),
                           browse_phase=(t0, t1), users=args.users),
        "idp": cluster.idp_grants(),
        "upstream": cluster.upstream_stats(),
        "redis": {"before": before, "after_logins": after_logins, "dbsize_after_logins": dbsize,
                  "sessions": args.users, "used_memory_per_session": round((after_logins - before) / args.users),
                  "key_bytes_per_session": round(key_bytes / args.users)},
        "samples": samples,
    }


def main() -> int:
    args = parse_args()
    try:
        import uvloop  # the load generator shares two cores with everything else

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    workdir = Path(tempfile.mkdtemp(prefix="albauth-soak-"))
    procs = Processes(workdir)
    cluster = Cluster(workdir, procs)
    try:
        cluster.start(args.users, args.token_ttl, log_level=args.log_level)
        bound = args.duration + 120 + args.users / 10  # logins, faults and teardown included
        report = asyncio.run(asyncio.wait_for(soak(args, cluster), bound))
    finally:
        procs.stop_all()
        if args.keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    out = BENCH / "results" / f"soak-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps(report, indent=1))
    print(text(report))
    print(f"report: {out}")
    f = report["figures"]
    clean = (not f["errors_outside_faults"] and report["idp"]["duplicate_refreshes"] == 0
             and report["upstream"]["counts"].get("without_identity", 0) == 0)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
