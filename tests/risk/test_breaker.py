"""Circuit breakers on a manual clock: each trips on its own condition, stays tripped while
the condition holds, and clears only after a normal reading and its own cool-down."""

from __future__ import annotations

import math

import pytest

from bitunix.core import ManualClock
from bitunix.risk import (
    APPROVED,
    BreakerConfig,
    CircuitBreaker,
    Denial,
    ErrorRateBreakerConfig,
    ImbalanceBreakerConfig,
    Reason,
    StalenessBreakerConfig,
    VolatilityBreakerConfig,
    VolumeBreakerConfig,
)
from tests.risk.conftest import Recorder, S

T0 = 1_700_000_000 * S


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def _breaker(rec: Recorder, **sections: object) -> CircuitBreaker:
    """Breakers with ``sections``; staleness off unless given (these tests jump the clock
    without feeding data)."""
    sections.setdefault("staleness", StalenessBreakerConfig(enabled=False))
    return CircuitBreaker(BreakerConfig(**sections), rec.on_transition)  # type: ignore[arg-type]


def _reason(verdict: object) -> Reason | None:
    return verdict.reason if isinstance(verdict, Denial) else None


def test_volatility_trips_holds_and_recovers_after_its_cool_down(
        clock: ManualClock, rec: Recorder) -> None:
    cb = _breaker(rec)
    btc = cb.symbol("BTCUSDT")
    btc.on_book(12.0, 0.0, clock.now_ns())           # busy but normal
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    clock.advance_ns(1 * S)
    btc.on_book(45.0, 0.0, clock.now_ns())
    verdict = cb.check("BTCUSDT", clock.now_ns())
    assert isinstance(verdict, Denial)
    assert verdict.reason is Reason.BREAKER_VOLATILITY
    assert verdict.values == {"vol_bps": 45.0, "max_bps": 30.0, "recovery_s": 300.0}
    assert rec.kinds() == [("breaker_volatility", "BTCUSDT", True)]
    # Still abnormal 100 s later: the cool-down restarts from there.
    clock.advance_ns(100 * S)
    btc.on_book(31.0, 0.0, clock.now_ns())
    last_abnormal = clock.now_ns()
    clock.advance_ns(1 * S)
    btc.on_book(5.0, 0.0, clock.now_ns())            # normal again
    clock.set_ns(last_abnormal + 300 * S - 1)
    assert _reason(cb.check("BTCUSDT", clock.now_ns())) is Reason.BREAKER_VOLATILITY
    clock.advance_ns(1)
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    assert rec.kinds() == [("breaker_volatility", "BTCUSDT", True),
                           ("breaker_volatility", "BTCUSDT", False)]
    assert rec.transitions[-1].values["tripped_s"] == pytest.approx(400.0)


def test_a_breaker_without_a_normal_reading_stays_tripped(clock: ManualClock,
                                                          rec: Recorder) -> None:
    cb = _breaker(rec)
    cb.symbol("BTCUSDT").on_book(45.0, 0.0, clock.now_ns())
    clock.advance_ns(3600 * S)                       # an hour, but no reading said "normal"
    assert _reason(cb.check("BTCUSDT", clock.now_ns())) is Reason.BREAKER_VOLATILITY
    cb.symbol("BTCUSDT").on_book(math.nan, 0.0, clock.now_ns())   # NaN is no evidence
    assert _reason(cb.check("BTCUSDT", clock.now_ns())) is Reason.BREAKER_VOLATILITY
    cb.symbol("BTCUSDT").on_book(1.0, 0.0, clock.now_ns())
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED


def test_readings_are_relative_not_price_units(clock: ManualClock, rec: Recorder) -> None:
    """The earlier bot compared BTC's std in USD with 2.0 and was stuck on. A 10 USD std at
    61,800 is 1.6 bps: normal."""
    cb = _breaker(rec)
    cb.symbol("BTCUSDT").on_book(10.0 / 61_800 * 1e4, 0.1, clock.now_ns())
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    assert rec.transitions == []


