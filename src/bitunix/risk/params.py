"""Per-contract risk parameters, resolved once (:class:`SymbolRisk`).

Every ratio that caps a quantity is shrunk by the relative :data:`SAFETY` margin, so that
float rounding in the per-signal arithmetic can never put a size above a limit computed
exactly (float arithmetic errs by ~1e-16 relative; a quantity step is far coarser than
1e-9 of any real limit).
"""

from __future__ import annotations

import decimal

from bitunix.model.contract import ContractSpec
from bitunix.model.enums import OrderType
from bitunix.risk.config import RiskConfig, SymbolRiskConfig

__all__ = ["SAFETY", "SHRINK", "SymbolRisk"]

#: Relative margin by which every float cap is shrunk.
SAFETY = 1e-9
#: ``1 - SAFETY``: multiply a cap by it.
SHRINK = 1.0 - SAFETY
#: "No maximum" for a step count (larger than any real order).
_UNBOUNDED = 1 << 62


class SymbolRisk:
    """The sizing and limit parameters of one contract, resolved once from the config,
    the symbol's overrides and the contract, so a check reads plain floats and ints.

    Ratios that cap something (risk, exposure, leverage) are shrunk by :data:`SAFETY`.
    """

    __slots__ = (
        "base_ratio",
        "kelly_multiplier",
        "max_kelly_fraction",
        "max_leverage",
        "max_steps",
        "min_steps",
        "risk_ratio",
        "spec",
        "symbol_exposure_ratio",
        "tradable",
        "value_scale",
    )

    def __init__(self, spec: ContractSpec, config: RiskConfig) -> None:
        o: SymbolRiskConfig = config.for_symbol(spec.symbol)
        sizing, limits = config.sizing, config.limits
        self.spec = spec
        self.tradable = spec.is_tradable
        base_pct = sizing.base_size_pct if o.base_size_pct is None else o.base_size_pct
        self.base_ratio = base_pct / 100.0
        self.kelly_multiplier = sizing.kelly_multiplier
        self.max_kelly_fraction = sizing.max_kelly_fraction
        self.risk_ratio = sizing.max_risk_pct / 100.0 * SHRINK
        self.min_steps = spec.min_order_steps
        maxima = [spec.max_order_steps(t) for t in (OrderType.MARKET, OrderType.LIMIT)]
        if o.max_order_qty is not None:
            maxima.append(spec.qty_to_steps(o.max_order_qty, decimal.ROUND_DOWN))
        self.max_steps = min((m for m in maxima if m is not None), default=_UNBOUNDED)
        #: Quote coin per (price tick x quantity step): notional = steps x ticks x scale.
        self.value_scale = 10.0 ** -(spec.price_decimals + spec.qty_decimals)
        exposure_pct = (limits.max_symbol_exposure_pct if o.max_exposure_pct is None
                        else o.max_exposure_pct)
        self.symbol_exposure_ratio = exposure_pct / 100.0 * SHRINK
        leverage = float(spec.max_leverage)
        if o.max_leverage is not None:
            leverage = min(leverage, o.max_leverage)
        self.max_leverage = leverage * SHRINK
