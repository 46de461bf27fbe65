"""What a reload can change in a running process, and what it cannot.

A reload swaps rules, actions, target groups, authenticate actions and signing keys. The
listening sockets stay open through it (that is how no connection is dropped), so a new
file that moves, adds or removes a listener, or changes its TLS files, is refused as a
whole: applying only part of it would serve a configuration nobody wrote. Settings read
once at start (timeouts of the target client, the admin listener, the access log, limits)
are kept, with a warning that they apply at the next restart."""

from __future__ import annotations

from albauth.config.model import Listener, Settings

__all__ = ["refused_changes", "restart_only_changes"]


def _socket(lst: Listener) -> tuple[object, ...]:
    return (lst.protocol, lst.address, lst.port, lst.certificate_file, lst.key_file)


def refused_changes(old: Settings, new: Settings) -> list[str]:
    """Why `new` cannot replace `old` in this process (empty: it can)."""
    before = [_socket(lst) for lst in old.listeners]
    after = [_socket(lst) for lst in new.listeners]
    if before == after:
        return []
    return [f"listeners: the listening sockets changed ({_describe(before)} -> {_describe(after)}); "
            "listeners are opened at start: restart albauth to apply this"]


def restart_only_changes(old: Settings, new: Settings) -> list[str]:
    """Settings in `new` that this process keeps as they were until it restarts."""
    fixed = {
        "albauth.admin_listen": (old.admin_listen, new.admin_listen),
        "albauth.access_log": (old.access_log, new.access_log),
        "albauth.log_level": (old.log_level, new.log_level),
        "albauth.listen_backlog": (old.listen_backlog, new.listen_backlog),
        "albauth.max_connections": (old.max_connections, new.max_connections),
        "albauth.proxy (target timeouts, certificate checks)": (
            (old.proxy.connect_timeout, old.proxy.idle_timeout, old.proxy.verify_target_certificates),
            (new.proxy.connect_timeout, new.proxy.idle_timeout, new.proxy.verify_target_certificates)),
    }
    return [name for name, (a, b) in fixed.items() if a != b]


def _describe(sockets: list[tuple[object, ...]]) -> str:
    return ", ".join(f"{proto} {addr}:{port}" for proto, addr, port, *_ in sockets) or "none"
