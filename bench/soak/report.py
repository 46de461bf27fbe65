"""The soak's figures from what the run collected, and their text form."""

from __future__ import annotations

from collections import Counter
from typing import Any

from faults import Window
from users import Stats


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_window(start: float, end: float, windows: list[Window], grace: float) -> str | None:
    """The fault whose window [start, repaired + grace] the request overlaps, if any."""
    for w in windows:
        if start <= w.end + grace and end >= w.start:
            return w.name
    return None


def figures(stats: Stats, windows: list[Window], *, grace: float, login_phase: tuple[float, float],
            browse_phase: tuple[float, float], users: int) -> dict[str, Any]:
    inside: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    outside_examples: list[str] = []
    for start, end, kind in stats.errors:
        fault = in_window(start, end, windows, grace)
        if fault:
            inside[f"{kind} [{fault}]"] += 1
        else:
            outside[kind] += 1
            if len(outside_examples) < 10:
                outside_examples.append(f"t={start - browse_phase[0]:+.1f}s {kind}")
    first_logins = stats.logins[:users]
    login_seconds = login_phase[1] - login_phase[0]
    browse_seconds = browse_phase[1] - browse_phase[0]
    return {
        "users": users,
        "logins": len(stats.logins),
        "relogins": len(stats.logins) - len(first_logins),
        "logins_per_s": round(len(first_logins) / login_seconds, 1) if login_seconds else 0,
        "login_phase_s": round(login_seconds, 1),
        "requests": stats.requests,
        "requests_per_s": round(stats.requests / browse_seconds, 1) if browse_seconds else 0,
        "p50_ms": round(percentile(stats.latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(stats.latencies, 0.99) * 1000, 1),
        "max_ms": round(max(stats.latencies, default=0) * 1000, 1),
        "errors_outside_faults": dict(outside),
        "errors_inside_faults": dict(inside),
        "outside_examples": outside_examples,
        "errors": [(round(s - browse_phase[0], 2), round(e - browse_phase[0], 2), k) for s, e, k in stats.errors],
        "fault_windows": [{"name": w.name, "from_s": round(w.start - browse_phase[0], 1),
                           "to_s": round(w.end - browse_phase[0], 1)} for w in windows],
    }


def text(report: dict[str, Any]) -> str:
    f = report["figures"]
    idp = report["idp"]
    up = report["upstream"]["counts"]
    redis = report["redis"]
    lines = [
        f"soak: {f['users']} users, {report['duration_s']} s browsing, access tokens {report['token_ttl_s']} s, "
        f"faults: {report['faults']}",
        f"logins: {f['logins_per_s']}/s for the first {f['users']} ({f['login_phase_s']} s); "
        f"{f['logins']} in all ({f['relogins']} again after a lost session)",
        f"requests: {f['requests']} browsing, {f['requests_per_s']}/s; latency p50 {f['p50_ms']} ms, "
        f"p99 {f['p99_ms']} ms, max {f['max_ms']} ms",
        f"errors outside fault windows: {sum(f['errors_outside_faults'].values())} "
        f"{f['errors_outside_faults'] or ''}",
    ]
    lines += [f"    {e}" for e in f["outside_examples"]]
    lines.append(f"errors inside fault windows (+{report['grace_s']} s grace): "
                 f"{sum(f['errors_inside_faults'].values())}")
    lines += [f"    {n:6d}  {k}" for k, n in sorted(f["errors_inside_faults"].items(), key=lambda kv: -kv[1])]
    lines.append("fault windows (s from the start of browsing): "
                 + "; ".join(f"{w['name']}: {w['from_s']}-{w['to_s']}" for w in f["fault_windows"]))
    lines.append(f"provider: grants {idp['grants']}, failed {idp['failed']}, "
                 f"duplicate refreshes {idp['duplicate_refreshes']} "
                 f"(refresh tokens used {idp['refresh_tokens_used']})")
    lines.append(f"upstream: {up.get('with_identity', 0)} requests with identity headers, "
                 f"{up.get('without_identity', 0)} without")
    lines.append(f"redis: {redis['key_bytes_per_session']} bytes of keys per session (MEMORY USAGE), "
                 f"{redis['used_memory_per_session']} of used_memory ({redis['before']} -> {redis['after_logins']} "
                 f"for {redis['sessions']} logged-in users, DBSIZE {redis['dbsize_after_logins']})")
    lines.append("replicas (RSS MiB / open fds):")
    for row in report["samples"]:
        cells = [f"{name} {v['rss_mib']}/{v['fds']}" if v else f"{name} down"
                 for name, v in row.items() if name != "t"]
        lines.append(f"    t={row['t']:6.1f}s  " + "  ".join(cells))
    return "\n".join(lines)
