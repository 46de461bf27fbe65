"""One spelling of the request path for rules and targets alike (DESIGN: "one path for
rules and targets").

A rule that matches one spelling of a path while the target routes another is a way past
authentication: `/public/../admin` matches `/public/*`, and nginx, Apache, Tomcat or Spring
serve it as `/admin`. So the path is normalized once, rules match the normalized path, and
the target receives that same path:

- percent-encoded unreserved characters are decoded (RFC 3986 2.3, 6.2.2.2), other
  encodings are kept with uppercase hex (6.2.2.1);
- dot segments are resolved (RFC 3986 5.2.4), also when their dots were percent-encoded;
- repeated slashes are merged (as nginx's `merge_slashes on`, its default).

What cannot be normalized unambiguously is refused with ALB's 400 page: an encoded `/` or
`\\` (targets disagree on whether it separates segments), a raw `\\` (some servers treat it
as `/`), `%00` and control characters, a raw `#` (no request-target contains one, RFC 9112
3.2), invalid percent-encoding, a `..` that climbs above the root, and a `;` path parameter
on a dot or empty segment (Tomcat and Jetty strip `;...` before resolving, so `/..;/`
climbs). What ALB itself does with such paths is undocumented; these are albauth's choices,
each stricter one a setting with the safe default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import unquote

from albauth.config.model import ProxySettings

__all__ = ["NormalTarget", "PathPolicy", "UnsafePath", "normalize_path", "normalize_target"]

_HEX = frozenset("0123456789abcdefABCDEF")
# RFC 3986 2.3: decoding these never changes what a URI means.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SLASHES = frozenset({0x2F, 0x5C})  # %2F and %5C


class UnsafePath(ValueError):
    """A path that cannot be normalized unambiguously (answered with 400)."""


@dataclass(frozen=True)
class PathPolicy:
    """The looser choices, each off by default (see the module docstring for why)."""

    reject_encoded_slash: bool = True  # off: %2F/%5C stay encoded, inside their segment
    merge_slashes: bool = True  # off: `//` is kept and is an empty segment
    reject_dot_segment_parameters: bool = True  # off: `..;x` is an ordinary segment

    @classmethod
    def from_settings(cls, settings: ProxySettings) -> PathPolicy:
        return cls(reject_encoded_slash=settings.reject_encoded_slash,
                   merge_slashes=settings.merge_slashes,
                   reject_dot_segment_parameters=settings.reject_dot_segment_parameters)


class NormalTarget(NamedTuple):
    """A request-target after normalization."""

    path: str  # normalized, still percent-encoded, no query
    decoded: str  # `path` percent-decoded: what path-pattern rules compare (spec 7.2)
    path_qs: str | None  # the request-target for the target; None: the client's is already normal


def _looks_normal(path: str) -> bool:
    """True when nothing in `path` can need normalizing: the common case, decided with a few
    C-speed scans and no allocation."""
    return ("%" not in path and "//" not in path and "/." not in path and "\\" not in path
            and ";" not in path and "#" not in path and path.isprintable())


def normalize_target(target: str, policy: PathPolicy) -> NormalTarget:
    """Normalizes an origin-form request-target (`/path?query`); the query is kept as sent.
    Raises UnsafePath."""
    path, question, query = target.partition("?")
    if _looks_normal(path):
        return NormalTarget(path, path, None)
    normal = normalize_path(path, policy)
    decoded = unquote(normal, errors="replace") if "%" in normal else normal
    return NormalTarget(normal, decoded, normal + question + query if normal != path else None)


def normalize_path(path: str, policy: PathPolicy) -> str:
    """The normal form of an absolute path (no query). Raises UnsafePath. Idempotent."""
    if not path.startswith("/"):
        raise UnsafePath("not an absolute path")
    _refuse_raw_characters(path)
    decoded = _decode_unreserved(path, policy) if "%" in path else path
    return _resolve_segments(decoded, policy)


def _refuse_raw_characters(path: str) -> None:
    if "\\" in path:
        raise UnsafePath("backslash")  # IIS, and some Windows-hosted servers, read it as `/`
    if "#" in path:
        raise UnsafePath("fragment in a request-target")
    if not path.isprintable() and any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise UnsafePath("control character")


def _decode_unreserved(path: str, policy: PathPolicy) -> str:
    parts: list[str] = []
    start = 0
    i = path.find("%")
    while i != -1:
        pair = path[i + 1:i + 3]
        if len(pair) != 2 or pair[0] not in _HEX or pair[1] not in _HEX:
            raise UnsafePath("invalid percent-encoding")
        byte = int(pair, 16)
        if byte == 0:
            raise UnsafePath("%00")  # C-string targets end the path there
        if byte in _SLASHES and policy.reject_encoded_slash:
            raise UnsafePath("encoded slash or backslash")
        char = chr(byte)
        parts.append(path[start:i])
        parts.append(char if char in _UNRESERVED else "%" + pair.upper())
        start = i + 3
        i = path.find("%", start)
    parts.append(path[start:])
    return "".join(parts)


def _resolve_segments(path: str, policy: PathPolicy) -> str:
    """RFC 3986 5.2.4 on the segments of an absolute path, with slashes merged on request.
    A trailing `.`/`..`/empty segment keeps the trailing slash, as the RFC's algorithm does."""
    segments = path[1:].split("/")
    last = len(segments) - 1
    out: list[str] = []
    for index, segment in enumerate(segments):
        if ";" in segment and policy.reject_dot_segment_parameters:
            _refuse_parameter_on_dot_segment(segment)
        if segment == ".":
            pass
        elif segment == "..":
            if not out:
                raise UnsafePath("`..` above the root")
            out.pop()
        elif segment or not policy.merge_slashes or index == last:
            out.append(segment)
            continue
        if index == last:
            out.append("")
    return "/" + "/".join(out)


def _refuse_parameter_on_dot_segment(segment: str) -> None:
    # Tomcat/Jetty strip `;params` from each segment before resolving dot segments: `..;x`
    # is `..` to them, `;x` an empty segment, but an ordinary name to an RFC 3986 resolver.
    if segment.partition(";")[0] in ("", ".", ".."):
        raise UnsafePath("path parameter on a dot or empty segment")
