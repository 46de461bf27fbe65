"""The ALB session: its model, sealing, sharded cookies and the stores that keep it."""

from albauth.session.cookie_store import CookieSessionStore
from albauth.session.cookies import (
    MAX_SET_COOKIE_LINE,
    MAX_SHARDS,
    CookiePolicy,
    decode_value,
    encode_value,
    expire,
    replace_shards,
    shard,
    shard_indices,
    unshard,
)
from albauth.session.errors import (
    RevocationUnsupported,
    SessionInvalid,
    SessionStoreError,
    SessionStoreUnavailable,
    SessionTooLarge,
)
from albauth.session.memory_store import MemorySessionStore
from albauth.session.model import Session, binding_for, new_sid
from albauth.session.sealed_cookie import session_aad
from albauth.session.sealing import MIN_SECRET_LENGTH, Sealer, SealError, generate_secret
from albauth.session.store import SessionStore

__all__ = [
    "MAX_SET_COOKIE_LINE",
    "MAX_SHARDS",
    "MIN_SECRET_LENGTH",
    "CookiePolicy",
    "CookieSessionStore",
    "MemorySessionStore",
    "RevocationUnsupported",
    "SealError",
    "Sealer",
    "Session",
    "SessionInvalid",
    "SessionStore",
    "SessionStoreError",
    "SessionStoreUnavailable",
    "SessionTooLarge",
    "binding_for",
    "decode_value",
    "encode_value",
    "expire",
    "generate_secret",
    "new_sid",
    "replace_shards",
    "session_aad",
    "shard",
    "shard_indices",
    "unshard",
]
