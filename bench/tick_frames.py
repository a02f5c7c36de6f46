"""Pre-encoded Bitunix pushes and the pure-Python baseline of the tick benchmarks.

``trade_payload`` / ``depth15_payload`` build the venue's JSON pushes (``trade``,
``depth_book15``); ``ws_frame`` wraps a payload in an unmasked server text frame, as a
server writes it. ``PyFeatures`` is the baseline's feature engine: a rolling 30 s VWAP
and its standard deviation over a deque of trades, and the top-5 depth imbalance, in
plain Python on ``json.loads`` dicts (what a hand-rolled bot does), with the same
decision shape as OVIR-X's guards (|z| over a threshold, the book leaning against it).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

WINDOW_NS = 30_000_000_000


def trade_payload(symbol: str, ts_ms: int, price: float, qty: float, buy: bool) -> bytes:
    """One ``trade`` push with one trade."""
    side = "buy" if buy else "sell"
    return (f'{{"ch":"trade","symbol":"{symbol}","ts":{ts_ms},"data":[{{"p":"{price:.1f}",'
            f'"s":"{side}","t":"2026-01-01T00:00:00Z","v":"{qty:.4f}"}}]}}').encode()


def depth15_payload(symbol: str, ts_ms: int, mid: float, tick: float = 0.1,
                    lean: float = 0.0) -> bytes:
    """A ``depth_book15`` push: 15 levels a side around ``mid``, one tick apart; ``lean``
    > 0 puts more size on the bids."""
    bids = ",".join(f'["{mid - tick * (i + 0.5):.2f}","{1.0 + lean + 0.1 * i:.3f}"]'
                    for i in range(15))
    asks = ",".join(f'["{mid + tick * (i + 0.5):.2f}","{1.0 + 0.1 * i:.3f}"]'
                    for i in range(15))
    return (f'{{"ch":"depth_book15","symbol":"{symbol}","ts":{ts_ms},'
            f'"data":{{"b":[{bids}],"a":[{asks}]}}}}').encode()


def ws_frame(payload: bytes) -> bytes:
    """An unmasked final text frame (server -> client)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x81, n])
    elif n < 65536:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + n.to_bytes(8, "big")
    return head + payload


class PyFeatures:
    """The baseline's features of one symbol, in pure Python (see the module docs)."""

    __slots__ = ("_pv", "_pv2", "_trades", "_v", "imbalance", "last", "mid")

    def __init__(self) -> None:
        self._trades: deque[tuple[int, float, float]] = deque()
        self._pv = self._pv2 = self._v = 0.0
        self.last = self.mid = self.imbalance = math.nan

    def on_trade(self, price: float, qty: float, ts_ns: int) -> None:
        """Add a trade; drop those older than the window."""
        self._trades.append((ts_ns, price, qty))
        self._pv += price * qty
        self._pv2 += price * price * qty
        self._v += qty
        self.last = price
        cut = ts_ns - WINDOW_NS
        trades = self._trades
        while trades and trades[0][0] <= cut:
            _, p, q = trades.popleft()
            self._pv -= p * q
            self._pv2 -= p * p * q
            self._v -= q

    def on_book(self, bids: list[list[Any]], asks: list[list[Any]]) -> None:
        """Mid and top-5 imbalance from the push's string levels."""
        if not bids or not asks:
            return
        self.mid = (float(bids[0][0]) + float(asks[0][0])) / 2.0
        bq = sum(float(q) for _, q in bids[:5])
        aq = sum(float(q) for _, q in asks[:5])
        self.imbalance = (bq - aq) / (bq + aq) if bq + aq > 0.0 else 0.0

    def vwap_z(self) -> float:
        """(last - VWAP) / std over the window; NaN when undefined."""
        if self._v <= 0.0:
            return math.nan
        vwap = self._pv / self._v
        var = self._pv2 / self._v - vwap * vwap
        if var <= 0.0:
            return math.nan
        return (self.last - vwap) / math.sqrt(var)

    def decide(self, entry_z: float = 2.0, lean: float = 0.1) -> int:
        """+1 buy / -1 sell / 0: fade |z| >= entry_z when the book leans against it."""
        z = self.vwap_z()
        if not abs(z) >= entry_z:
            return 0
        d = 1 if z > 0 else -1
        return -d if -d * self.imbalance >= lean else 0
