"""The account as risk needs to see it: :class:`ExposureSnapshot`, built by the execution
side (portfolio and order manager) and handed to every entry check."""

from __future__ import annotations

from decimal import Decimal

import msgspec

__all__ = ["NS_PER_DAY", "ExposureSnapshot", "utc_day"]

NS_PER_DAY = 86_400 * 1_000_000_000

_ZERO = Decimal(0)


def utc_day(ts_ns: int) -> int:
    """The UTC calendar day of ``ts_ns`` as days since 1970-01-01 (the day's key)."""
    return ts_ns // NS_PER_DAY


class ExposureSnapshot(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Equity, the UTC day's PnL parts and the exposure, at one moment.

    Money that is summed and audited is ``Decimal`` in the quote coin (USDT). Exposure is
    ``float`` USDT: it only feeds limit decisions, which are made in floats with a safety
    margin (``docs/risk.md``).

    * ``equity``: balance plus unrealised PnL now. The base of every size and limit.
    * ``utc_day``: :func:`utc_day` of the day the ``day_*`` figures belong to; the
      execution side starts a new day at 00:00 UTC (``day_start_equity`` = equity then).
    * ``day_realized_pnl``: gross realised PnL since the day started; ``day_fees`` and
      ``day_funding``: paid since then (positive = paid, negative = received).
    * ``unrealized_pnl``: of the open positions now; ``day_start_unrealized_pnl``: of the
      positions open when the day started, so only the day's change counts.
    * ``symbol_notional``: ``|position| x mark`` per symbol; ``symbol_pending``: what open
      entry orders (pending, resting, partly filled) may still add, at their price or the
      mark; ``total_notional`` / ``total_pending``: the same over every symbol (including
      symbols this bot does not trade). Reduce-only exits are not exposure.
    * ``open_orders``: every open order (entries and exits, pending included).

    The day's PnL is ``day_realized_pnl - day_fees - day_funding + unrealized_pnl -
    day_start_unrealized_pnl``.
    """

    equity: Decimal
    day_start_equity: Decimal
    utc_day: int
    day_realized_pnl: Decimal = _ZERO
    day_fees: Decimal = _ZERO
    day_funding: Decimal = _ZERO
    unrealized_pnl: Decimal = _ZERO
    day_start_unrealized_pnl: Decimal = _ZERO
    symbol_notional: dict[str, float] = msgspec.field(default_factory=dict)
    symbol_pending: dict[str, float] = msgspec.field(default_factory=dict)
    total_notional: float = 0.0
    total_pending: float = 0.0
    open_orders: int = 0

    @property
    def day_pnl(self) -> Decimal:
        """The UTC day's PnL so far, fees and funding included (exact)."""
        return (self.day_realized_pnl - self.day_fees - self.day_funding
                + self.unrealized_pnl - self.day_start_unrealized_pnl)
