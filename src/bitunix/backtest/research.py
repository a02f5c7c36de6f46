"""The vectorised research path: screen a rule over whole trade arrays before a full replay.

A full backtest replays every event through the live strategy, risk and execution code
(exact, Decimal money). Research asks cheaper questions first: what do the features look
like over a day, and would a variant of the reversion rule trade at all, how often, and
roughly for what? This module answers them over numpy arrays:

* :func:`load_trades` reads a market-data file's trades into :class:`TradeArrays`
  (columns ``ts_ns`` int64, ``price`` / ``qty`` float64, ``is_buy`` bool), checked once;
* :func:`compute_features` runs the native batch kernels over them (GIL released), giving
  the values the live ``FeatureEngine`` computes, for feature studies;
* :func:`screen` runs the features, the OVIR-X-like rule and a simplified fill model in one
  native pass (``bitunix._native.screen_run``) and returns a :class:`ScreenResult`: the
  round trips, gross and net PnL, hit rate and events/s.

Screening is float arithmetic and a simplified fill model (enter at the next trade's price,
exit at the first trade beyond the stop or target, or at the time limit); its PnL is an
estimate for ranking variants, not an accounting. ``docs/research.md`` has the details.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.core.errors import ConfigError
from bitunix.data import DataFileError, TradeEvent
from bitunix.data.files import iter_market_file
from bitunix.features import (
    flow_imbalance_batch,
    realized_vol_batch,
    screen_run,
    tick_ratio_batch,
    vwap_batch,
)
from bitunix.strategy.config import MeanReversionConfig, OvirxConfig
from bitunix.strategy.registry import StrategySpec, convert_params
from bitunix.strategy.stack import SignalConfig

__all__ = [
    "EXIT_REASONS",
    "ResearchDataError",
    "ScreenParams",
    "ScreenResult",
    "TradeArrays",
    "compute_features",
    "load_trades",
    "screen",
]

NS_PER_S = 1_000_000_000

#: The ``reason`` codes of a screened round trip.
EXIT_REASONS: dict[int, str] = {1: "stop", 2: "target", 3: "time", 4: "end"}

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class ResearchDataError(DataFileError):
    """Trade arrays that cannot be screened; the message names the source and the row."""


class TradeArrays:
    """Trades as columns: ``ts_ns`` (int64, non-decreasing), ``price`` and ``qty`` (float64,
    finite and > 0), ``is_buy`` (bool, the aggressor bought). Checked on construction;
    ``source`` names them in errors (a file name, or "arrays")."""

    __slots__ = ("is_buy", "price", "qty", "source", "ts_ns")

    def __init__(self, ts_ns: Any, price: Any, qty: Any, is_buy: Any, *,
                 source: str = "arrays") -> None:
        self.source = source
        self.ts_ns: I64 = np.ascontiguousarray(ts_ns, dtype=np.int64)
        self.price: F64 = np.ascontiguousarray(price, dtype=np.float64)
        self.qty: F64 = np.ascontiguousarray(qty, dtype=np.float64)
        self.is_buy: npt.NDArray[np.bool_] = np.ascontiguousarray(is_buy, dtype=np.bool_)
        n = self.ts_ns.shape[0]
        for name in ("ts_ns", "price", "qty", "is_buy"):
            column = getattr(self, name)
            if column.ndim != 1 or column.shape[0] != n:
                raise ResearchDataError(f"{source}: column {name} has shape {column.shape}, "
                                        f"needs ({n},) like ts_ns")
        if n == 0:
            raise ResearchDataError(f"{source}: no trades")
        for name in ("price", "qty"):
            column = getattr(self, name)
            bad = ~(np.isfinite(column) & (column > 0.0))
            if bad.any():
                row = int(np.argmax(bad))
                value = float(column[row])
                raise ResearchDataError(f"{source}: trade {row}: {name} {value!r} is not a "
                                        "finite number > 0")
        back = np.diff(self.ts_ns) < 0
        if back.any():
            row = int(np.argmax(back)) + 1
            raise ResearchDataError(f"{source}: trade {row}: timestamp {self.ts_ns[row]} is "
                                    f"before the previous one ({self.ts_ns[row - 1]})")

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    def head(self, n: int) -> TradeArrays:
        """The first ``n`` trades (views, not copies)."""
        return TradeArrays(self.ts_ns[:n], self.price[:n], self.qty[:n], self.is_buy[:n],
                           source=self.source)


def load_trades(path: str | Path, *, symbol: str | None = None) -> TradeArrays:
    """The trades of a market-data file (a capture or a recording) as :class:`TradeArrays`.

    ``symbol``: only that symbol's trades; required when the file holds several. Books are
    skipped (the screen reads trades only). Errors name the file (and line, from the
    readers).
    """
    ts: list[int] = []
    price: list[str] = []
    qty: list[str] = []
    side: list[bool] = []
    seen: set[str] = set()
    for event in iter_market_file(path, symbol=symbol):
        if isinstance(event, TradeEvent):
            seen.add(event.symbol)
            ts.append(event.ts_ns)
            price.append(event.price)
            qty.append(event.qty)
            side.append(event.is_buy)
    if len(seen) > 1:
        raise ResearchDataError(f"{path}: trades of several symbols {sorted(seen)}; "
                                "choose one with symbol=")
    if not ts:
        what = f"no {symbol} trades" if symbol else "no trades"
        raise ResearchDataError(f"{path}: {what}")
    return TradeArrays(np.array(ts, dtype=np.int64), np.array(price, dtype=np.float64),
                       np.array(qty, dtype=np.float64), np.array(side, dtype=np.bool_),
                       source=str(path))


class ScreenParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the screen computes and trades; defaults are the live defaults.

    Features (``FeatureEngine``'s defaults): VWAP and std over ``vwap_window_s`` (30 s, at
    most ``vwap_max_samples`` = 600 trades), valid from ``min_samples`` (20) trades; tick
    ratio over ``tick_n`` (50) signs; flow imbalance over ``flow_window_s`` (30 s, at most
    ``flow_max_samples`` = 4096).

    Rule (OVIR-X's, from ``OvirxConfig``; with ``d = sign(z)``): ``entry_z <= |z| <=
    max_entry_z``, ``std / price * 1e4 >= min_std_bps``, target edge ``>= min_edge_bps``,
    ``d * tick_ratio <= max_tick_ratio``, and ``d * flow_imbalance <= max_flow_imbalance``
    (trades carry no book: the flow stands where OVIR-X reads the book's lean; 1.0 = off).
    No model gate and no spread rule (no book).

    Fills: enter at the next trade's price, ``slippage_ticks`` of ``tick_size`` worse; exit
    at the first later trade at or beyond the stop (``stop_std`` sigmas) or the target
    (``target_fraction`` of the way back to the VWAP), or ``max_hold_s`` after the entry,
    also ``slippage_ticks`` worse; ``fee_bps`` per side (6: a taker at VIP 0) on each
    fill's notional; ``qty`` per trade; the next entry waits ``cooldown_s`` after an exit.
    """

    vwap_window_s: float = 30.0
    vwap_max_samples: int = 600
    tick_n: int = 50
    flow_window_s: float = 30.0
    flow_max_samples: int = 4096
    min_samples: int = 20
    entry_z: float = 2.0
    max_entry_z: float = 5.0
    min_std_bps: float = 0.5
    min_edge_bps: float = 4.0
    max_tick_ratio: float = 0.0
    max_flow_imbalance: float = 1.0
    target_fraction: float = 1.0
    stop_std: float = 1.5
    max_hold_s: float = 60.0
    cooldown_s: float = 5.0
    fee_bps: float = 6.0
    slippage_ticks: float = 0.0
    tick_size: float = 0.01
    qty: float = 1.0

    def __post_init__(self) -> None:
        for name in ("vwap_window_s", "flow_window_s", "entry_z", "target_fraction",
                     "stop_std", "max_hold_s", "tick_size", "qty"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ConfigError(f"key research.{name}: must be a finite number > 0 "
                                  f"(was {value!r})")
        for name in ("min_std_bps", "min_edge_bps", "cooldown_s", "fee_bps", "slippage_ticks"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ConfigError(f"key research.{name}: must be a finite number >= 0 "
                                  f"(was {value!r})")
        for name in ("max_tick_ratio", "max_flow_imbalance"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ConfigError(f"key research.{name}: must be finite (was {value!r})")
        if not self.entry_z <= self.max_entry_z:
            raise ConfigError(f"key research.max_entry_z: must be >= entry_z "
                              f"(was {self.max_entry_z} < {self.entry_z})")
        for name in ("vwap_max_samples", "tick_n", "flow_max_samples"):
            value = getattr(self, name)
            if not 1 <= value < 2**32:
                raise ConfigError(f"key research.{name}: must be in 1..2**32-1 (was {value})")
        if not 0 <= self.min_samples < 2**32:
            raise ConfigError(f"key research.min_samples: must be >= 0 (was {self.min_samples})")

    @classmethod
    def from_signal(cls, signal: SignalConfig, *, strategy: str | None = None,
                    **overrides: Any) -> ScreenParams:
        """The screen of a configured strategy: the one named ``strategy`` (its name or
        kind), else the first OVIR-X, else the first one; ``overrides`` on top (fees,
        slippage, tick size, feature windows, ``max_flow_imbalance``).

        Mirrored: the shared reversion guards and exits, and OVIR-X's ``max_tick_ratio``
        (mean reversion has no tick rule: 1.0, always true). Not mirrored: the model gate,
        the spread and book-lean rules, the trailing stop.
        """
        specs = signal.strategies
        spec: StrategySpec | None
        if strategy is not None:
            chosen = [s for s in specs if strategy in (s.name, s.kind)]
            if not chosen:
                raise ConfigError(f"no strategy named {strategy!r} in signal.strategies")
            spec = chosen[0]
        else:
            spec = next((s for s in specs if s.kind == "ovirx"), specs[0] if specs else None)
        if spec is None:
            raise ConfigError("signal.strategies is empty: nothing to screen")
        if spec.kind == "ovirx":
            cfg: OvirxConfig | MeanReversionConfig = convert_params(spec, OvirxConfig)
            max_tick = cfg.max_tick_ratio if isinstance(cfg, OvirxConfig) else 1.0
        elif spec.kind == "mean_reversion":
            cfg = convert_params(spec, MeanReversionConfig)
            max_tick = 1.0
        else:
            raise ConfigError(f"strategy kind {spec.kind!r} has no screen")
        fields: dict[str, Any] = {
            "entry_z": cfg.entry_z,
            "max_entry_z": cfg.max_entry_z,
            "min_std_bps": cfg.min_std_bps,
            "min_edge_bps": cfg.min_edge_bps,
            "max_tick_ratio": max_tick,
            "target_fraction": cfg.exits.target_fraction,
            "stop_std": cfg.exits.stop_std,
            "max_hold_s": cfg.exits.max_hold_s,
            "cooldown_s": cfg.cooldown_s,
        }
        fields.update(overrides)
        try:
            return msgspec.convert(fields, type=cls)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"research: {exc}") from None

    def native_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``bitunix._native.screen_run``."""
        return {
            "vwap_window_ns": round(self.vwap_window_s * NS_PER_S),
            "vwap_max_samples": self.vwap_max_samples,
            "tick_n": self.tick_n,
            "flow_window_ns": round(self.flow_window_s * NS_PER_S),
            "flow_max_samples": self.flow_max_samples,
            "min_samples": self.min_samples,
            "entry_z": self.entry_z,
            "max_entry_z": self.max_entry_z,
            "min_std_bps": self.min_std_bps,
            "min_edge_bps": self.min_edge_bps,
            "max_tick_ratio": self.max_tick_ratio,
            "max_flow_imbalance": self.max_flow_imbalance,
            "target_fraction": self.target_fraction,
            "stop_std": self.stop_std,
            "max_hold_ns": round(self.max_hold_s * NS_PER_S),
            "cooldown_ns": round(self.cooldown_s * NS_PER_S),
        }


class ScreenResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a screen found.

    ``trades``: columns of equal length, one row per round trip: ``signal_i``,
    ``entry_i``, ``exit_i`` (rows of the input), ``signal_ts_ns``, ``entry_ts_ns``,
    ``exit_ts_ns``, ``direction`` (+1 long, -1 short), ``entry_price``, ``exit_price``
    (after slippage), ``target``, ``stop``, ``reason`` (codes of :data:`EXIT_REASONS`),
    ``gross_pnl``, ``fees``, ``net_pnl`` (quote currency, for ``qty``), ``net_bps`` (net
    over the entry notional). ``columns``: with ``screen(..., columns=True)``, per input
    row ``signal`` (the rule's direction whatever the position, 0 none), ``z``,
    ``tick_ratio``, ``flow_imbalance``; else empty. ``seconds``: the native pass and the
    PnL arithmetic (not the loading); ``events_per_s``: ``events / seconds``.
    """

    trades: dict[str, npt.NDArray[Any]]
    columns: dict[str, npt.NDArray[Any]]
    events: int
    seconds: float
    gross_pnl: float
    fees: float
    net_pnl: float
    hit_rate: float
    events_per_s: float

    @property
    def n_trades(self) -> int:
        """How many round trips."""
        return int(self.trades["signal_i"].shape[0])

    def reasons(self) -> dict[str, int]:
        """Round trips per exit reason."""
        counts = np.bincount(self.trades["reason"].astype(np.int64), minlength=5)
        return {name: int(counts[code]) for code, name in EXIT_REASONS.items()}

    def summary(self) -> dict[str, Any]:
        """The figures as plain numbers (a report row)."""
        return {
            "events": self.events,
            "trades": self.n_trades,
            "gross_pnl": self.gross_pnl,
            "fees": self.fees,
            "net_pnl": self.net_pnl,
            "hit_rate": self.hit_rate,
            "seconds": self.seconds,
            "events_per_s": self.events_per_s,
            "exits": self.reasons(),
        }


def screen(arrays: TradeArrays, params: ScreenParams | None = None, *,
           columns: bool = False) -> ScreenResult:
    """Screen ``params``' rule over ``arrays``: features, signal and fills in one native pass
    (GIL released), then the PnL of the round trips with numpy. See :class:`ScreenParams`
    for the rule and the fill model, :class:`ScreenResult` for the output."""
    p = params or ScreenParams()
    start = time.perf_counter()
    # bool bytes are 0/1: the uint8 view the kernel reads, without a copy
    raw, cols = screen_run(arrays.ts_ns, arrays.price, arrays.qty, arrays.is_buy.view(np.uint8),
                           columns=columns, **p.native_kwargs())
    trades = _priced(arrays, p, raw)
    seconds = time.perf_counter() - start
    net = trades["net_pnl"]
    n = len(arrays)
    return ScreenResult(
        trades=trades,
        columns={} if cols is None else dict(zip(("signal", "z", "tick_ratio",
                                                   "flow_imbalance"), cols, strict=True)),
        events=n,
        seconds=seconds,
        gross_pnl=float(trades["gross_pnl"].sum()),
        fees=float(trades["fees"].sum()),
        net_pnl=float(net.sum()),
        hit_rate=float((net > 0.0).mean()) if net.shape[0] else math.nan,
        events_per_s=n / seconds if seconds > 0 else math.inf,
    )


def _priced(arrays: TradeArrays, p: ScreenParams,
            raw: tuple[I64, I64, I64, npt.NDArray[np.int8], npt.NDArray[np.int8], F64, F64],
            ) -> dict[str, npt.NDArray[Any]]:
    signal_i, entry_i, exit_i, direction, reason, target, stop = raw
    d = direction.astype(np.float64)
    slip = p.slippage_ticks * p.tick_size
    entry_price = arrays.price[entry_i] + d * slip
    exit_price = arrays.price[exit_i] - d * slip
    gross = d * (exit_price - entry_price) * p.qty
    fees = (entry_price + exit_price) * p.qty * (p.fee_bps * 1e-4)
    net = gross - fees
    ts = arrays.ts_ns
    return {
        "signal_i": signal_i,
        "entry_i": entry_i,
        "exit_i": exit_i,
        "signal_ts_ns": ts[signal_i],
        "entry_ts_ns": ts[entry_i],
        "exit_ts_ns": ts[exit_i],
        "direction": direction,
        "entry_price": entry_price,
        "exit_price": exit_price,
        "target": target,
        "stop": stop,
        "reason": reason,
        "gross_pnl": gross,
        "fees": fees,
        "net_pnl": net,
        "net_bps": net / (entry_price * p.qty) * 1e4,
    }


def compute_features(arrays: TradeArrays,
                     params: ScreenParams | None = None,
                     *, vol_window_s: float = 60.0, vol_max_samples: int = 8192,
                     vol_halflife_s: float = 30.0) -> Mapping[str, F64]:
    """The trade features after every row, by the live kernels' batch functions (each
    releases the GIL): ``vwap``, ``std``, ``vwap_z`` (0 where std is 0), ``vwap_dev_bps``,
    ``tick_ratio``, ``flow_imbalance``, ``realized_vol_bps``, with ``params``' windows
    (the volatility's as the ``FeatureEngine`` defaults). The values are the live
    engine's, bit for bit; the book features need a book and are not here."""
    p = params or ScreenParams()
    ts, price, qty = arrays.ts_ns, arrays.price, arrays.qty
    vwap, std = vwap_batch(ts, price, qty, round(p.vwap_window_s * NS_PER_S),
                           p.vwap_max_samples)
    positive = std > 0.0
    z = np.divide(price - vwap, std, out=np.zeros_like(price), where=positive)
    dev = np.divide(price - vwap, vwap, out=np.zeros_like(price), where=vwap > 0.0) * 1e4
    return {
        "vwap": vwap,
        "std": std,
        "vwap_z": z,
        "vwap_dev_bps": dev,
        "tick_ratio": tick_ratio_batch(price, p.tick_n),
        "flow_imbalance": flow_imbalance_batch(ts, qty, arrays.is_buy,
                                               round(p.flow_window_s * NS_PER_S),
                                               p.flow_max_samples),
        "realized_vol_bps": realized_vol_batch(ts, price, round(vol_window_s * NS_PER_S),
                                               vol_max_samples,
                                               round(vol_halflife_s * NS_PER_S)) * 1e4,
    }
