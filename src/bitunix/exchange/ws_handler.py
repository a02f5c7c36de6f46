"""What the WebSocket client hands to its user: the handler interface, the connection
states, the counters, and the ``type -> handler method`` dispatch table."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from bitunix.core.errors import BitunixError
from bitunix.wire.private import BalancePush, OrderPush, PositionPush, TpslPush
from bitunix.wire.public import (
    KLINE_PUSH_TYPES,
    DepthBook1,
    DepthBook5,
    DepthBook15,
    DepthBooks,
    DepthPush,
    KlinePush,
    PricePush,
    TickerPush,
    TickersPush,
    TradePush,
)

__all__ = ["ConnState", "WsError", "WsHandler", "WsStats", "dispatch_table"]


class WsError(BitunixError):
    """A misuse of the WebSocket client (e.g. more channels than one connection allows)."""


class ConnState(enum.Enum):
    """Where a connection is in its life."""

    IDLE = "idle"
    CONNECTING = "connecting"
    LOGGING_IN = "logging_in"
    SUBSCRIBING = "subscribing"
    LIVE = "live"
    STALE = "stale"
    BACKOFF = "backoff"
    CLOSED = "closed"


class WsHandler:
    """Receiver of typed messages; override the methods you need (all no-ops here).

    Called synchronously from the frame callback: keep them short, never block, and
    schedule I/O (``loop.create_task``) instead of awaiting it.

    Private pushes: the client drops an ``order``, ``position`` or ``tpsl`` event the venue
    repeats (keys in :mod:`bitunix.exchange.dedup`, counted in ``WsStats.duplicates``), so
    the same order update is not handed on twice. What the consumer must still handle:

    * **Out-of-order arrival**: pushes carry no sequence number and ``ts`` is the gateway's
      send time; an older update can arrive after a newer one. Order events by
      ``mtime``/``ctime`` and never let an older one overwrite a newer state (a ``FILLED``
      order does not go back to ``NEW``; ``dealAmount`` only grows).
    * **Repeats that are not dropped**: ``balance`` pushes (snapshots: apply the latest),
      ``UPDATE`` events without ``mtime`` and every ``tpsl`` ``UPDATE`` (no update time on
      the wire, so a repeat cannot be told from a modify back to an earlier value), and a
      repeat arriving after ``WsConfig.dedup_keys`` newer events. Apply pushes as states
      (absolute quantities), not as increments.
    * **Gaps**: pushes sent while the socket was down are lost (no replay); after every
      ``LIVE`` that follows a reconnect, resync orders and positions through REST (spec 6.5).
    """

    def on_trade(self, msg: TradePush) -> None:
        """A ``trade`` push (a list of trades)."""

    def on_depth(self, msg: DepthPush) -> None:
        """A depth snapshot (``depth_book1/5/15``, ``depth_books``)."""

    def on_ticker(self, msg: TickerPush) -> None:
        """A ``ticker`` push."""

    def on_tickers(self, msg: TickersPush) -> None:
        """A ``tickers`` push."""

    def on_kline(self, msg: KlinePush) -> None:
        """A ``market_kline_*`` / ``mark_kline_*`` push."""

    def on_price(self, msg: PricePush) -> None:
        """A ``price`` push (mark, index, funding)."""

    def on_order(self, msg: OrderPush) -> None:
        """A private ``order`` push."""

    def on_position(self, msg: PositionPush) -> None:
        """A private ``position`` push."""

    def on_balance(self, msg: BalancePush) -> None:
        """A private ``balance`` push."""

    def on_tpsl(self, msg: TpslPush) -> None:
        """A private ``tpsl`` push."""

    def on_batch_end(self) -> None:
        """All frames of one socket read have been dispatched."""

    def on_state(self, state: ConnState) -> None:
        """The connection changed state (``LIVE`` after every (re)subscription)."""

    def on_error(self, error: str) -> None:
        """A refused login or subscription, reported by the server."""


@dataclass(slots=True)
class WsStats:
    """Counters of one client; nothing fails without moving one of them."""

    frames: int = 0
    messages: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    oversized_messages: int = 0
    unhandled: int = 0
    handler_errors: int = 0
    duplicates: int = 0
    sink_errors: int = 0
    depth_skipped: int = 0
    batches: int = 0
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    reconnects: int = 0
    stale_disconnects: int = 0
    pong_timeouts: int = 0
    login_failures: int = 0
    subscribe_refusals: int = 0
    pings_sent: int = 0
    pongs: int = 0
    last_rtt_s: float = 0.0
    max_gap_s: float = 0.0
    last_lag_ms: int = 0


def dispatch_table(h: WsHandler, on_depth: Any) -> dict[type, Any]:
    # Depth snapshots go through the batch buffer (``on_depth``), the rest straight through.
    table: dict[type, Any] = {
        TradePush: h.on_trade,
        DepthBook1: on_depth,
        DepthBook5: on_depth,
        DepthBook15: on_depth,
        DepthBooks: on_depth,
        TickerPush: h.on_ticker,
        TickersPush: h.on_tickers,
        PricePush: h.on_price,
        OrderPush: h.on_order,
        PositionPush: h.on_position,
        BalancePush: h.on_balance,
        TpslPush: h.on_tpsl,
    }
    for k in KLINE_PUSH_TYPES:
        table[k] = h.on_kline
    return table
