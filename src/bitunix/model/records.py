"""What the bot writes down: the audit trail of trading actions and the model's decisions.

Plain values, so that the store (``bitunix.store``) can persist them without knowing who
produced them. Nothing here may ever hold a secret: ``detail`` is for prices, sizes, codes
and reasons.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

__all__ = ["AuditEntry", "Decision", "RoundTrip"]


class AuditEntry(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One trading action and why: ``action`` is what was done (``submit``, ``cancel``,
    ``fill``, ``reject``, ``deny``, ``drift``, ``flatten``, ``protect``, ``lease``...),
    ``reason`` why, ``strategy``/``model`` who asked; ``detail`` the values behind it."""

    ts_ns: int
    action: str
    symbol: str = ""
    client_id: str = ""
    strategy: str = ""
    reason: str = ""
    model: str = ""
    detail: dict[str, str] = msgspec.field(default_factory=dict)


class Decision(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry decision: the probability, where it came from (model, fallback, rules),
    the model and version that served it, and what became of it (``outcome``: ``order``,
    ``denied:<reason>``, ``dry-run``...)."""

    ts_ns: int
    symbol: str
    strategy: str
    direction: int
    probability: float
    source: str
    model: str
    outcome: str


class RoundTrip(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A closed trade: from flat to flat again (a flip closes one and opens the next).

    ``direction`` is +1 long, -1 short; prices are the average entry and exit; ``reason``
    says what closed it (``stop``, ``target``, ``trailing``, ``time``, ``flatten``,
    ``external``...). ``net_pnl = gross_pnl - fees - funding``, exact.
    """

    symbol: str
    strategy: str
    direction: int
    qty: Decimal
    entry_price: Decimal
    exit_price: Decimal
    entry_ns: int
    exit_ns: int
    reason: str
    gross_pnl: Decimal
    fees: Decimal
    funding: Decimal

    @property
    def net_pnl(self) -> Decimal:
        """What the trade made after fees and funding."""
        return self.gross_pnl - self.fees - self.funding
