"""Cookie headers built from a real session's shards: kept, truncated, flipped, reordered,
missing, duplicated, renamed, oversized, non-base64 and valid-looking base64."""

from __future__ import annotations

import base64

from hypothesis import strategies as st

NAME = "AWSELBAuthSessionCookie"
SHARD_NAMES = [f"{NAME}-{i}" for i in range(4)]
# Near misses of the shard names: a fifth shard, no index, other case, whitespace, other cookies.
ODD_NAMES = [f"{NAME}-4", NAME, f"{NAME.lower()}-0", f" {NAME}-0", f"{NAME}-00", f"{NAME}--1",
             "AWSELBAuthNonce", "other", ""]
COOKIE_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=64)


def shard_value(real: list[str]) -> st.SearchStrategy[str]:
    """A value for one shard, from the real session or not."""
    some_real = st.sampled_from(real)
    return st.one_of(
        some_real,
        st.tuples(some_real, st.integers(0, 4096)).map(lambda t: t[0][:t[1]]),  # truncated
        st.tuples(some_real, st.integers(0, 4096), st.sampled_from("AQZz09+/=")).map(_replace_char),
        st.binary(max_size=3000).map(lambda b: base64.b64encode(b).decode()),  # valid-looking
        st.binary(max_size=64).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")),
        COOKIE_TEXT,  # non-base64
        st.integers(4000, 20000).map(lambda n: "A" * n),  # oversized
        st.just(""),
        st.tuples(some_real, some_real).map("".join),  # one shard glued onto another
        some_real.map(lambda v: f'"{v}"'),  # quoted: only aiohttp's full cookie parser takes it
    )


def cookie_pairs(real: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    names = st.one_of(st.sampled_from(SHARD_NAMES[:len(real) + 1]), st.sampled_from(ODD_NAMES))
    pair = st.tuples(names, shard_value(real))
    kept = st.just([(SHARD_NAMES[i], v) for i, v in enumerate(real)])
    # The real shards with some dropped, some duplicated, and random pairs mixed in, in any order.
    mixed = st.tuples(kept, st.lists(st.booleans(), min_size=len(real), max_size=len(real)),
                      st.lists(pair, max_size=6)).map(_mix)
    whole = st.tuples(kept, st.lists(pair, max_size=4)).map(lambda t: t[0] + t[1])
    return st.one_of(st.lists(pair, max_size=8), mixed, whole).flatmap(st.permutations)


def cookie_header(pairs: list[tuple[str, str]]) -> str:
    return "; ".join(f"{k}={v}" if k else v for k, v in pairs)


def _replace_char(t: tuple[str, int, str]) -> str:
    value, at, char = t
    at = at % len(value) if value else 0
    return value[:at] + char + value[at + 1:]


def _mix(t: tuple[list[tuple[str, str]], list[bool], list[tuple[str, str]]]) -> list[tuple[str, str]]:
    kept, keep, extra = t
    return [p for p, k in zip(kept, keep, strict=True) if k] + extra
