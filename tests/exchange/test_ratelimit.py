"""Token buckets never let more than the documented rate out in any one-second window."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitunix.exchange.ratelimit import ENDPOINT_RATES, RateLimiter, TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def now(self) -> float:
        return self.t

    async def sleep(self, s: float) -> None:
        self.t += s


def _max_in_window(times: list[float], window: float = 1.0) -> int:
    best = 0
    for i, t in enumerate(times):
        best = max(best, sum(1 for u in times[i:] if u - t < window))
    return best


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([1.0, 5.0, 10.0]),
       st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=60))
async def test_rate_never_exceeded(rate: float, gaps: list[float]) -> None:
    clock = FakeTime()
    bucket = TokenBucket.for_rate(rate, 0.9, clock.now)
    sent: list[float] = []
    for gap in gaps:
        clock.t += gap
        await bucket.acquire(clock.sleep)
        sent.append(clock.t)
    assert _max_in_window(sent) <= max(1, rate * 0.9)


async def test_burst_then_steady_spacing() -> None:
    clock = FakeTime()
    bucket = TokenBucket(burst=4, refill_per_s=5, now=clock.now)
    waits = [await bucket.acquire(clock.sleep) for _ in range(8)]
    assert waits[:4] == [0, 0, 0, 0]
    assert all(w == pytest.approx(0.2) for w in waits[4:])


def test_bad_bucket_parameters() -> None:
    with pytest.raises(ValueError, match="burst >= 1"):
        TokenBucket(0, 1)
    with pytest.raises(ValueError, match="refill > 0"):
        TokenBucket(1, 0)


async def test_limiter_keeps_one_bucket_per_endpoint() -> None:
    clock = FakeTime()
    lim = RateLimiter(now=clock.now, sleep=clock.sleep)
    place = "/api/v1/futures/trade/place_order"
    batch = "/api/v1/futures/trade/batch_order"
    assert ENDPOINT_RATES[batch] == 1.0
    assert lim.bucket(place) is lim.bucket(place)
    for _ in range(3):
        await lim.acquire(batch)
    await lim.acquire(place)  # another endpoint is not slowed by batch_order
    assert lim.throttled == 2
    assert lim.waited_s > 4
    unknown = lim.bucket("/api/v1/futures/something/new")
    assert unknown.refill_per_s > 0
