"""The per-second REST limits."""

from __future__ import annotations

import pytest

from bitunix.sim.errors import SimError
from bitunix.sim.ratelimit import SimRateLimiter, limit_for


def test_limits_by_path() -> None:
    assert limit_for("/api/v1/futures/trade/batch_order") == 1
    assert limit_for("/api/v1/futures/trade/cancel_orders") == 5
    assert limit_for("/api/v1/futures/trade/place_order") == 10


def test_sliding_window() -> None:
    rl = SimRateLimiter()
    path = "/api/v1/futures/trade/cancel_orders"
    for i in range(5):
        rl.check("u", path, i)
    with pytest.raises(SimError) as info:
        rl.check("u", path, 10)
    assert info.value.code == 10006
    rl.check("other", path, 10)  # per caller
    rl.check("u", path, 1_000_000_001)  # the first hits left the window
    half = SimRateLimiter(scale=0.5)
    half.check("u", "/x", 0)
    for i in range(4):
        half.check("u", "/x", i + 1)
    with pytest.raises(SimError):
        half.check("u", "/x", 9)
