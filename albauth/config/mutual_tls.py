"""A listener's `MutualAuthentication` (ALB's mutual TLS). `verify` is applied: the trust store
is the CA bundle named by the listener's `albauth.trust_store_file` (an albauth extension: a
TrustStoreArn cannot be resolved here; give the bundle the trust store was made from).
`passthrough` is refused: ALB then accepts any client certificate unverified and hands the
chain to the target, and Python's TLS cannot ask for a certificate without verifying it."""

from __future__ import annotations

import os
from typing import Any

from albauth.config.checker import Checker
from albauth.config.model import MutualTls

_KEYS = frozenset({"Mode", "TrustStoreArn", "IgnoreClientCertificateExpiry", "TrustStoreAssociationStatus",
                   "AdvertiseTrustStoreCaNames"})


def parse_mutual_authentication(c: Checker, raw: Any, mp: str, *, protocol: str,
                                trust_store_file: Any, ep: str) -> MutualTls | None:
    """`trust_store_file`/`ep`: the listener's `albauth.trust_store_file` and its key path."""
    if raw is None:
        raw = {}
    elif not c.mapping(raw, mp, known=_KEYS):
        return None
    mode = raw.get("Mode", "off")
    if trust_store_file is not None and mode != "verify":
        c.issue(f"{ep}.trust_store_file", "is the trust store of MutualAuthentication Mode verify, which this "
                                          "listener does not have")
    if mode == "off":
        return None
    if mode == "passthrough":
        c.issue(f"{mp}.Mode", "passthrough is not supported: albauth cannot take a client certificate without "
                              "verifying it (use verify with albauth.trust_store_file, or off)")
        return None
    if mode != "verify":
        c.issue(f"{mp}.Mode", f"must be off, passthrough or verify (got {mode!r})")
        return None
    return _verify(c, raw, mp, protocol, trust_store_file, ep)


def _verify(c: Checker, raw: dict[str, Any], mp: str, protocol: str, trust_store_file: Any,
            ep: str) -> MutualTls | None:
    if protocol != "HTTPS":
        c.issue(f"{mp}.Mode", "mutual TLS is for HTTPS listeners")
    if raw.get("AdvertiseTrustStoreCaNames", "off") != "off":
        c.issue(f"{mp}.AdvertiseTrustStoreCaNames", "on is not supported: albauth's TLS does not send the trust "
                                                    "store's CA names (give off)")
    ignore = c.boolean(raw.get("IgnoreClientCertificateExpiry", False), f"{mp}.IgnoreClientCertificateExpiry")
    path = c.string(trust_store_file, f"{ep}.trust_store_file", required=True,
                    hint="the PEM CA bundle of the trust store (TrustStoreArn cannot be resolved here)")
    if path is None:
        return None
    if not os.path.isfile(path):
        c.issue(f"{ep}.trust_store_file", f"no such file: {path}")
        return None
    return MutualTls(path, ignore)
