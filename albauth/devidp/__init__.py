"""A real OpenID Connect provider for development and tests, built on authlib's
server components: `albauth dev`, `albauth idp`, and albauth's integration tests sign
in against it."""

from .events import IdpEvent
from .provider import IDP_KEY, DevIdP, create_idp_app
from .settings import CognitoPool, IdpClient, IdpSettings, IdpUser, load_idp_settings

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
