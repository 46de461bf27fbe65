"""The store a configuration asks for, and what it costs a process that does not use Redis."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_process_without_a_redis_store_never_imports_redis_py() -> None:
    """redis-py adds ~7 MiB to every process: serving with the memory or cookie store (the
    authenticate action set up in full) must not load it."""
    code = textwrap.dedent("""
        import sys
        from albauth.clock import system_clock
        from albauth.config.model import SessionSettings
        from albauth.session.factory import build_store
        import albauth.app, albauth.cli  # everything `albauth serve` imports up front
        for store in ("memory", "cookie"):
            built = build_store(SessionSettings(store=store), ("s" * 32,), system_clock)
            assert built.redis is None
        loaded = sorted(m for m in sys.modules if m == "redis" or m.startswith("redis."))
        print(loaded)
        sys.exit(1 if loaded else 0)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
