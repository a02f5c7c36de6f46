"""Orders as the bot holds them: what risk approved (:class:`OrderIntent`) and what was sent
(:class:`Order`), in integer ticks and steps of their contract.

Money on these types is exact: ``price_ticks`` counts ticks of ``spec.tick_size`` and
``qty_steps`` counts steps of ``spec.qty_step``. An order's ``avg_price`` is the venue's
report, for display only: the exact notional of what filled lives in the
:class:`~bitunix.model.fills.Fill` records, from which positions and PnL are computed. The
Decimal views (``price``, ``qty``...) are for reports and the wire.

An :class:`Order` changes only through :func:`bitunix.model.order_fsm.OrderFSM.apply`.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bitunix.model.contract import ContractSpec
from bitunix.model.enums import OrderStatus, OrderType, Side, TimeInForce
from bitunix.model.ticks import ticks_to_decimal

__all__ = ["Order", "OrderIntent", "OrderTerms"]

_ZERO = Decimal(0)


class OrderTerms(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """What an order asks for, shared by the intent and the order that carries it.

    ``tp_ticks``/``sl_ticks`` are the take-profit and stop-loss trigger prices to attach at
    the exchange once the order has opened a position (None: none). The bot's own exits of
    that position: ``trail_distance_ticks`` (trailing stop distance behind the best price, 0:
    none), ``trail_arm_ticks`` (how far in favour of the entry price the trail arms, 0: at
    once) and ``max_hold_ns`` (time exit, 0: none). ``reason`` says why
    (``"enter"``, ``"exit:stop"``, ``"flatten"``...), ``strategy`` who asked; both go to the
    audit trail.
    """

    spec: ContractSpec
    side: Side
    qty_steps: int
    order_type: OrderType = OrderType.MARKET
    price_ticks: int | None = None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    tp_ticks: int | None = None
    sl_ticks: int | None = None
    trail_distance_ticks: int = 0
    trail_arm_ticks: int = 0
    max_hold_ns: int = 0
    strategy: str = ""
    reason: str = ""

    @property
    def symbol(self) -> str:
        """The contract's symbol."""
        return self.spec.symbol

    @property
    def qty(self) -> Decimal:
        """Ordered quantity in base coin."""
        return ticks_to_decimal(self.qty_steps, self.spec.qty_decimals)

    @property
    def price(self) -> Decimal | None:
        """Limit price (None for MARKET)."""
        if self.price_ticks is None:
            return None
        return ticks_to_decimal(self.price_ticks, self.spec.price_decimals)


class OrderIntent(OrderTerms, frozen=True, gc=False, kw_only=True):
    """An order that risk approved, on its contract's grids, not yet sent (the terms are
    :class:`OrderTerms`'). ``ts_ns`` is the market time of the tick that caused it."""

    ts_ns: int = 0

    def __post_init__(self) -> None:
        if self.qty_steps <= 0:
            raise ValueError(f"{self.spec.symbol}: qty_steps must be > 0, was {self.qty_steps}")
        if min(self.trail_distance_ticks, self.trail_arm_ticks, self.max_hold_ns) < 0:
            raise ValueError(f"{self.spec.symbol}: exit distances and max_hold_ns must be >= 0")
        if self.order_type is OrderType.LIMIT and (
            self.price_ticks is None or self.price_ticks <= 0
        ):
            raise ValueError(f"{self.spec.symbol}: a LIMIT intent needs price_ticks > 0")


class Order(OrderTerms, frozen=True, gc=False, kw_only=True):
    """One order of the bot, from the moment it is sent to its terminal state.

    ``client_id`` is the bot's idempotency key (the venue refuses a second order with it);
    ``venue_id`` arrives with the acknowledgement or the first push. ``filled_steps``,
    ``avg_price`` and ``fee`` are cumulative as the venue reports them; ``updated_ns`` is
    the venue's time of the state held (its ``mtime``), used to drop stale reports. The
    terms (:class:`OrderTerms`) are the intent's, kept so a restored order still says how
    its position is to be exited.
    """

    client_id: str
    status: OrderStatus = OrderStatus.INIT
    venue_id: str | None = None
    filled_steps: int = 0
    avg_price: Decimal | None = None
    fee: Decimal = _ZERO
    created_ns: int = 0
    updated_ns: int = 0
    reject_reason: str = ""

    @classmethod
    def from_intent(cls, intent: OrderIntent, client_id: str, created_ns: int) -> Order:
        """The order that carries ``intent`` under ``client_id``, pending acknowledgement."""
        # Spelled out (not a loop over the shared fields): this is on the order path, and a
        # test checks that every field of OrderTerms is carried over.
        i = intent
        return cls(client_id=client_id, created_ns=created_ns, spec=i.spec, side=i.side,
                   qty_steps=i.qty_steps, order_type=i.order_type, price_ticks=i.price_ticks,
                   time_in_force=i.time_in_force, reduce_only=i.reduce_only,
                   tp_ticks=i.tp_ticks, sl_ticks=i.sl_ticks,
                   trail_distance_ticks=i.trail_distance_ticks,
                   trail_arm_ticks=i.trail_arm_ticks, max_hold_ns=i.max_hold_ns,
                   strategy=i.strategy, reason=i.reason)

    @property
    def is_open(self) -> bool:
        """True while the order may still fill (pending, resting or partially filled)."""
        return self.status.is_open

    @property
    def remaining_steps(self) -> int:
        """Steps that may still fill (0 once terminal)."""
        return self.qty_steps - self.filled_steps if self.status.is_open else 0

    @property
    def signed_filled_steps(self) -> int:
        """Filled steps with the side's sign (+ bought, - sold)."""
        return self.side.sign * self.filled_steps

    @property
    def filled_qty(self) -> Decimal:
        """Filled quantity in base coin."""
        return ticks_to_decimal(self.filled_steps, self.spec.qty_decimals)