def test_imbalance_must_be_sustained(clock: ManualClock, rec: Recorder) -> None:
    cb = _breaker(rec)
    btc = cb.symbol("BTCUSDT")
    for _ in range(10):                              # flickers above 0.8, 0.5 s each
        btc.on_book(1.0, 0.95, clock.now_ns())
        clock.advance_ns(S // 2)
        btc.on_book(1.0, -0.2, clock.now_ns())
        clock.advance_ns(S // 2)
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    start = clock.now_ns()
    while clock.now_ns() - start < 5 * S:            # one-sided for 5 s (either side)
        btc.on_book(1.0, -0.85, clock.now_ns())
        assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
        clock.advance_ns(S // 4)
    btc.on_book(1.0, -0.85, clock.now_ns())
    verdict = cb.check("BTCUSDT", clock.now_ns())
    assert _reason(verdict) is Reason.BREAKER_IMBALANCE
    assert isinstance(verdict, Denial)
    assert verdict.values["imbalance"] == 0.85
    btc.on_book(1.0, 0.3, clock.now_ns())
    tripped_at = clock.now_ns()
    clock.set_ns(tripped_at + 300 * S)
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED


def _volume_breaker(rec: Recorder) -> CircuitBreaker:
    return _breaker(rec, volume=VolumeBreakerConfig(interval_s=1.0, ewma_intervals=9,
                                                     warmup_intervals=3, recovery_s=60.0))


def test_volume_spike_against_the_ewma_of_past_intervals(clock: ManualClock,
                                                         rec: Recorder) -> None:
    cb = _volume_breaker(rec)
    btc = cb.symbol("BTCUSDT")
    clock.set_ns(T0 + S // 2)
    btc.on_trade(100.0, clock.now_ns())              # partial first interval: not a sample
    for i in range(1, 5):                            # four full intervals of 10 each
        clock.set_ns(T0 + i * S)
        for _ in range(10):
            btc.on_trade(1.0, clock.now_ns())
    assert btc.normal_volume == pytest.approx(10.0)  # three closed: 10, 10, 10
    clock.set_ns(T0 + 5 * S + S // 10)
    btc.on_trade(45.0, clock.now_ns())               # 4.5x: still normal
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    btc.on_trade(6.0, clock.now_ns())                # 51 in this interval: 5.1x, at once
    verdict = cb.check("BTCUSDT", clock.now_ns())
    assert _reason(verdict) is Reason.BREAKER_VOLUME
    assert isinstance(verdict, Denial)
    assert verdict.values["volume"] == 51.0
    assert verdict.values["max_volume"] == pytest.approx(50.0)
    spike_at = clock.now_ns()
    # The next interval is ordinary: closing it says "normal"; the cool-down runs from the
    # spike's last trade.
    clock.set_ns(T0 + 6 * S)
    btc.on_trade(10.0, clock.now_ns())
    clock.set_ns(T0 + 7 * S)
    btc.on_trade(10.0, clock.now_ns())
    clock.set_ns(spike_at + 60 * S - 1)
    assert _reason(cb.check("BTCUSDT", clock.now_ns())) is Reason.BREAKER_VOLUME
    clock.advance_ns(1)
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED


def test_volume_is_not_judged_before_warm_up(clock: ManualClock, rec: Recorder) -> None:
    cb = _volume_breaker(rec)
    btc = cb.symbol("BTCUSDT")
    btc.on_trade(1.0, T0)                             # partial
    btc.on_trade(1.0, T0 + 1 * S)
    btc.on_trade(1.0, T0 + 2 * S)
    btc.on_trade(1_000.0, T0 + 3 * S)                 # only two closed intervals so far
    assert cb.check("BTCUSDT", T0 + 3 * S) is APPROVED


def test_quiet_intervals_lower_the_normal(clock: ManualClock, rec: Recorder) -> None:
    cb = _volume_breaker(rec)
    btc = cb.symbol("BTCUSDT")
    for i in range(6):
        btc.on_trade(10.0, T0 + i * S)
    assert btc.normal_volume == pytest.approx(10.0)
    btc.on_trade(10.0, T0 + 26 * S)                   # 20 empty intervals in between
    assert btc.normal_volume == pytest.approx(10.0 * 0.8 ** 20)   # alpha = 2 / (9 + 1)


def test_error_rate_needs_enough_requests_and_slides(clock: ManualClock, rec: Recorder) -> None:
    cb = _breaker(rec, error_rate=ErrorRateBreakerConfig(window_s=60.0, min_requests=10,
                                                         recovery_s=120.0))
    for _ in range(9):                                # nine failures: too few to judge
        cb.on_request(False, clock.now_ns())
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    cb.on_request(True, clock.now_ns())               # 9 / 10 failed
    verdict = cb.check("ETHUSDT", clock.now_ns())     # account-wide: every symbol
    assert _reason(verdict) is Reason.BREAKER_ERROR_RATE
    assert isinstance(verdict, Denial)
    assert verdict.values["error_rate"] == pytest.approx(0.9)
    assert rec.kinds() == [("breaker_error_rate", "", True)]
    # Requests go well; the failures leave the 60 s window; the cool-down counts from the
    # last moment the rate was too high.
    for _ in range(70):
        clock.advance_ns(1 * S)
        cb.on_request(True, clock.now_ns())
    assert cb.check("BTCUSDT", clock.now_ns()) is not APPROVED
    clock.advance_ns(120 * S)
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    assert rec.kinds()[-1] == ("breaker_error_rate", "", False)


def test_error_rate_below_the_limit_never_trips(clock: ManualClock, rec: Recorder) -> None:
    cb = _breaker(rec)
    for i in range(2000):                             # one in six failing, 200 s
        cb.on_request(i % 6 != 5, clock.now_ns())
        clock.advance_ns(S // 10)
        assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    assert rec.transitions == []
    cb = _breaker(rec)
    for i in range(10):                               # 2 of 10: at the limit, not above
        cb.on_request(i >= 2, clock.now_ns())
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    cb.on_request(False, clock.now_ns())              # 3 of 11
    assert _reason(cb.check("BTCUSDT", clock.now_ns())) is Reason.BREAKER_ERROR_RATE


def test_staleness_trips_on_silence_and_recovers_after_data_resumes(
        clock: ManualClock, rec: Recorder) -> None:
    cb = _breaker(rec, staleness=StalenessBreakerConfig(max_silence_s=5.0, recovery_s=30.0))
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED      # no data yet: not stale
    cb.symbol("ETHUSDT").on_trade(1.0, clock.now_ns())          # any symbol feeds it
    clock.advance_ns(5 * S)
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    clock.advance_ns(1)
    verdict = cb.check("BTCUSDT", clock.now_ns())
    assert _reason(verdict) is Reason.BREAKER_STALENESS
    clock.advance_ns(60 * S)
    cb.symbol("BTCUSDT").on_book(1.0, 0.0, clock.now_ns())     # data again
    cb.poll(clock.now_ns())                                     # noticed now
    resumed = clock.now_ns()
    clock.set_ns(resumed + 30 * S - 1)
    cb.symbol("BTCUSDT").on_book(1.0, 0.0, clock.now_ns())
    assert _reason(cb.check("BTCUSDT", clock.now_ns())) is Reason.BREAKER_STALENESS
    clock.advance_ns(1)
    assert cb.check("BTCUSDT", clock.now_ns()) is APPROVED
    assert rec.kinds() == [("breaker_staleness", "", True), ("breaker_staleness", "", False)]


def test_each_breaker_has_its_own_timer_and_symbol(clock: ManualClock, rec: Recorder) -> None:
    """The earlier bot shared one trip time across every flag."""
    cb = _breaker(rec, volatility=VolatilityBreakerConfig(recovery_s=300.0),
                  imbalance=ImbalanceBreakerConfig(min_duration_s=0.0, recovery_s=60.0))
    btc = cb.symbol("BTCUSDT")
    btc.on_book(50.0, 0.0, T0)                        # volatility at T0
    btc.on_book(1.0, 0.99, T0 + 200 * S)              # imbalance at T0 + 200 s
    btc.on_book(1.0, 0.0, T0 + 201 * S)
    assert cb.check("ETHUSDT", T0 + 201 * S) is APPROVED   # another symbol trades on
    assert _reason(cb.check("BTCUSDT", T0 + 299 * S)) is Reason.BREAKER_VOLATILITY
    assert _reason(cb.check("BTCUSDT", T0 + 300 * S)) is None   # both over
    assert sorted(rec.kinds()) == [("breaker_imbalance", "BTCUSDT", False),
                                   ("breaker_imbalance", "BTCUSDT", True),
                                   ("breaker_volatility", "BTCUSDT", False),
                                   ("breaker_volatility", "BTCUSDT", True)]
    # The imbalance trip cleared at 260 s by itself when polled, not at the volatility's.
    cb2 = _breaker(Recorder(), imbalance=ImbalanceBreakerConfig(min_duration_s=0.0,
                                                                 recovery_s=60.0))
    s2 = cb2.symbol("BTCUSDT")
    s2.on_book(50.0, 0.99, T0)
    s2.on_book(1.0, 0.0, T0 + 1 * S)
    cb2.poll(T0 + 60 * S)
    assert cb2.tripped() == [(Reason.BREAKER_VOLATILITY, "BTCUSDT")]


def test_disabled_breakers_never_trip(clock: ManualClock, rec: Recorder) -> None:
    cb = _breaker(rec, volatility=VolatilityBreakerConfig(enabled=False),
                  imbalance=ImbalanceBreakerConfig(enabled=False),
                  volume=VolumeBreakerConfig(enabled=False),
                  error_rate=ErrorRateBreakerConfig(enabled=False),
                  staleness=StalenessBreakerConfig(enabled=False))
    btc = cb.symbol("BTCUSDT")
    for i in range(100):
        btc.on_book(1e6, 1.0, T0 + i * S)
        btc.on_trade(1e9 if i > 50 else 1.0, T0 + i * S)
        cb.on_request(False, T0 + i * S)
    cb.poll(T0 + 10_000 * S)
    assert cb.check("BTCUSDT", T0 + 10_000 * S) is APPROVED
    assert rec.transitions == []
    assert cb.tripped() == []


def test_defaults_on_the_bundled_capture_trip_only_on_the_real_burst() -> None:
    """The bundled BTCUSDT capture (344 s, real) through the feature engine into the default
    breakers: no volatility or imbalance trip (the earlier bot's breaker was stuck on), and
    one volume trip, at the burst 210 s in (381 BTC in 10 s against a normal of 39)."""
    from bitunix.data import BookEvent, TradeEvent, iter_capture
    from bitunix.features import FEATURE_NAMES, FeatureEngine, feed_event

    rec = Recorder()
    cb = CircuitBreaker(BreakerConfig(), rec.on_transition)
    btc = cb.symbol("BTCUSDT")
    engine = FeatureEngine(tick_size=0.1)
    i_vol = FEATURE_NAMES.index("realized_vol_bps")
    i_imb = FEATURE_NAMES.index("depth_imbalance")
    first = None
    books = 0
    for ev in iter_capture():
        first = ev.ts_ns if first is None else first
        feed_event(engine, ev)
        if isinstance(ev, TradeEvent):
            btc.on_trade(float(ev.qty), ev.ts_ns)
        elif isinstance(ev, BookEvent) and engine.write():
            books += 1
            btc.on_book(float(engine.vector[i_vol]), float(engine.vector[i_imb]), ev.ts_ns)
        cb.poll(ev.ts_ns)
    assert first is not None
    assert books > 5000
    trips = [(str(t.kind), round((t.ts_ns - first) / S)) for t in rec.transitions if t.active]
    assert len(trips) == 1
    kind, at_s = trips[0]
    assert kind == "breaker_volume"
    assert 200 <= at_s <= 220
