"""Circuit breakers: abnormal volatility, depth imbalance and volume per symbol; error rate
and feed staleness for the whole account.

Each breaker is a :class:`Trip`: it trips on an abnormal reading and clears only once a
normal reading has been seen **and** its own ``recovery_s`` has passed since the last
abnormal one; a reading that stays abnormal keeps it tripped. Recovery is evaluated when
entries are checked and on :meth:`CircuitBreaker.poll` (call it from a timer for timely
transitions); every change goes to the ``on_transition`` callback.

Readings arrive on the hot path (:meth:`SymbolBreaker.on_trade` per trade,
:meth:`SymbolBreaker.on_book` per book), so they are a few comparisons and stores; nothing
is allocated unless a breaker changes state. Timestamps are nanoseconds of one clock: the
one ``now_ns`` of the checks comes from.
"""

from __future__ import annotations

from collections.abc import Callable

from bitunix.risk.config import BreakerConfig
from bitunix.risk.verdict import APPROVED, Approved, Denial, Reason, RiskTransition

__all__ = ["CircuitBreaker", "SymbolBreaker", "TransitionSink", "Trip"]

_NS = 1_000_000_000

#: Where state changes go (the app logs and audits them).
TransitionSink = Callable[[RiskTransition], None]


def _ns(seconds: float) -> int:
    return round(seconds * _NS)


def _ignore(_transition: RiskTransition) -> None:
    return None


class _Count:
    """How many breakers are tripped (shared by every :class:`Trip` of a breaker set), so
    a check with none tripped costs one comparison."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


class Trip:
    """One breaker's state: tripped or not, and when its condition last held."""

    __slots__ = ("count", "denial", "emit", "kind", "last_abnormal_ns", "limit_key", "normal",
                 "reading_key", "recovery_ns", "symbol", "tripped", "tripped_ns")

    def __init__(self, kind: Reason, symbol: str, *, recovery_s: float, reading_key: str,
                 limit_key: str, emit: TransitionSink, count: _Count | None = None) -> None:
        self.kind = kind
        self.count = count or _Count()
        self.symbol = symbol
        self.recovery_ns = _ns(recovery_s)
        self.reading_key = reading_key
        self.limit_key = limit_key
        self.emit = emit
        self.tripped = False
        self.normal = True
        self.last_abnormal_ns = 0
        self.tripped_ns = 0
        self.denial = Denial(kind)

    def abnormal(self, ts_ns: int, reading: float, limit: float) -> None:
        """The condition holds at ``ts_ns`` (``reading`` beyond ``limit``): trip, or stay
        tripped with the cool-down restarted."""
        self.normal = False
        self.last_abnormal_ns = max(self.last_abnormal_ns, ts_ns)
        if not self.tripped:
            self.tripped = True
            self.count.n += 1
            self.tripped_ns = ts_ns
            values: dict[str, str | int | float] = {
                self.reading_key: reading, self.limit_key: limit,
                "recovery_s": self.recovery_ns / _NS}
            self.denial = Denial(self.kind, values)
            self.emit(RiskTransition(ts_ns=ts_ns, kind=self.kind, active=True,
                                     symbol=self.symbol, values=values))

    def still_tripped(self, now_ns: int) -> bool:
        """Clear the trip if its condition was seen false and the cool-down has passed;
        True while it holds."""
        if self.normal and now_ns - self.last_abnormal_ns >= self.recovery_ns:
            self.tripped = False
            self.count.n -= 1
            self.emit(RiskTransition(
                ts_ns=now_ns, kind=self.kind, active=False, symbol=self.symbol,
                values={"tripped_s": (now_ns - self.tripped_ns) / _NS,
                        "last_abnormal_ns": self.last_abnormal_ns}))
            return False
        return True


class _Feed:
    """When market data last arrived (any symbol)."""

    __slots__ = ("last_ns",)

    def __init__(self) -> None:
        self.last_ns = -1


