"""What the adapter tests share: a VenueListener that records every call."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bitunix.execution import SubmitError, VenuePosition
from bitunix.model import Balance, ContractSpec, Fill, OrderEvent


class Recorder:
    """A VenueListener that keeps every call in order; ``on_event_hook(client_id, event)``
    (optional) runs inside ``on_order_event`` (re-entrant submits)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.on_event_hook: object = None

    def on_order_event(self, client_id: str, event: OrderEvent) -> None:
        self.calls.append(("event", (client_id, event)))
        if callable(self.on_event_hook):
            self.on_event_hook(client_id, event)

    def on_submit_error(self, client_id: str, error: SubmitError) -> None:
        self.calls.append(("error", (client_id, error)))

    def on_fill(self, fill: Fill) -> None:
        self.calls.append(("fill", fill))

    def on_position(self, position: VenuePosition) -> None:
        self.calls.append(("position", position))

    def on_balance(self, balance: Balance) -> None:
        self.calls.append(("balance", balance))

    def on_funding(self, spec: ContractSpec, paid: Decimal, ts_ns: int) -> None:
        self.calls.append(("funding", (spec.symbol, paid)))

    def on_stream(self, connected: bool) -> None:
        self.calls.append(("stream", connected))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.calls]

    def of(self, kind: str) -> list[Any]:
        return [v for k, v in self.calls if k == kind]

    def events(self, cid: str) -> list[OrderEvent]:
        return [e for c, e in self.of("event") if c == cid]

    def errors(self, cid: str) -> list[SubmitError]:
        return [e for c, e in self.of("error") if c == cid]
