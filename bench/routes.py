"""The four routes from a client to one upstream that the transfer and WebSocket
benchmarks compare: direct (the ceiling), nginx pass-through (the baseline), albauth's
forward rule (no authentication) and albauth with a logged-in session (authenticate-oidc,
cookie store). The upstream must answer `GET /` with 200 "ok\\n" (the login lands there)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import Processes, free_port, group_pids
from http_login import check_ok, login
from servers import session_env, snapshot_albauth, start_albauth, start_idp, start_nginx

ROUTES: list[tuple[str, str]] = [
    ("direct", "direct to the upstream"),
    ("nginx", "nginx proxy [baseline]"),
    ("albauth", "albauth forward (no auth)"),
    ("albauth-session", "albauth + session (cookie store)"),
]
BASELINE = "nginx"


@dataclass
class Route:
    key: str
    label: str
    url: str
    cookie: str = ""
    pgid: int = 0  # the proxy's process group (its CPU time); 0 on the direct route
    albauth_pid: int = 0  # albauth's process, for its memory high-water mark


def parse_routes(spec: str) -> list[str]:
    keys = [k.strip() for k in spec.split(",") if k.strip()]
    unknown = set(keys) - {k for k, _ in ROUTES}
    if unknown:
        raise SystemExit(f"unknown route(s): {', '.join(sorted(unknown))}; known: {', '.join(k for k, _ in ROUTES)}")
    keys = [k for k, _ in ROUTES if k in keys or k == BASELINE]  # the baseline always, in a fixed order
    return keys


def start_routes(procs: Processes, workdir: Path, wanted: list[str], upstream: str, nginx_proxy: str,
                 proxy_cpu: str | None, side_cpu: str | None) -> list[Route]:
    """Every wanted route to `upstream`; `nginx_proxy` is the server block of the nginx
    proxy, formatted with {port} and {upstream} (host:port)."""
    labels = dict(ROUTES)
    out: list[Route] = []
    if "direct" in wanted:
        out.append(Route("direct", labels["direct"], upstream))
    port = free_port()
    url, pgid = start_nginx(procs, workdir, "nginx-proxy",
                            nginx_proxy.format(port=port, upstream=upstream.removeprefix("http://")), port, proxy_cpu)
    check_ok(url)
    out.append(Route("nginx", labels["nginx"], url, pgid=pgid))
    if not {"albauth", "albauth-session"} & set(wanted):
        return out
    src = snapshot_albauth(workdir, "base", None)
    if "albauth" in wanted:
        url, pid = start_albauth(procs, "albauth", src, upstream, {}, proxy_cpu)
        check_ok(url)
        out.append(Route("albauth", labels["albauth"], url, pgid=pid, albauth_pid=pid))
    if "albauth-session" in wanted:
        idp = start_idp(src, side_cpu, procs)
        url, pid = start_albauth(procs, "albauth-session", src, upstream, session_env(idp, workdir), proxy_cpu)
        cookie = login(url)
        check_ok(url, cookie)
        out.append(Route("albauth-session", labels["albauth-session"], url, cookie, pgid=pid, albauth_pid=pid))
    return out


def status_kib(pid: int, field: str) -> int | None:
    """A `/proc/<pid>/status` figure in KiB (VmHWM: the resident high-water mark)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def group_hwm_kib(pgid: int) -> int | None:
    """The largest VmHWM in a process group (nginx: its worker)."""
    marks = [m for p in group_pids(pgid) if (m := status_kib(p, "VmHWM")) is not None]
    return max(marks) if marks else None


def cpu_ticks() -> dict[str, tuple[int, int]]:
    """Per CPU (cpu0, cpu1 …): (busy, total) jiffies from /proc/stat; busy counts softirq
    time too, which on loopback is where much of a transfer's cost lands."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *vals = line.split()
        if name.startswith("cpu") and name != "cpu":
            ticks = [int(v) for v in vals[:8]]  # user nice system idle iowait irq softirq steal
            out[name] = (sum(ticks) - ticks[3] - ticks[4], sum(ticks))
    return out


def cpu_busy_since(before: dict[str, tuple[int, int]]) -> dict[str, float]:
    """Each CPU's busy share since `before` (whatever ran there: ours and neighbours')."""
    now = cpu_ticks()
    return {k: (now[k][0] - b[0]) / max(1, now[k][1] - b[1]) for k, b in before.items() if k in now}


def bottleneck(runs: list[dict[str, Any]], pinned: bool) -> str:
    """Which side limited a series, from its median run: the proxy when its process group
    used ≥ 90 % of a core; the client side when CPU1 (client and upstream, `--pin split`)
    was ≥ 95 % busy; the proxy's core, shared, when CPU0 was ≥ 95 % busy without the proxy
    using it all (neighbours on the machine); else neither."""
    def med(get: Any) -> float:
        vals = sorted(get(r) for r in runs)
        return float(vals[len(vals) // 2])

    proxy = med(lambda r: r.get("proxy_busy") or 0.0)
    if proxy >= 0.9:
        return "proxy"
    if not pinned:
        return "– (unpinned)"
    side = med(lambda r: r["cpu_busy"].get("cpu1", 0.0))
    if side >= 0.95:
        return f"client side (CPU1 {100 * side:.0f} %)"
    own = med(lambda r: r["cpu_busy"].get("cpu0", 0.0))
    return f"proxy's core shared (CPU0 {100 * own:.0f} %)" if own >= 0.95 else "neither"
