"""Contract specifications: the price tick and quantity step grids of one symbol.

Bitunix gives precisions as decimal counts: ``quotePrecision`` (price decimals, so the
tick size is ``10**-quotePrecision``) and ``basePrecision`` (quantity decimals, step
``10**-basePrecision``), with ``minTradeVolume`` and the per-order maxima (spec 4.1, 6.2).
"""

from __future__ import annotations

import decimal
from decimal import Decimal

import msgspec

from bitunix.core.errors import BitunixError
from bitunix.model.enums import OrderType, SymbolStatus
from bitunix.model.ticks import (
    decimal_to_ticks,
    float_to_ticks,
    format_ticks,
    ticks_to_decimal,
)

__all__ = ["ContractError", "ContractSpec"]


class ContractError(BitunixError, ValueError):
    """A price or quantity that the contract would reject (off grid, out of range)."""

    def __init__(self, symbol: str, message: str) -> None:
        super().__init__(f"{symbol}: {message}")
        self.symbol = symbol


class ContractSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Trading rules of one perpetual contract.

    Prices and quantities are exact ``Decimal``s on the contract's grids; the ``*_ticks``
    helpers convert to integer ticks/steps for hot-path arithmetic.
    """

    symbol: str
    base: str
    quote: str
    price_decimals: int
    qty_decimals: int
    min_qty: Decimal
    max_limit_qty: Decimal | None = None
    max_market_qty: Decimal | None = None
    min_leverage: int = 1
    max_leverage: int = 125
    default_leverage: int | None = None
    price_protect_scope: Decimal | None = None
    status: SymbolStatus = SymbolStatus.OPEN
    api_supported: bool = True

    def __post_init__(self) -> None:
        for name in ("price_decimals", "qty_decimals"):
            value = getattr(self, name)
            if not 0 <= value <= 18:
                raise ContractError(self.symbol, f"{name} must be in 0..18, was {value}")
        if self.min_qty <= 0:
            raise ContractError(self.symbol, f"min_qty must be > 0, was {self.min_qty}")
        if not 1 <= self.min_leverage <= self.max_leverage:
            raise ContractError(
                self.symbol,
                f"leverage range {self.min_leverage}..{self.max_leverage} is empty",
            )

    @property
    def tick_size(self) -> Decimal:
        """Smallest price increment, ``10**-price_decimals``."""
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def qty_step(self) -> Decimal:
        """Smallest quantity increment, ``10**-qty_decimals``."""
        return Decimal(1).scaleb(-self.qty_decimals)

    @property
    def min_order_qty(self) -> Decimal:
        """Smallest quantity that is both on the step grid and at least ``min_qty``.

        Real contracts exist whose ``minTradeVolume`` is off their own grid (APEUSDT:
        ``"2.5"`` with step 1), so the smallest order is ``min_qty`` rounded up.
        """
        return self.round_qty(self.min_qty, decimal.ROUND_CEILING)

    @property
    def is_tradable(self) -> bool:
        """USDT-margined, open and API trading allowed (spec 4.1)."""
        return self.quote == "USDT" and self.status is SymbolStatus.OPEN and self.api_supported

    def round_price(self, price: Decimal, rounding: str = decimal.ROUND_HALF_EVEN) -> Decimal:
        """Round ``price`` onto the tick grid with ``rounding`` (a ``decimal.ROUND_*`` mode).

        Use ``ROUND_FLOOR`` for bids and ``ROUND_CEILING`` for asks to stay passive.
        """
        return ticks_to_decimal(self.price_to_ticks(price, rounding), self.price_decimals)

    def round_qty(self, qty: Decimal, rounding: str = decimal.ROUND_DOWN) -> Decimal:
        """Round ``qty`` onto the step grid, down by default (never more than asked)."""
        return ticks_to_decimal(self.qty_to_steps(qty, rounding), self.qty_decimals)

    def price_to_ticks(self, price: Decimal, rounding: str | None = None) -> int:
        """``price`` as integer ticks; exact unless ``rounding`` is given."""
        return decimal_to_ticks(price, self.price_decimals, rounding)

    def qty_to_steps(self, qty: Decimal, rounding: str | None = None) -> int:
        """``qty`` as integer steps; exact unless ``rounding`` is given."""
        return decimal_to_ticks(qty, self.qty_decimals, rounding)

    def price_ticks_from_float(self, price: float, rounding: str) -> int:
        """A float price (a signal's stop or target) as ticks, rounded with ``rounding``;
        see :func:`~bitunix.model.ticks.float_to_ticks`."""
        return float_to_ticks(price, self.price_decimals, rounding)

    def qty_steps_from_float(self, qty: float, rounding: str = decimal.ROUND_DOWN) -> int:
        """A float quantity as steps, down by default (never more than computed)."""
        return float_to_ticks(qty, self.qty_decimals, rounding)

    @property
    def min_order_steps(self) -> int:
        """:attr:`min_order_qty` in steps."""
        return self.qty_to_steps(self.min_order_qty)

    def max_order_steps(self, order_type: OrderType = OrderType.LIMIT) -> int | None:
        """:meth:`max_qty` in steps, rounded down onto the grid (None: no venue maximum)."""
        limit = self.max_qty(order_type)
        return None if limit is None else self.qty_to_steps(limit, decimal.ROUND_DOWN)

    def format_price(self, ticks: int) -> str:
        """Price ticks as the decimal string to send."""
        return format_ticks(ticks, self.price_decimals)

    def format_qty(self, steps: int) -> str:
        """Quantity steps as the decimal string to send."""
        return format_ticks(steps, self.qty_decimals)

    def max_qty(self, order_type: OrderType = OrderType.LIMIT) -> Decimal | None:
        """Largest quantity of one order of ``order_type``, if the venue gave one."""
        if order_type is OrderType.MARKET and self.max_market_qty is not None:
            return self.max_market_qty
        return self.max_limit_qty

    def check_qty(self, qty: Decimal, order_type: OrderType = OrderType.LIMIT) -> Decimal:
        """Return ``qty`` if the exchange would accept it, else raise :class:`ContractError`.

        Checks that it is finite, on the step grid, at least ``min_qty`` and at most the
        per-order maximum for ``order_type``.
        """
        if not isinstance(qty, Decimal) or not qty.is_finite():
            raise ContractError(self.symbol, f"qty must be a finite Decimal, was {qty!r}")
        if qty != self.round_qty(qty):
            raise ContractError(
                self.symbol, f"qty {qty} is not a multiple of the step {self.qty_step}"
            )
        if qty < self.min_qty:
            raise ContractError(self.symbol, f"qty {qty} is below the minimum {self.min_qty}")
        limit = self.max_qty(order_type)
        if limit is not None and qty > limit:
            raise ContractError(
                self.symbol, f"qty {qty} is above the {order_type.value} maximum {limit}"
            )
        return qty

    def check_price(self, price: Decimal) -> Decimal:
        """Return ``price`` if it is positive and on the tick grid, else raise."""
        if not isinstance(price, Decimal) or not price.is_finite():
            raise ContractError(self.symbol, f"price must be a finite Decimal, was {price!r}")
        if price <= 0:
            raise ContractError(self.symbol, f"price must be > 0, was {price}")
        if price != self.round_price(price):
            raise ContractError(
                self.symbol, f"price {price} is not a multiple of the tick {self.tick_size}"
            )
        return price

    def check_leverage(self, leverage: int) -> int:
        """Return ``leverage`` if it is within the contract's range, else raise."""
        if not self.min_leverage <= leverage <= self.max_leverage:
            raise ContractError(
                self.symbol,
                f"leverage {leverage} outside {self.min_leverage}..{self.max_leverage}",
            )
        return leverage
