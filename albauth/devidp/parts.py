"""What the grants and endpoints read from the authorization server that runs them.

authlib hands each grant and endpoint its server (`self.server`); they read the
provider's settings, keys, in-memory store and clock from it. Naming that as a protocol
here lets grants.py and endpoints.py depend on it, and server.py on them, without a
cycle (server.py builds them; they never import it)."""

from __future__ import annotations

from typing import Protocol

from albauth.clock import Clock

from .keys import KeyRing
from .models import Store
from .settings import IdpSettings


class ProviderParts(Protocol):
    settings: IdpSettings
    keys: KeyRing
    store: Store
    clock: Clock


__all__ = ["ProviderParts"]
