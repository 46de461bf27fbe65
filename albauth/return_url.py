"""Where forward-auth's `/oauth2/start?rd=<url>` may send the browser after the login.

`rd` comes from the browser (a link anyone can craft), so an unchecked one is an open
redirect that borrows the login's credibility (OWASP "Unvalidated Redirects"). A return URL
is accepted only when every reader agrees on its host: browsers, Python and the controller
disagree on backslashes, whitespace, userinfo and percent-encoded hosts, so those are
refused outright rather than interpreted (oauth2-proxy was bitten by each of them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

__all__ = ["allowed_return_url", "hostname_of"]

# A DNS name or an IP literal (urlsplit drops the brackets of IPv6): nothing a browser
# would decode or fold into another host.
_HOSTNAME = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")


def hostname_of(host: str) -> str:
    """The name in a Host header value, lowercased, without the port."""
    try:
        return (urlsplit(f"//{host}").hostname or "").rstrip(".")
    except ValueError:
        return ""


def _domain_allows(domain: str, hostname: str) -> bool:
    if domain.startswith("."):  # the domain itself and every subdomain
        return hostname == domain[1:] or hostname.endswith(domain)
    return hostname == domain


def allowed_return_url(rd: str, *, scheme: str, host: str, allowed_domains: Sequence[str]) -> str | None:
    """The absolute URL to return to, or None when `rd` is not allowed. A path is made
    absolute on the request's own origin; an absolute URL must be http(s) on the request's
    own host or one of `allowed_domains`."""
    # Browsers drop tabs and newlines inside URLs and read `\` as `/`: `/\evil` is `//evil`.
    if not rd or not rd.isascii() or not rd.isprintable() or " " in rd or "\\" in rd:
        return None
    if rd.startswith("/"):
        # `//evil/x` is a scheme-relative URL to another host, not a path.
        return None if rd.startswith("//") else f"{scheme}://{host}{rd}"
    try:
        parts = urlsplit(rd)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Userinfo (`https://good.example@evil`) and encoded hosts are where parsers disagree.
    if "@" in parts.netloc or "%" in parts.netloc:
        return None
    hostname = (parts.hostname or "").rstrip(".")
    if not _HOSTNAME.fullmatch(hostname):
        return None
    own = hostname_of(host)
    if hostname == own or any(_domain_allows(d, hostname) for d in allowed_domains):
        return rd
    return None
