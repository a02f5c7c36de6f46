"""What the control API accepts and answers: msgspec Structs, decoded and validated by
msgspec (a bad type, a missing or unknown field, a value out of its pattern or range is a
422) and turned into the OpenAPI document's component schemas (:mod:`bitunix.api.openapi`),
so the document and the handlers read the same types.

Money and quantities are exact decimal strings, as the venue writes them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

__all__ = [
    "ActionResult",
    "BalanceView",
    "BreakerView",
    "CancelAllBody",
    "ConfigView",
    "FlattenBody",
    "KillBody",
    "ModelBody",
    "ModelResult",
    "ModelView",
    "OrderBody",
    "OrderList",
    "OrderView",
    "PositionList",
    "PositionView",
    "ReasonBody",
    "StatusView",
]

Symbol = Annotated[str, Meta(pattern=r"^[A-Z0-9]{2,30}$", description="a traded symbol")]
DecimalText = Annotated[str, Meta(pattern=r"^[0-9]{1,20}(\.[0-9]{1,20})?$",
                                  description="a decimal number > 0, e.g. 0.001")]
Reason = Annotated[str, Meta(max_length=200, description="why (in the audit trail)")]
TimeoutS = Annotated[float, Meta(gt=0, le=600, description="seconds to wait (0, 600]")]
ModelName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class _Body(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A request body (unknown fields are refused)."""


class OrderBody(_Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A manual order: a market order without ``price``, a GTC limit order with it.
    ``force`` skips the manual risk check (admin scope only), as ``order place --force``."""

    symbol: Symbol
    side: Literal["BUY", "SELL"]
    qty: DecimalText
    price: DecimalText | None = None
    reduce_only: bool = False
    force: bool = False


class ReasonBody(_Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why (optional)."""

    reason: Reason = ""


class FlattenBody(_Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Cancel every open order and close every position; entries stay paused."""

    reason: Reason = ""
    timeout_s: TimeoutS = 10.0


class KillBody(_Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Engage the kill switch; ``flatten``: and close everything."""

    reason: Reason = ""
    flatten: bool = False
    timeout_s: TimeoutS = 10.0


class CancelAllBody(_Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Cancel the open orders of ``symbol`` (null: of every symbol)."""

    symbol: Symbol | None = None
    timeout_s: TimeoutS = 10.0


class ModelBody(_Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A registered model (``version`` null: the only or the active one)."""

    name: ModelName
    version: ModelName | None = None


class ActionResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the bot did (the operator command's answer): one line and its values."""

    message: str
    detail: dict[str, str]


class ModelResult(msgspec.Struct, frozen=True, kw_only=True):
    """The model now active (the bot swaps it in at its next registry poll)."""

    name: str
    version: str
    status: str
    message: str


class BreakerView(msgspec.Struct, frozen=True, kw_only=True):
    """A tripped breaker (``symbol`` empty: account-wide)."""

    kind: str
    symbol: str


class ModelView(msgspec.Struct, frozen=True, kw_only=True):
    """The decision model served (``model`` empty: none; ``source``: model or fallback)."""

    model: str
    source: str
    demoted: bool


class StatusView(msgspec.Struct, frozen=True, kw_only=True):
    """How the bot is doing."""

    mode: str
    venue: str
    symbols: list[str]
    active: bool
    ready: bool
    paused: bool
    paused_reason: str
    kill_switch: bool
    kill_reason: str
    daily_loss_stop: bool
    breakers: list[BreakerView]
    model: ModelView | None
    equity: str | None
    day_pnl: str | None
    positions: int
    open_orders: int


class BalanceView(msgspec.Struct, frozen=True, kw_only=True):
    """The venue's last known balance (null before the first, and in dry-run) and the
    equity it makes with the open positions' unrealised PnL."""

    coin: str
    available: str | None
    frozen: str | None
    margin: str | None
    wallet: str | None
    equity: str | None
    unrealized_pnl: str
    updated_ns: int | None


class PositionView(msgspec.Struct, frozen=True, kw_only=True):
    """An open position."""

    symbol: str
    side: Literal["LONG", "SHORT"]
    qty: str
    avg_entry: str | None
    mark: str | None
    unrealized_pnl: str | None
    realized_pnl: str


class PositionList(msgspec.Struct, frozen=True, kw_only=True):
    """The open positions."""

    positions: list[PositionView]


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    """An order."""

    client_id: str
    symbol: str
    side: str
    type: str
    status: str
    qty: str
    filled_qty: str
    price: str | None
    avg_price: str | None
    reduce_only: bool
    strategy: str
    created_ns: int


class OrderList(msgspec.Struct, frozen=True, kw_only=True):
    """The open orders."""

    orders: list[OrderView]


class ConfigView(msgspec.Struct, frozen=True, kw_only=True):
    """The running configuration, every secret masked (``***``)."""

    config: dict[str, Any]
