"""Fuzzing over real HTTP: hypothesis profiles and the real parts (provider, echo
upstream, albauth on an HTTPS listener) from tests/alb.

Examples per test are small by default so the whole directory stays well under a minute;
more on demand:

    pytest tests/fuzz --hypothesis-profile=deep --timeout=0     # 1,000 examples per test
    ALBAUTH_FUZZ_EXAMPLES=5000 pytest tests/fuzz --timeout=0    # any number

(`--timeout=0` lifts the suite's 120 s per-test limit, which a deep run exceeds.)

albauth is started once per test and every example reuses it (a function-scoped fixture
is set up once per test, not per example), which keeps an example at a few ms."""

# ruff: noqa: F811  (the tests/alb fixtures are imported, then named as parameters)
from __future__ import annotations

import pytest
from hypothesis import settings

from tests.alb.conftest import (  # noqa: F401  (fixtures)
    Alb,
    StartAlb,
    clock,
    idp,
    start_alb,
    tls_files,
    upstream,
)

from .harness import DEEP_EXAMPLES

# Registered here; the pytest plugin loads it with --hypothesis-profile=deep when this
# conftest is collected first (`pytest tests/fuzz ...`).
settings.register_profile("deep", max_examples=DEEP_EXAMPLES, deadline=None)


@pytest.fixture
async def alb(start_alb: StartAlb) -> Alb:
    """albauth with the defaults of spec 12 (authenticate-oidc, OnUnauthenticatedRequest authenticate)."""
    return await start_alb(albauth={"proxy": {"expose_error_reason": True}})
