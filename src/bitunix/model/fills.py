"""A fill: one execution of one of the bot's orders, exact, as the venue reported it."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bitunix.model.contract import ContractSpec
from bitunix.model.enums import Side
from bitunix.model.ticks import ticks_to_decimal

__all__ = ["Fill"]


class Fill(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One trade of one order. ``trade_id`` is the venue's (unique per venue), so a fill
    reported twice (push and REST, or after a reconnect) is recognised and counted once.

    ``fee`` is what the fill cost in the quote coin: positive = paid, negative = rebate
    (the venue's sign conventions differ between endpoints; adapters normalise to this).
    """

    trade_id: str
    client_id: str
    venue_order_id: str
    spec: ContractSpec
    side: Side
    qty_steps: int
    price_ticks: int
    fee: Decimal
    ts_ns: int
    maker: bool = False
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if self.qty_steps <= 0 or self.price_ticks <= 0:
            raise ValueError(
                f"{self.spec.symbol}: fill {self.trade_id} needs qty and price > 0, "
                f"was {self.qty_steps} steps at {self.price_ticks} ticks"
            )

    @property
    def symbol(self) -> str:
        """The contract's symbol."""
        return self.spec.symbol

    @property
    def signed_steps(self) -> int:
        """Quantity with the side's sign: + bought, - sold."""
        return self.side.sign * self.qty_steps

    @property
    def qty(self) -> Decimal:
        """Quantity in base coin."""
        return ticks_to_decimal(self.qty_steps, self.spec.qty_decimals)

    @property
    def price(self) -> Decimal:
        """Fill price."""
        return ticks_to_decimal(self.price_ticks, self.spec.price_decimals)

    @property
    def notional(self) -> Decimal:
        """Exact quote value, ``qty x price``."""
        return ticks_to_decimal(
            self.qty_steps * self.price_ticks, self.spec.qty_decimals + self.spec.price_decimals
        )
