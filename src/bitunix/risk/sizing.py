"""Position sizing: a signal's probability and payoff to a quantity of contract steps.

The formula (``docs/risk.md``, "Sizing")::

    b          = |target - entry| / |entry - stop|        payoff of this trade
    kelly      = p - (1 - p) / b                           full Kelly fraction
    conviction = min(kelly_multiplier x kelly, max_kelly_fraction) / max_kelly_fraction
    notional   = equity x base_size_ratio x conviction     the Kelly-scaled base size
    qty        = floor(notional / (entry x step)) steps

then capped, each cap rounding down: the loss at the stop at most ``max_risk_ratio x
equity``, the per-symbol and the contract's maximum order quantity, and the exposure
headroom the limits left. Below the contract's minimum the entry is refused (never forced
up): ``below_min_qty`` when the Kelly-scaled size itself is too small, else the reason of
the cap that cut it. ``kelly <= 0`` is refused as ``kelly_nonpositive``. Leverage never
scales the size: it is a cap (``bitunix.risk.limits``); the exchange's leverage setting
only decides the margin an order locks.

Decisions are floats (a few nanoseconds each); every cap is shrunk by a relative margin
(:data:`~bitunix.risk.params.SAFETY`) so that float rounding can never put a quantity above
a limit computed exactly. The result is integer steps; its notional is exact (``Sized.notional``).
"""

from __future__ import annotations

import math

from bitunix.model.enums import Side
from bitunix.risk.params import SymbolRisk
from bitunix.risk.verdict import APPROVED, Approved, Denial, Reason, Sized

__all__ = [
    "check_signal",
    "conviction",
    "kelly_fraction",
    "payoff_ratio",
    "size_entry",
]

_BUY = Side.BUY      # enum member lookups cost ~0.1 us each on Python 3.11: bind once
_MAX_RISK = Reason.MAX_RISK
_MAX_ORDER_QTY = Reason.MAX_ORDER_QTY
_EXPOSURE_SYMBOL = Reason.EXPOSURE_SYMBOL


def payoff_ratio(side: Side, price_ticks: int, stop_ticks: int, target_ticks: int) -> float:
    """``b = reward / risk`` of an entry at ``price_ticks`` with that stop and target
    (positive for a well-formed signal; see :func:`check_signal`).

    >>> payoff_ratio(Side.BUY, 1000, 990, 1020)
    2.0
    """
    sign = 1 if side is _BUY else -1
    return sign * (target_ticks - price_ticks) / (sign * (price_ticks - stop_ticks))


def kelly_fraction(probability: float, payoff: float) -> float:
    """The full Kelly fraction ``p - (1 - p) / b`` of a bet won with ``probability`` that
    pays ``payoff`` times what it risks: the share of equity to lose when it is lost.

    >>> kelly_fraction(0.75, 1.0)
    0.5
    """
    return probability - (1.0 - probability) / payoff


def conviction(kelly: float, kelly_multiplier: float, max_kelly_fraction: float) -> float:
    """The share of the base size a ``kelly`` earns: the fractional Kelly, capped at
    ``max_kelly_fraction``, over that cap; in (0, 1] for ``kelly > 0``.

    >>> conviction(0.3, 0.5, 0.25)
    0.6
    """
    return min(kelly_multiplier * kelly, max_kelly_fraction) / max_kelly_fraction


def check_signal(side: Side, price_ticks: int, stop_ticks: int, target_ticks: int,
                 probability: float) -> Approved | Denial:
    """Refuse an entry whose inputs cannot be sized: a price that is not positive, a stop
    or target that is not positive or on the wrong side of the price, a probability that
    is not in [0, 1] (NaN included)."""
    if price_ticks <= 0:
        return Denial(Reason.INVALID_PRICE, {"price_ticks": price_ticks})
    sign = 1 if side is _BUY else -1
    if stop_ticks <= 0 or sign * (price_ticks - stop_ticks) <= 0:
        return Denial(Reason.INVALID_STOP, {"side": side.value, "price_ticks": price_ticks,
                                            "stop_ticks": stop_ticks})
    if target_ticks <= 0 or sign * (target_ticks - price_ticks) <= 0:
        return Denial(Reason.INVALID_TARGET, {"side": side.value, "price_ticks": price_ticks,
                                              "target_ticks": target_ticks})
    if not 0.0 <= probability <= 1.0:
        return Denial(Reason.INVALID_PROBABILITY, {"probability": probability})
    return APPROVED


def size_entry(p: SymbolRisk, side: Side, *, price_ticks: int, stop_ticks: int,
               target_ticks: int, probability: float, equity: float,
               headroom: float = math.inf,
               headroom_reason: Reason = _EXPOSURE_SYMBOL) -> Sized | Denial:
    """Size an entry (see the module docs): :class:`Sized` or the :class:`Denial` that
    says why not.

    ``equity`` (> 0) and ``headroom`` (the notional the exposure limits still allow,
    already shrunk by the safety margin; ``headroom_reason`` names the limit it comes
    from) are in the quote coin. Malformed inputs are refused as :func:`check_signal`
    says.
    """
    sign = 1 if side is _BUY else -1
    risk_ticks = sign * (price_ticks - stop_ticks)
    reward_ticks = sign * (target_ticks - price_ticks)
    if not (price_ticks > 0 and stop_ticks > 0 and target_ticks > 0 and risk_ticks > 0
            and reward_ticks > 0 and 0.0 <= probability <= 1.0):
        verdict = check_signal(side, price_ticks, stop_ticks, target_ticks, probability)
        assert isinstance(verdict, Denial)
        return verdict
    b = reward_ticks / risk_ticks
    kelly = probability - (1.0 - probability) / b
    if kelly <= 0.0:
        return Denial(Reason.KELLY_NONPOSITIVE, {"probability": probability, "payoff": b,
                                                 "kelly": kelly})
    fraction = p.kelly_multiplier * kelly
    maxf = p.max_kelly_fraction
    conv = 1.0 if fraction >= maxf else fraction / maxf
    step_notional = price_ticks * p.value_scale
    steps = int(equity * p.base_ratio * conv / step_notional)
    if steps < p.min_steps:
        return Denial(Reason.BELOW_MIN_QTY, {
            "qty_steps": steps, "min_steps": p.min_steps, "conviction": conv,
            "notional": equity * p.base_ratio * conv, "step_notional": step_notional})
    bound: Reason | str = "kelly"
    cap = int(equity * p.risk_ratio / (risk_ticks * p.value_scale))
    if cap < steps:
        steps, bound = cap, _MAX_RISK
    if p.max_steps < steps:
        steps, bound = p.max_steps, _MAX_ORDER_QTY
    if headroom < steps * step_notional:
        steps, bound = int(headroom / step_notional), headroom_reason
    if steps < p.min_steps:
        assert isinstance(bound, Reason)
        return Denial(bound, {"qty_steps": steps, "min_steps": p.min_steps,
                              "max_steps": p.max_steps, "headroom": headroom,
                              "step_notional": step_notional, "stop_ticks": stop_ticks})
    return Sized(spec=p.spec, side=side, qty_steps=steps, price_ticks=price_ticks, kelly=kelly,
                 payoff=b, conviction=conv, bound=bound)
