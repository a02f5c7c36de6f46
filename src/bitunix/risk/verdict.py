"""What risk answers: :data:`APPROVED`, a :class:`Denial` with its reason and the numbers
behind it, or a :class:`Sized` entry; :class:`RiskTransition` for a breaker, limit or kill
switch changing state; :class:`DenialCounter` for the run summary.

Reasons are short stable strings (:class:`Reason`): the audit trail, the summary's
``denials`` and the docs use them verbatim.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from bitunix.model.contract import ContractSpec
from bitunix.model.enums import Side

__all__ = [
    "APPROVED",
    "Approved",
    "Denial",
    "DenialCounter",
    "Reason",
    "RiskTransition",
    "Sized",
    "Values",
]

#: The numbers behind a verdict, by name: plain values for the audit trail.
Values = dict[str, str | int | float]


class Reason(StrEnum):
    """Why an entry was refused (also the kind of a :class:`RiskTransition`)."""

    KILL_SWITCH = "kill_switch"
    BREAKER_VOLATILITY = "breaker_volatility"
    BREAKER_IMBALANCE = "breaker_imbalance"
    BREAKER_VOLUME = "breaker_volume"
    BREAKER_ERROR_RATE = "breaker_error_rate"
    BREAKER_STALENESS = "breaker_staleness"
    NOT_TRADABLE = "not_tradable"
    NO_EQUITY = "no_equity"
    DAILY_LOSS = "daily_loss"
    OPEN_ORDERS = "open_orders"
    EXPOSURE_SYMBOL = "exposure_symbol"
    EXPOSURE_TOTAL = "exposure_total"
    LEVERAGE_SYMBOL = "leverage_symbol"
    LEVERAGE_TOTAL = "leverage_total"
    INVALID_PRICE = "invalid_price"
    INVALID_STOP = "invalid_stop"
    INVALID_TARGET = "invalid_target"
    INVALID_PROBABILITY = "invalid_probability"
    KELLY_NONPOSITIVE = "kelly_nonpositive"
    BELOW_MIN_QTY = "below_min_qty"
    MAX_ORDER_QTY = "max_order_qty"
    MAX_RISK = "max_risk"


def _detail(values: Values) -> dict[str, str]:
    return {k: (v if isinstance(v, str) else repr(v)) for k, v in values.items()}


class Approved(msgspec.Struct, frozen=True, gc=False):
    """A check passed. Use the shared :data:`APPROVED`."""

    def __bool__(self) -> bool:
        return True


#: The one :class:`Approved` value (immutable, so sharing it is safe).
APPROVED = Approved()


class Denial(msgspec.Struct, frozen=True, gc=False):
    """A check refused: ``reason`` (a :class:`Reason`) and ``values``, the readings and
    limits behind it (``{"loss_pct": 5.2, "max_pct": 5.0}``). Falsy, so
    ``if not verdict:`` reads as "denied"."""

    reason: Reason
    values: Values = msgspec.field(default_factory=dict)

    def __bool__(self) -> bool:
        return False

    def detail(self) -> dict[str, str]:
        """``values`` as strings, for :class:`~bitunix.model.records.AuditEntry.detail`."""
        return _detail(self.values)


class Sized(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """An approved entry: ``qty_steps`` of ``spec`` at ``price_ticks`` (the price it was
    sized at).

    ``kelly`` is the full Kelly fraction ``p - (1 - p) / b``, ``payoff`` is ``b``,
    ``conviction`` the share of the base size the Kelly fraction earned (in (0, 1]);
    ``bound`` says what set the quantity: ``"kelly"`` (the Kelly-scaled base size) or the
    :class:`Reason` of the cap that cut it (``max_risk``, ``max_order_qty``,
    ``exposure_symbol``...).
    """

    spec: ContractSpec
    side: Side
    qty_steps: int
    price_ticks: int
    kelly: float
    payoff: float
    conviction: float
    bound: str

    def __bool__(self) -> bool:
        return True

    @property
    def qty(self) -> Decimal:
        """Quantity in base coin, exact."""
        return Decimal(self.qty_steps).scaleb(-self.spec.qty_decimals)

    @property
    def notional(self) -> Decimal:
        """``qty x price`` in the quote coin, exact."""
        decimals = self.spec.qty_decimals + self.spec.price_decimals
        return Decimal(self.qty_steps * self.price_ticks).scaleb(-decimals)


class RiskTransition(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A breaker, limit or the kill switch changed state, for the log and the audit trail.

    ``kind`` is the :class:`Reason` entries are denied with while it is ``active``;
    ``symbol`` is empty for account-wide ones (error rate, staleness, daily loss, kill
    switch). ``flatten``: the app should close every position now (daily loss with
    ``limits.flatten_on_daily_loss``).
    """

    ts_ns: int
    kind: Reason
    active: bool
    symbol: str = ""
    flatten: bool = False
    values: Values = msgspec.field(default_factory=dict)

    def detail(self) -> dict[str, str]:
        """``values`` as strings, for the audit trail."""
        return _detail(self.values)


class DenialCounter:
    """Denials by reason, for the run summary (``{"daily_loss": 3, ...}``)."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def add(self, reason: str) -> None:
        """Count one denial for ``reason``."""
        counts = self._counts
        counts[reason] = counts.get(reason, 0) + 1

    def __getitem__(self, reason: str) -> int:
        return self._counts.get(reason, 0)

    @property
    def total(self) -> int:
        """Every denial counted."""
        return sum(self._counts.values())

    def as_dict(self) -> dict[str, int]:
        """A copy, reasons sorted, plain ``str`` keys (for JSON)."""
        return {str(k): self._counts[k] for k in sorted(self._counts)}
