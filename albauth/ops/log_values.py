"""Values from a request or a provider, made safe to log: a CR/LF or other control
character in them would otherwise forge log lines (or corrupt a log parser's view)."""

from __future__ import annotations

__all__ = ["printable"]

_ESCAPES = {i: f"\\x{i:02x}" for i in (*range(0x20), 0x7F)}
_ESCAPES[ord("\\")] = "\\\\"


def printable(value: str, limit: int = 256) -> str:
    """`value` cut to `limit` characters, control characters escaped (`\\x0a`)."""
    cut = value[:limit]
    return cut.translate(_ESCAPES) + ("…" if len(value) > limit else "")
