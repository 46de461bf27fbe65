"""Failure logging while a dependency is down: one traceback, then one line per interval."""

from __future__ import annotations

import logging

import pytest

from albauth.clock import FakeClock
from albauth.ops.log_throttle import LogThrottle


def boom(message: str = "Redis: Connection refused") -> ConnectionError:
    try:
        raise ConnectionError(message)
    except ConnectionError as exc:
        return exc


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def throttle(clock: FakeClock) -> LogThrottle:
    return LogThrottle(logging.getLogger("test.throttle"), interval=10.0, clock=clock)


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "test.throttle"]


def test_a_thousand_failures_in_ten_seconds_log_one_traceback(
        throttle: LogThrottle, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(1000):
        throttle.failure("session store failed", boom())
        clock.advance(0.009)
    logged = records(caplog)
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert "session store failed" in logged[0].getMessage()


def test_after_the_interval_one_line_counts_what_was_left_out(
        throttle: LogThrottle, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(50):
        throttle.failure("session store failed", boom())
        clock.advance(0.25)  # 12.5 s in all: logged at 0 s and 10 s
    logged = records(caplog)
    assert len(logged) == 2
    second = logged[1]
    assert second.exc_info is None  # no second traceback
    assert "39 more like it" in second.getMessage()
    assert "ConnectionError: Redis: Connection refused" in second.getMessage()
    total = sum(len(r.getMessage()) + len(r.exc_text or "") for r in logged)
    assert total < 4096


def test_each_kind_is_throttled_on_its_own(
        throttle: LogThrottle, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(10):
        throttle.failure("session store failed", boom())
        throttle.failure("session store failed", TimeoutError("timed out"))
        throttle.failure("could not release refresh lock", boom())
    assert len(records(caplog)) == 3


def test_a_new_incident_after_a_quiet_interval_logs_its_traceback_again(
        throttle: LogThrottle, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    throttle.failure("session store failed", boom())
    clock.advance(60)
    throttle.failure("session store failed", boom())
    logged = records(caplog)
    assert [r.exc_info is not None for r in logged] == [True, True]
