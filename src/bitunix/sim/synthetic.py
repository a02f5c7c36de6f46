"""A seeded synthetic market with realistic microstructure, for runs without recorded data.

Every ``book_interval_ms`` the mid price takes a Student-t step (heavy tails) scaled by a
volatility state that decays towards 1 and jumps in random bursts (clustering); the book is
rebuilt around the new mid (depth moves with price, spread widens and depth thins during
bursts), and a Poisson number of trades, busier in bursts, hits the touch with a side
biased by the step's direction. Prices sit on the tick grid and quantities on the step grid
as exact decimal strings. The same seed gives the same events.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal

from bitunix.data import BookEvent, MarketEvent, TradeEvent


class SyntheticMarket:
    """Generator of :class:`TradeEvent` / :class:`BookEvent` (see the module docstring)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        symbol: str = "BTCUSDT",
        start_price: Decimal = Decimal("60000"),
        tick: Decimal = Decimal("0.1"),
        step: Decimal = Decimal("0.001"),
        start_ns: int = 1_723_161_255_000_000_000,
        book_interval_ms: int = 100,
        vol_bps_per_step: float = 0.8,
        tail_dof: float = 3.0,
        burst_prob: float = 0.003,
        burst_size: float = 4.0,
        burst_decay: float = 0.97,
        trades_per_s: float = 40.0,
        levels: int = 15,
        level_qty: float = 0.8,
        duration_s: float | None = None,
    ) -> None:
        if tail_dof <= 2:
            raise ValueError("tail_dof must be > 2 for a finite variance")
        self.seed = seed
        self.symbol = symbol
        self.start_price = start_price
        self.tick = tick
        self.step = step
        self.start_ns = start_ns
        self.interval_ns = book_interval_ms * 1_000_000
        self.vol = vol_bps_per_step / 1e4
        self.dof = tail_dof
        self.burst_prob = burst_prob
        self.burst_size = burst_size
        self.burst_decay = burst_decay
        self.trade_rate = trades_per_s * book_interval_ms / 1000
        self.levels = levels
        self.level_qty = level_qty
        self.steps = None if duration_s is None else int(duration_s * 1000 / book_interval_ms)

    def _t_step(self, rng: random.Random) -> float:
        """A unit-variance Student-t draw."""
        chi2 = 2.0 * rng.gammavariate(self.dof / 2.0, 1.0)
        return rng.gauss(0.0, 1.0) / math.sqrt(chi2 / self.dof) * math.sqrt(
            (self.dof - 2.0) / self.dof)

    def _qty(self, rng: random.Random, scale: float) -> Decimal:
        q = Decimal(repr(max(rng.lognormvariate(math.log(scale), 0.9), 0.0)))
        return max(q.quantize(self.step, ROUND_DOWN), self.step)

    def _poisson(self, rng: random.Random, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k

    def events(self) -> Iterator[MarketEvent]:
        """Yield the events in time order (forever unless ``duration_s`` was given)."""
        rng = random.Random(self.seed)  # nosec B311  # seeded synthetic market, not a secret
        tick = float(self.tick)
        mid = float(self.start_price)
        vol_state = 1.0
        ts = self.start_ns
        n = 0
        while self.steps is None or n < self.steps:
            n += 1
            vol_state = 1.0 + (vol_state - 1.0) * self.burst_decay
            if rng.random() < self.burst_prob:
                vol_state += self.burst_size * rng.random()
            ret = self.vol * vol_state * self._t_step(rng)
            mid *= math.exp(ret)
            spread_ticks = 1 + int(rng.random() * vol_state)
            best_bid = Decimal(math.floor(mid / tick)) * self.tick
            best_ask = best_bid + self.tick * spread_ticks
            thin = 1.0 / math.sqrt(vol_state)
            bids = [(best_bid - self.tick * i,
                     self._qty(rng, self.level_qty * (1 + 0.3 * i) * thin))
                    for i in range(self.levels)]
            asks = [(best_ask + self.tick * i,
                     self._qty(rng, self.level_qty * (1 + 0.3 * i) * thin))
                    for i in range(self.levels)]
            buy_bias = 0.5 + max(-0.3, min(0.3, ret / (self.vol * 4 + 1e-12) * 0.3))
            count = self._poisson(rng, self.trade_rate * vol_state)
            for k in range(count):
                is_buy = rng.random() < buy_bias
                price, avail = (asks[0] if is_buy else bids[0])
                qty = min(self._qty(rng, 0.01), avail)
                yield TradeEvent(ts_ns=ts + (k + 1) * self.interval_ns // (count + 1),
                                 symbol=self.symbol, price=str(price), qty=str(qty),
                                 is_buy=is_buy)
            ts += self.interval_ns
            yield BookEvent(ts_ns=ts, symbol=self.symbol,
                            bids=[(str(p), str(q)) for p, q in bids],
                            asks=[(str(p), str(q)) for p, q in asks])
