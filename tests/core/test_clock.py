"""Clocks: live and manual."""

from __future__ import annotations

import time

import pytest

from bitunix.core import ConfigError, LiveClock, ManualClock
from bitunix.core.errors import BitunixError


def test_live_clock_reads_wall_time() -> None:
    before = time.time_ns()
    now = LiveClock().now_ns()
    assert before <= now <= time.time_ns()


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(100)
    assert clock.now_ns() == 100
    clock.advance_ns(50)
    clock.set_ns(200)
    assert clock.now_ns() == 200
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set_ns(199)


def test_error_hierarchy() -> None:
    assert issubclass(ConfigError, BitunixError)
    assert issubclass(ConfigError, ValueError)
