from __future__ import annotations

import pytest

from albauth.clock import FakeClock
from albauth.session import Sealer

from .helpers import SECRET, T0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def sealer() -> Sealer:
    return Sealer([SECRET], "session")
