"""From recorded market events to training samples, through the live FeatureEngine.

The same native ``FeatureEngine`` that trades computes the training features (one
implementation for live, backtest and training; the earlier bot had three), fed by
``bitunix.features.feed_event`` from ``bitunix.data``'s events. A sample is
taken after every book event whose features are valid and whose ``|vwap_z|`` is at
least ``min_abs_z`` (the model is asked only about deviations); *every* such evaluation
becomes a sample, not only approved ones (no selection bias).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.core.errors import ConfigError
from bitunix.data.events import MarketEvent, TradeEvent, check_event, check_ts
from bitunix.ml.errors import TrainingError


class FeatureParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the FeatureEngine is built for training: ``tick_size`` plus keyword overrides
    of its defaults (recorded in the manifest so live features match)."""

    tick_size: float = 0.1
    overrides: dict[str, int] = msgspec.field(default_factory=dict)

    def build(self) -> Any:
        """Return a fresh ``bitunix.features.FeatureEngine``."""
        from bitunix.features import FeatureEngine

        kwargs: dict[str, Any] = dict(self.overrides)
        try:
            return FeatureEngine(tick_size=self.tick_size, **kwargs)
        except (TypeError, ValueError) as exc:  # unknown keyword; tick_size <= 0, ...
            raise ConfigError(f"feature params tick_size={self.tick_size} "
                              f"{self.overrides}: {exc}") from exc


class SampleSet(msgspec.Struct, kw_only=True):
    """Samples in time order plus the trade path that labels them."""

    ts_ns: npt.NDArray[np.int64]
    features: npt.NDArray[np.float32]
    price: npt.NDArray[np.float64]
    vwap: npt.NDArray[np.float64]
    std: npt.NDArray[np.float64]
    trade_ts_ns: npt.NDArray[np.int64]
    trade_price: npt.NDArray[np.float64]
    end_ns: int

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])


def build_samples(
    events: Iterable[MarketEvent],
    params: FeatureParams | None = None,
    *,
    min_abs_z: float = 1.0,
) -> SampleSet:
    """Replay ``events`` (time order) through a FeatureEngine; see the module doc.

    Raises :class:`~bitunix.ml.errors.TrainingError` naming the event for a time that goes
    back or a price or quantity that is not a sane finite number (the file readers refuse
    those already, with file and line; events may come from elsewhere).
    """
    from bitunix.features import feed_event

    fe = (params or FeatureParams()).build()
    ts: list[int] = []
    rows: list[npt.NDArray[np.float32]] = []
    px: list[float] = []
    vw: list[float] = []
    sd: list[float] = []
    t_ts: list[int] = []
    t_px: list[float] = []
    end_ns = 0
    last_ns = 0
    for i, ev in enumerate(events):
        try:
            check_ts(ev.ts_ns, last_ns)
            check_event(ev)
        except ValueError as exc:
            raise TrainingError(f"training event {i} ({ev.symbol} at ts_ns {ev.ts_ns}): "
                                f"{exc}") from None
        last_ns = end_ns = ev.ts_ns
        if isinstance(ev, TradeEvent):
            feed_event(fe, ev)
            t_ts.append(ev.ts_ns)
            t_px.append(float(ev.price))
            continue
        if not ev.bids or not ev.asks:
            continue
        feed_event(fe, ev)
        if fe.write() and abs(fe.zscore) >= min_abs_z:
            ts.append(ev.ts_ns)
            rows.append(fe.vector.copy())
            px.append(fe.last_price)
            vw.append(fe.vwap)
            sd.append(fe.std)
    n_features = int(fe.vector.shape[0])
    return SampleSet(
        ts_ns=np.array(ts, dtype=np.int64),
        features=np.array(rows, dtype=np.float32).reshape(-1, n_features),
        price=np.array(px, dtype=np.float64),
        vwap=np.array(vw, dtype=np.float64),
        std=np.array(sd, dtype=np.float64),
        trade_ts_ns=np.array(t_ts, dtype=np.int64),
        trade_price=np.array(t_px, dtype=np.float64),
        end_ns=end_ns,
    )
