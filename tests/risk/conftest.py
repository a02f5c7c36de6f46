"""Contracts, snapshots and recorders for the risk tests."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bitunix.model import ContractSpec
from bitunix.risk import Denial, ExposureSnapshot, RiskTransition

S = 1_000_000_000

#: BTCUSDT as the simulator lists it (the bundled capture's symbol).
BTC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                   qty_decimals=4, min_qty=Decimal("0.0001"), max_limit_qty=Decimal("1000"),
                   max_market_qty=Decimal("500"))
#: ETHUSDT: a coarser step and a lower maximum leverage.
ETH = ContractSpec(symbol="ETHUSDT", base="ETH", quote="USDT", price_decimals=2,
                   qty_decimals=3, min_qty=Decimal("0.003"), max_limit_qty=Decimal("1000000"),
                   max_market_qty=Decimal("50000"), max_leverage=100)


def snapshot(equity: str = "10000", **kw: object) -> ExposureSnapshot:
    """A flat account with ``equity`` USDT at the start of day 20000 (2024-10-04)."""
    fields: dict[str, object] = {"equity": Decimal(equity), "day_start_equity": Decimal(equity),
                                 "utc_day": 20_000}
    fields.update(kw)
    return ExposureSnapshot(**fields)  # type: ignore[arg-type]


def replace(snap: ExposureSnapshot, **kw: object) -> ExposureSnapshot:
    """``snap`` with some fields changed (a new object, as the execution side makes)."""
    return msgspec.structs.replace(snap, **kw)


class Recorder:
    """Collects what a gate reports: denials and transitions."""

    def __init__(self) -> None:
        self.denials: list[tuple[str, str, Denial, int]] = []
        self.transitions: list[RiskTransition] = []

    def on_denial(self, symbol: str, side: object, denial: Denial, ts_ns: int) -> None:
        self.denials.append((symbol, str(side), denial, ts_ns))

    def on_transition(self, t: RiskTransition) -> None:
        self.transitions.append(t)

    def kinds(self) -> list[tuple[str, str, bool]]:
        """``(kind, symbol, active)`` of every transition so far."""
        return [(str(t.kind), t.symbol, t.active) for t in self.transitions]
