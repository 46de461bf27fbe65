"""Where plain HTTP is good enough: nothing off this machine can reach a loopback address."""

from __future__ import annotations

import ipaddress

__all__ = ["host_is_loopback"]


def host_is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (with or without brackets): where local development may
    authenticate on plain HTTP, since nothing off the machine can reach the listener."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
