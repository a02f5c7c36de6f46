"""Labels for reversion samples: does the fade pay before it is stopped, within the horizon?

For a sample taken at ``t`` with last price ``p``, VWAP ``v`` and std ``s`` (all known at
``t``), the fade is a short when ``p > v`` and a long otherwise, exactly as OVIR-X
trades. Its target is ``p + target_fraction * (v - p)`` and its stop ``stop_std * s``
against it. The label is

* ``1`` when a trade in ``(t, t + horizon]`` reaches the target before any trade reaches
  the stop, and the target's gain exceeds the round-trip fee (``2 * fee_bps``);
* ``0`` when the stop comes first, the horizon passes without either, or the gain cannot
  pay the fees;
* ``UNDEFINED`` (-1) when the recorded data end before the horizon does and neither level
  was reached: such samples are dropped, never guessed.

Only trades inside ``(t, t + horizon]`` are read, so data after ``t + horizon`` cannot
change a label (tested). Each sample costs two binary searches and one vectorised scan of
its window.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
import numpy.typing as npt

from bitunix.core.errors import ConfigError
from bitunix.ml.dataset import SampleSet

UNDEFINED = -1
NS_PER_S = 1_000_000_000


class LabelConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Label definition; defaults match OVIR-X's exits (target VWAP, stop 1.5 sigma, 60 s).

    ``fee_bps`` is per side (2 bp: maker at VIP 0, the cost of a limit entry and exit).
    """

    horizon_s: float = 60.0
    target_fraction: float = 1.0
    stop_std: float = 1.5
    fee_bps: float = 2.0

    def __post_init__(self) -> None:
        for name in ("horizon_s", "target_fraction", "stop_std"):
            value = getattr(self, name)
            if not (value > 0.0 and math.isfinite(value)):
                raise ConfigError(f"labels.{name} must be a finite number > 0, was {value!r}")
        if not (self.fee_bps >= 0.0 and math.isfinite(self.fee_bps)):
            raise ConfigError(f"labels.fee_bps must be >= 0, was {self.fee_bps!r}")


def label_reversions(
    ts_ns: npt.NDArray[np.int64],
    price: npt.NDArray[np.float64],
    vwap: npt.NDArray[np.float64],
    std: npt.NDArray[np.float64],
    *,
    trade_ts_ns: npt.NDArray[np.int64],
    trade_price: npt.NDArray[np.float64],
    config: LabelConfig | None = None,
    end_ns: int | None = None,
) -> npt.NDArray[np.int8]:
    """Label every sample (see the module doc); ``end_ns`` = end of the recorded data.

    ``trade_ts_ns`` must be sorted. ``end_ns`` defaults to the last trade's time.
    """
    cfg = config or LabelConfig()
    n = ts_ns.shape[0]
    if not (price.shape[0] == vwap.shape[0] == std.shape[0] == n):
        raise ValueError("label_reversions: sample arrays differ in length")
    if trade_ts_ns.shape[0] != trade_price.shape[0]:
        raise ValueError("label_reversions: trade arrays differ in length")
    if trade_ts_ns.shape[0] > 1 and bool(np.any(np.diff(trade_ts_ns) < 0)):
        raise ValueError("label_reversions: trade times must be sorted")
    if end_ns is None:
        end_ns = int(trade_ts_ns[-1]) if trade_ts_ns.shape[0] else 0
    horizon_ns = int(cfg.horizon_s * NS_PER_S)
    lo = np.searchsorted(trade_ts_ns, ts_ns, side="right")
    hi = np.searchsorted(trade_ts_ns, ts_ns + horizon_ns, side="right")
    out = np.zeros(n, dtype=np.int8)
    min_gain_bps = 2.0 * cfg.fee_bps
    for i in range(n):
        p, v, s = float(price[i]), float(vwap[i]), float(std[i])
        if not (s > 0.0 and p > 0.0 and math.isfinite(v)) or p == v:
            continue
        target = p + cfg.target_fraction * (v - p)
        if abs(target - p) / p * 1e4 <= min_gain_bps:
            continue
        window = trade_price[lo[i] : hi[i]]
        if p > v:  # short: target below, stop above
            reached = window <= target
            stopped = window >= p + cfg.stop_std * s
        else:
            reached = window >= target
            stopped = window <= p - cfg.stop_std * s
        first_target = int(np.argmax(reached)) if reached.any() else -1
        first_stop = int(np.argmax(stopped)) if stopped.any() else -1
        if first_target >= 0 and (first_stop < 0 or first_target < first_stop):
            out[i] = 1
        elif first_stop < 0 and int(ts_ns[i]) + horizon_ns > end_ns:
            out[i] = UNDEFINED
    return out


def label_samples(samples: SampleSet, config: LabelConfig | None = None) -> npt.NDArray[np.int8]:
    """Label a :class:`~bitunix.ml.dataset.SampleSet` with its own trade path."""
    return label_reversions(
        samples.ts_ns,
        samples.price,
        samples.vwap,
        samples.std,
        trade_ts_ns=samples.trade_ts_ns,
        trade_price=samples.trade_price,
        config=config,
        end_ns=samples.end_ns,
    )
