"""The bounded LRU map the per-request caches use."""

from __future__ import annotations

from albauth.lru import Lru


def test_the_least_recently_used_entry_goes_first() -> None:
    lru: Lru[str, int] = Lru(2)
    lru["a"], lru["b"] = 1, 2
    assert lru.get("a") == 1  # "a" is now the most recent
    lru["c"] = 3
    assert "b" not in lru and lru.get("a") == 1 and lru.get("c") == 3 and len(lru) == 2


def test_setting_a_known_key_refreshes_it() -> None:
    lru: Lru[str, int] = Lru(2)
    lru["a"], lru["b"] = 1, 2
    lru["a"] = 10
    lru["c"] = 3
    assert "b" not in lru and lru.get("a") == 10


def test_size_zero_keeps_nothing() -> None:
    lru: Lru[str, int] = Lru(0)
    lru["a"] = 1
    assert lru.get("a") is None and len(lru) == 0
