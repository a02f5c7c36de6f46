"""Private pushes of the simulated exchange: the engine's state changes, formatted as the
venue's WebSocket ``data`` objects and handed to the listeners.

Formatting costs a few microseconds per push, so nothing is formatted while no listener is
attached (the in-process backtest venue usually has none).
"""

from __future__ import annotations

from decimal import Decimal

from bitunix.sim import shapes
from bitunix.sim.state import PushListener, SimAccount, SimOrder, SimPosition, SimTpSl

__all__ = ["PushPublisher"]


class PushPublisher:
    """Formats ``(uid, channel, ws_data)`` pushes for ``listeners``; ``quirks`` selects the
    live venue's deviations from its documentation (see :mod:`bitunix.sim.shapes`)."""

    __slots__ = ("listeners", "quirks")

    def __init__(self, *, quirks: bool = False) -> None:
        self.listeners: list[PushListener] = []
        self.quirks = quirks

    def _send(self, uid: str, channel: str, data: dict[str, object]) -> None:
        for listener in self.listeners:
            listener(uid, channel, data)

    def order(self, order: SimOrder, event: str) -> None:
        """An order CREATE / UPDATE / CLOSE."""
        if self.listeners:
            self._send(order.uid, "order", shapes.ws_order(order, event, self.quirks))

    def position(self, pos: SimPosition, event: str, mark: Decimal | None) -> None:
        """A position OPEN / UPDATE / CLOSE, valued at ``mark``."""
        if self.listeners:
            self._send(pos.uid, "position", shapes.ws_position(pos, event, mark))

    def balance(self, acct: SimAccount) -> None:
        """The account's balance."""
        if self.listeners:
            self._send(acct.uid, "balance", shapes.ws_balance(acct))

    def tpsl(self, tp: SimTpSl, event: str, acct: SimAccount, leverage: int) -> None:
        """A TP/SL order CREATE / UPDATE / CLOSE."""
        if self.listeners:
            self._send(tp.uid, "tpsl", shapes.ws_tpsl(tp, event, acct, leverage, self.quirks))
