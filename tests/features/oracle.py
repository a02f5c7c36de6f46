"""Pure-Python reference implementations of the native kernels (the tests' oracle)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


def _valid(x: float) -> bool:
    return math.isfinite(x) and x > 0


@dataclass
class VWAPOracle:
    window_ns: int
    max_samples: int
    samples: deque[tuple[int, float, float]] = field(default_factory=deque)
    rejected: int = 0

    def add(self, price: float, qty: float, ts_ns: int) -> bool:
        if not (_valid(price) and _valid(qty)) or (self.samples and ts_ns < self.samples[-1][0]):
            self.rejected += 1
            return False
        self.samples.append((ts_ns, price, qty))
        while self.samples and self.samples[0][0] <= ts_ns - self.window_ns:
            self.samples.popleft()
        while len(self.samples) > self.max_samples:
            self.samples.popleft()
        return True

    @property
    def vwap(self) -> float:
        q = math.fsum(s[2] for s in self.samples)
        return math.fsum(s[1] * s[2] for s in self.samples) / q if self.samples else 0.0

    @property
    def std(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        m = self.vwap
        q = math.fsum(s[2] for s in self.samples)
        return math.sqrt(math.fsum(s[2] * (s[1] - m) ** 2 for s in self.samples) / q)


@dataclass
class TickOracle:
    n: int
    signs: deque[int] = field(default_factory=deque)
    last_price: float | None = None
    last_sign: int = 0

    def add(self, price: float) -> bool:
        if not _valid(price):
            return False
        if self.last_price is not None:
            if price > self.last_price:
                sign = 1
            elif price < self.last_price:
                sign = -1
            else:
                sign = self.last_sign
            if sign:
                self.last_sign = sign
                self.signs.append(sign)
                if len(self.signs) > self.n:
                    self.signs.popleft()
        self.last_price = price
        return True

    @property
    def ratio(self) -> float:
        return sum(self.signs) / len(self.signs) if self.signs else 0.0


@dataclass
class FlowOracle:
    window_ns: int
    max_samples: int
    samples: deque[tuple[int, float, bool]] = field(default_factory=deque)

    def add(self, qty: float, is_buy: bool, ts_ns: int) -> bool:
        if not _valid(qty) or (self.samples and ts_ns < self.samples[-1][0]):
            return False
        self.samples.append((ts_ns, qty, is_buy))
        while self.samples and self.samples[0][0] <= ts_ns - self.window_ns:
            self.samples.popleft()
        while len(self.samples) > self.max_samples:
            self.samples.popleft()
        return True

    @property
    def imbalance(self) -> float:
        buy = math.fsum(q for _, q, b in self.samples if b)
        sell = math.fsum(q for _, q, b in self.samples if not b)
        return (buy - sell) / (buy + sell) if buy + sell > 0 else 0.0


@dataclass
class VolOracle:
    window_ns: int
    max_samples: int
    halflife_ns: int
    returns: deque[tuple[int, float]] = field(default_factory=deque)
    last: tuple[int, float] | None = None
    ewma_sum: float = 0.0

    def add(self, price: float, ts_ns: int) -> bool:
        if not _valid(price) or (self.last is not None and ts_ns < self.last[0]):
            return False
        if self.last is not None:
            r = math.log(price / self.last[1])
            self.returns.append((ts_ns, r))
            while self.returns and self.returns[0][0] <= ts_ns - self.window_ns:
                self.returns.popleft()
            while len(self.returns) > self.max_samples:
                self.returns.popleft()
            age = ts_ns - self.last[0]
            self.ewma_sum = self.ewma_sum * 2.0 ** (-age / self.halflife_ns) + r * r
        self.last = (ts_ns, price)
        return True

    @property
    def realized(self) -> float:
        return math.sqrt(math.fsum(r * r for _, r in self.returns))

    @property
    def ewma(self) -> float:
        return math.sqrt(self.ewma_sum)


def depth_imbalance(
    bid_qty: list[float], ask_qty: list[float], weights: list[float] | None
) -> float:
    w = weights or [1.0] * len(bid_qty)
    bid = math.fsum(a * b for a, b in zip(w, bid_qty, strict=False))
    ask = math.fsum(a * b for a, b in zip(w, ask_qty, strict=False))
    return (bid - ask) / (bid + ask) if bid + ask > 0 else 0.0
