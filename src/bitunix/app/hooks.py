"""What the trading side does with each market push besides deciding: one definition for
the live run and the backtest, so both feed risk and execution the same way."""

from __future__ import annotations

from collections.abc import Mapping

from bitunix.app.pipeline import MarketHooks
from bitunix.core.latency import LatencyProbe
from bitunix.execution.engine import ExecutionEngine
from bitunix.features import FEATURE_NAMES, FeatureEngine
from bitunix.model import ContractSpec
from bitunix.model.ticks import FloatGrid
from bitunix.risk.gate import RiskGate

__all__ = ["TradingHooks"]


class TradingHooks(MarketHooks):
    """Market path -> latency probe, execution marks and exits, risk breakers.

    ``engine`` is None in dry-run (nothing to mark). A trade's last price goes onto the
    contract's grid (the marks that trailing stops and time exits follow).
    """

    def __init__(self, gate: RiskGate, engine: ExecutionEngine | None, probe: LatencyProbe,
                 contracts: Mapping[str, ContractSpec]) -> None:
        self._gate = gate
        self._engine = engine
        self._probe = probe
        self._ivol = FEATURE_NAMES.index("realized_vol_bps")
        self._idepth = FEATURE_NAMES.index("depth_imbalance")
        self._grids = {s: FloatGrid(c.price_decimals) for s, c in contracts.items()}

    def on_push(self) -> None:
        self._probe.start_event()

    def on_push_done(self) -> None:
        self._probe.end_event()

    def on_trades(self, symbol: str, last_price: float, volume: float, ts_ns: int) -> None:
        self._gate.symbol_breaker(symbol).on_trade(volume, ts_ns)
        engine = self._engine
        if engine is not None:
            engine.on_price(symbol, self._grids[symbol].nearest(last_price), ts_ns)

    def on_book(self, symbol: str, engine: FeatureEngine, ts_ns: int) -> None:
        vector = engine.vector
        self._gate.symbol_breaker(symbol).on_book(
            float(vector[self._ivol]), float(vector[self._idepth]), ts_ns)
