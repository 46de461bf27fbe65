"""OpenID Connect Discovery 1.0, the document side (no I/O).

ALB itself never discovers anything: its action config names the issuer and all three
endpoints. The emulator lets endpoints be left out and fills them (and the JWKS URI,
which ALB has no use for) from `<issuer>/.well-known/openid-configuration`.
"""

from __future__ import annotations

from typing import Any

from albauth.auth.errors import DiscoveryError

WELL_KNOWN = "/.well-known/openid-configuration"

#: Discovery fields the relying party uses.
ENDPOINT_FIELDS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
)


def discovery_url(issuer: str) -> str:
    # Discovery §4: strip a trailing "/" from the issuer before appending the path.
    return issuer.rstrip("/") + WELL_KNOWN


def parse_discovery(document: Any, issuer: str) -> dict[str, str]:
    """The endpoint URLs a discovery document announces, keyed by field name.

    The document's `issuer` must equal the configured one exactly (Discovery §4.3),
    which stops a look-alike document from handing us another provider's endpoints."""
    if not isinstance(document, dict):
        raise DiscoveryError("discovery document is not a JSON object")
    if document.get("issuer") != issuer:
        raise DiscoveryError("discovery document issuer does not match the configured issuer")
    endpoints: dict[str, str] = {}
    for name in ENDPOINT_FIELDS:
        value = document.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise DiscoveryError(f"discovery document {name} is not a URL string")
        endpoints[name] = value
    return endpoints


__all__ = ["ENDPOINT_FIELDS", "WELL_KNOWN", "discovery_url", "parse_discovery"]