class SymbolBreaker:
    """The per-symbol breakers (volatility, imbalance, volume) and their readings."""

    __slots__ = (
        "_alpha",
        "_bucket",
        "_bucket_vol",
        "_ewma",
        "_feed",
        "_imb_max",
        "_imb_min_ns",
        "_imb_on",
        "_imb_since",
        "_interval_ns",
        "_limit",
        "_multiple",
        "_partial",
        "_seen",
        "_vol_max",
        "_vol_on",
        "_volume_on",
        "_warm",
        "_warmup",
        "imbalance",
        "symbol",
        "volatility",
        "volume",
    )

    def __init__(self, symbol: str, config: BreakerConfig, feed: _Feed,
                 emit: TransitionSink, count: _Count | None = None) -> None:
        self.symbol = symbol
        self._feed = feed
        v, i, q = config.volatility, config.imbalance, config.volume
        self.volatility = Trip(Reason.BREAKER_VOLATILITY, symbol, recovery_s=v.recovery_s,
                               reading_key="vol_bps", limit_key="max_bps", emit=emit,
                               count=count)
        self.imbalance = Trip(Reason.BREAKER_IMBALANCE, symbol, recovery_s=i.recovery_s,
                              reading_key="imbalance", limit_key="max_abs", emit=emit,
                              count=count)
        self.volume = Trip(Reason.BREAKER_VOLUME, symbol, recovery_s=q.recovery_s,
                           reading_key="volume", limit_key="max_volume", emit=emit,
                           count=count)
        self._vol_on, self._vol_max = v.enabled, v.max_bps
        self._imb_on, self._imb_max = i.enabled, i.max_abs
        self._imb_min_ns = _ns(i.min_duration_s)
        self._imb_since = -1
        self._volume_on = q.enabled
        self._interval_ns = max(1, _ns(q.interval_s))
        self._alpha = 2.0 / (q.ewma_intervals + 1)
        self._multiple = q.max_multiple
        self._warmup = q.warmup_intervals
        self._bucket = -1
        self._bucket_vol = 0.0
        self._partial = True
        self._seen = 0
        self._ewma = 0.0
        self._limit = 0.0
        self._warm = False

    def on_book(self, volatility_bps: float, imbalance: float, ts_ns: int) -> None:
        """A book update: the realised volatility in bps and the depth imbalance in
        [-1, 1] at ``ts_ns``. A NaN reading is no evidence either way."""
        feed = self._feed
        feed.last_ns = ts_ns if ts_ns > feed.last_ns else feed.last_ns
        if self._vol_on:
            if volatility_bps > self._vol_max:
                self.volatility.abnormal(ts_ns, volatility_bps, self._vol_max)
            elif volatility_bps <= self._vol_max:  # not NaN
                self.volatility.normal = True
        if self._imb_on:
            a = abs(imbalance)
            if a > self._imb_max:
                if self._imb_since < 0:
                    self._imb_since = ts_ns
                if ts_ns - self._imb_since >= self._imb_min_ns:
                    self.imbalance.abnormal(ts_ns, a, self._imb_max)
            elif a <= self._imb_max:  # not NaN
                self._imb_since = -1
                self.imbalance.normal = True

    def on_trade(self, qty: float, ts_ns: int) -> None:
        """A trade of ``qty`` (base coin) at ``ts_ns``: adds to the current interval's
        volume, which trips the breaker as soon as it exceeds ``max_multiple`` times the
        normal. A trade older than the current interval counts in it."""
        feed = self._feed
        feed.last_ns = ts_ns if ts_ns > feed.last_ns else feed.last_ns
        if not self._volume_on:
            return
        bucket = ts_ns // self._interval_ns
        if bucket > self._bucket:
            self._roll(bucket)
        volume = self._bucket_vol + qty
        self._bucket_vol = volume
        if self._warm and volume > self._limit:
            self.volume.abnormal(ts_ns, volume, self._limit)

    def _roll(self, bucket: int) -> None:
        """Close the current interval (and any empty ones up to ``bucket``) into the
        EWMA of the normal volume."""
        if self._bucket >= 0:
            if self._partial:
                self._partial = False  # the first interval started mid-way: not a sample
            else:
                self._sample(self._bucket_vol)
                if self._warm and self._bucket_vol <= self._limit:
                    self.volume.normal = True
            empty = bucket - self._bucket - 1
            if empty > 0 and not self._partial:
                if self._seen == 0:
                    self._sample(0.0)
                    empty -= 1
                self._ewma *= (1.0 - self._alpha) ** min(empty, 1_000_000)
                self._seen += empty
                self.volume.normal = True
        self._bucket = bucket
        self._bucket_vol = 0.0
        self._limit = self._multiple * self._ewma
        self._warm = self._seen >= self._warmup

    def _sample(self, volume: float) -> None:
        if self._seen == 0:
            self._ewma = volume
        else:
            self._ewma += self._alpha * (volume - self._ewma)
        self._seen += 1

    @property
    def normal_volume(self) -> float:
        """The EWMA of past intervals' volumes (0.0 before the first full interval)."""
        return self._ewma

    def check(self, now_ns: int) -> Approved | Denial:
        """The denial of the first tripped breaker of this symbol, after recovery."""
        trip = self.volatility
        if trip.tripped and trip.still_tripped(now_ns):
            return trip.denial
        trip = self.imbalance
        if trip.tripped and trip.still_tripped(now_ns):
            return trip.denial
        trip = self.volume
        if trip.tripped and trip.still_tripped(now_ns):
            return trip.denial
        return APPROVED

    def poll(self, now_ns: int) -> None:
        """Evaluate the recovery of every tripped breaker of this symbol."""
        for trip in (self.volatility, self.imbalance, self.volume):
            if trip.tripped:
                trip.still_tripped(now_ns)


