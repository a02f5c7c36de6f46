"""Repeated private pushes: which repeats are recognised, by what key, in bounded memory.

The venue sometimes sends the same private event twice. A repeated *state* (a balance, a
position snapshot) is harmless, but a repeated *event* applied twice is not (a fill counted
twice). A push can only be dropped as a repeat when its key says "this exact event", never
"the same state again": a balance that goes 100 -> 90 -> 100 (an order placed, then
cancelled) is three real states, and dropping the last one would leave the consumer at 90.

Keys (spec 5.5):

* ``order``: with ``mtime`` (the update time, ISO nanoseconds), the update is
  ``(orderId, mtime, orderStatus, event, dealAmount, qty, price)``. Without it, only the
  one-off events are keyed: ``CREATE`` and ``CLOSE`` by ``(orderId, event, orderStatus,
  ctime)``; an ``UPDATE`` without ``mtime`` (a modify back to an earlier price looks the
  same) is never dropped.
* ``position``: with ``mtime``, ``(positionId, event, mtime, qty, margin)``; without it,
  ``OPEN`` and ``CLOSE`` by ``(positionId, event, ctime)``; ``UPDATE`` never.
* ``tpsl``: no update time on the wire, so ``CREATE`` and ``CLOSE`` only, by
  ``(orderId, event, status, ctime)``.
* ``balance``: never (a snapshot with no event identity).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from bitunix.wire.private import BalanceData, OrderData, PositionData, TpslData

__all__ = ["RecentKeys", "push_key"]

_ONE_OFF = frozenset({"CREATE", "CLOSE", "OPEN"})


class RecentKeys:
    """The last ``capacity`` keys seen, least recently seen dropped first (an LRU set).

    Memory is bounded by ``capacity``; a repeat that arrives after ``capacity`` newer keys
    is no longer recognised.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, was {capacity}")
        self.capacity = capacity
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def seen(self, key: Hashable) -> bool:
        """True if ``key`` was seen recently (it becomes the most recent); else remember it."""
        keys = self._keys
        if key in keys:
            keys.move_to_end(key)
            return True
        keys[key] = None
        if len(keys) > self.capacity:
            keys.popitem(last=False)
        return False


def push_key(item: OrderData | PositionData | TpslData | BalanceData) -> Hashable | None:
    """The identity of one private event, or None when a repeat cannot be told apart from
    a new event in the same state (then it is never dropped)."""
    if isinstance(item, OrderData):
        event = item.event.upper()
        if item.mtime:
            return ("order", item.order_id, item.mtime, item.order_status, event,
                    item.deal_amount, item.qty, item.price)
        if event in _ONE_OFF:
            return ("order", item.order_id, event, item.order_status, item.ctime)
        return None
    if isinstance(item, PositionData):
        event = item.event.upper()
        if item.mtime:
            return ("position", item.position_id, event, item.mtime, item.qty, item.margin)
        if event in _ONE_OFF:
            return ("position", item.position_id, event, item.ctime)
        return None
    if isinstance(item, TpslData):
        event = item.event.upper()
        if event in _ONE_OFF:
            return ("tpsl", item.order_id, event, item.status, item.ctime)
        return None
    return None
