"""A real OpenID Connect provider for development and tests, built on authlib's
server components: `albauth dev`, `albauth idp`, and albauth's integration tests sign
in against it.

The provider's names are loaded on first use: the command line imports this package
for its flags (devidp.serve), and must not pay for authlib on every `albauth` command."""

from __future__ import annotations

# Private names: the package's surface is `__all__` (tests/test_public_api.py).
import importlib as _importlib
import typing as _typing

from .settings import CognitoPool, IdpClient, IdpSettings, IdpUser, load_idp_settings

if _typing.TYPE_CHECKING:
    from .events import IdpEvent
    from .provider import IDP_KEY, DevIdP, create_idp_app

_LAZY = {"IdpEvent": ".events", "IDP_KEY": ".provider", "DevIdP": ".provider", "create_idp_app": ".provider"}


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        return getattr(_importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "IDP_KEY",
    "CognitoPool",
    "DevIdP",
    "IdpClient",
    "IdpEvent",
    "IdpSettings",
    "IdpUser",
    "create_idp_app",
    "load_idp_settings",
]