class _ErrorWindow:
    """Requests and failures over a sliding window of ``n`` buckets, totals kept
    incrementally (a record or a check is O(1) amortised)."""

    __slots__ = ("bucket_ns", "errors", "head", "ids", "n", "requests", "slot_err", "slot_req")

    def __init__(self, window_s: float, n: int = 20) -> None:
        self.n = n
        self.bucket_ns = max(1, _ns(window_s) // n)
        self.ids = [-1] * n
        self.slot_req = [0] * n
        self.slot_err = [0] * n
        self.head = -1
        self.requests = 0
        self.errors = 0

    def advance(self, ts_ns: int) -> None:
        """Drop the buckets that left the window ending at ``ts_ns``."""
        bucket = ts_ns // self.bucket_ns
        if bucket <= self.head:
            return
        first = max(self.head + 1, bucket - self.n + 1)
        for b in range(first, bucket + 1):
            i = b % self.n
            self.requests -= self.slot_req[i]
            self.errors -= self.slot_err[i]
            self.ids[i], self.slot_req[i], self.slot_err[i] = b, 0, 0
        self.head = bucket

    def add(self, ts_ns: int, failed: bool) -> None:
        """Count one request at ``ts_ns`` (ignored if older than the window)."""
        self.advance(ts_ns)
        bucket = ts_ns // self.bucket_ns
        i = bucket % self.n
        if self.ids[i] != bucket:
            return
        self.slot_req[i] += 1
        self.requests += 1
        if failed:
            self.slot_err[i] += 1
            self.errors += 1


class CircuitBreaker:
    """Every breaker: per symbol (:class:`SymbolBreaker`, made on first use) and the
    account-wide error rate and feed staleness."""

    def __init__(self, config: BreakerConfig, on_transition: TransitionSink | None = None
                 ) -> None:
        self.config = config
        self._emit = on_transition or _ignore
        self._feed = _Feed()
        self._count = _Count()
        self._symbols: dict[str, SymbolBreaker] = {}
        e, s = config.error_rate, config.staleness
        self.error_rate = Trip(Reason.BREAKER_ERROR_RATE, "", recovery_s=e.recovery_s,
                               reading_key="error_rate", limit_key="max_rate", emit=self._emit,
                               count=self._count)
        self.staleness = Trip(Reason.BREAKER_STALENESS, "", recovery_s=s.recovery_s,
                              reading_key="silence_s", limit_key="max_silence_s",
                              emit=self._emit, count=self._count)
        self._errors = _ErrorWindow(e.window_s)
        self._err_on, self._err_max, self._err_min = e.enabled, e.max_rate, e.min_requests
        self._stale_on = s.enabled
        self._silence_ns = _ns(s.max_silence_s)

    def symbol(self, symbol: str) -> SymbolBreaker:
        """The breakers of ``symbol`` (keep it: its methods are the hot-path feed)."""
        sb = self._symbols.get(symbol)
        if sb is None:
            sb = self._symbols[symbol] = SymbolBreaker(symbol, self.config, self._feed,
                                                       self._emit, self._count)
        return sb

    @property
    def last_data_ns(self) -> int:
        """When market data last arrived (-1: never)."""
        return self._feed.last_ns

    def on_request(self, ok: bool, ts_ns: int) -> None:
        """One venue request ended at ``ts_ns``, well (``ok``) or not."""
        if self._err_on:
            self._errors.add(ts_ns, not ok)
            self._judge_errors(ts_ns)

    def _judge_errors(self, now_ns: int) -> None:
        w = self._errors
        w.advance(now_ns)
        if w.requests >= self._err_min and w.errors > self._err_max * w.requests:
            self.error_rate.abnormal(now_ns, w.errors / w.requests, self._err_max)
        else:
            self.error_rate.normal = True

    def _judge_staleness(self, now_ns: int) -> None:
        last = self._feed.last_ns
        trip = self.staleness
        if last >= 0 and now_ns - last > self._silence_ns:
            trip.abnormal(now_ns, (now_ns - last) / _NS, self._silence_ns / _NS)
        elif not trip.normal:
            # Data resumed at some time before now; the cool-down counts from now, the
            # first moment it is known (poll often for a timely recovery).
            trip.normal = True
            trip.last_abnormal_ns = max(trip.last_abnormal_ns, now_ns)

    def check(self, symbol: str, now_ns: int) -> Approved | Denial:
        """The first breaker denying entries in ``symbol`` at ``now_ns``, or APPROVED."""
        if self._stale_on:
            last = self._feed.last_ns
            if (last >= 0 and now_ns - last > self._silence_ns) or not self.staleness.normal:
                self._judge_staleness(now_ns)
        errors = self._errors
        if self._err_on and now_ns // errors.bucket_ns != errors.head:
            self._judge_errors(now_ns)   # the window moved since it was last judged
        if not self._count.n:
            return APPROVED
        if self.staleness.tripped and self.staleness.still_tripped(now_ns):
            return self.staleness.denial
        if self.error_rate.tripped and self.error_rate.still_tripped(now_ns):
            return self.error_rate.denial
        sb = self._symbols.get(symbol)
        return APPROVED if sb is None else sb.check(now_ns)

    def poll(self, now_ns: int) -> None:
        """Re-evaluate staleness, the error rate and every recovery at ``now_ns`` (from a
        timer; transitions go to the callback)."""
        if self._stale_on:
            self._judge_staleness(now_ns)
            if self.staleness.tripped:
                self.staleness.still_tripped(now_ns)
        if self._err_on:
            self._judge_errors(now_ns)
            if self.error_rate.tripped:
                self.error_rate.still_tripped(now_ns)
        for sb in self._symbols.values():
            sb.poll(now_ns)

    def tripped(self) -> list[tuple[Reason, str]]:
        """``(kind, symbol)`` of every breaker tripped now (symbol empty: account-wide)."""
        trips = [self.staleness, self.error_rate]
        for sb in self._symbols.values():
            trips += (sb.volatility, sb.imbalance, sb.volume)
        return [(t.kind, t.symbol) for t in trips if t.tripped]
