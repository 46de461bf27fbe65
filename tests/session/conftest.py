from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

# The package is not installed in the venv and pytest has no `pythonpath` setting yet
# (pyproject.toml is not ours to edit): fall back to the checkout itself.
if importlib.util.find_spec("albauth") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from albauth.clock import FakeClock  # noqa: E402
from albauth.session import Sealer  # noqa: E402

from .helpers import SECRET, T0  # noqa: E402


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def sealer() -> Sealer:
    return Sealer([SECRET], "session")
