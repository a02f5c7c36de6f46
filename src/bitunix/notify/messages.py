"""What a notification says: a :class:`Notice` (a line of text for people, the same facts
as plain JSON values for machines), built from what the run observed.

Money and quantities are exact decimal strings, as the store keeps them.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bitunix.model import Fill, Position
from bitunix.risk.verdict import Reason, RiskTransition

__all__ = ["DailyFigures", "Notice", "daily_summary", "error_notice", "fill_notice",
           "risk_notice"]

_NS = 1_000_000_000


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """One notification: ``kind`` (fill, breaker, kill, error, daily), ``text`` (what
    Telegram shows), ``data`` (the facts, for the webhook's JSON), ``ts_ns``."""

    kind: str
    text: str
    data: dict[str, str | int | bool]
    ts_ns: int

    def payload(self, mode: str) -> dict[str, object]:
        """The webhook's JSON body."""
        return {"kind": self.kind, "ts_ms": self.ts_ns // 1_000_000, "mode": mode,
                "text": self.text, "data": self.data}


def fill_notice(fill: Fill) -> Notice:
    """A fill: symbol, side, quantity, price, fee, order."""
    role = "maker" if fill.maker else "taker"
    close = ", reduce-only" if fill.reduce_only else ""
    text = (f"fill {fill.symbol} {fill.side.value.lower()} {fill.qty} @ {fill.price} "
            f"(fee {fill.fee}, {role}{close}; order {fill.client_id})")
    return Notice(kind="fill", text=text, ts_ns=fill.ts_ns, data={
        "symbol": fill.symbol, "side": fill.side.value, "qty": str(fill.qty),
        "price": str(fill.price), "notional": str(fill.notional), "fee": str(fill.fee),
        "maker": fill.maker, "reduce_only": fill.reduce_only, "client_id": fill.client_id,
        "trade_id": fill.trade_id})


def risk_notice(transition: RiskTransition) -> Notice:
    """A breaker or limit tripping or recovering (kind ``breaker``), or the kill switch
    engaged or released (kind ``kill``)."""
    values = transition.detail()
    if transition.kind is Reason.KILL_SWITCH:
        state = "engaged" if transition.active else "released"
        why = f" ({values['reason']})" if values.get("reason") else ""
        text = f"kill switch {state}{why}: " + (
            "no new entries" if transition.active else "entries allowed again")
        kind = "kill"
    else:
        state = "tripped" if transition.active else "recovered"
        where = f" on {transition.symbol}" if transition.symbol else ""
        shown = ", ".join(f"{k} {v}" for k, v in values.items())
        text = f"risk: {transition.kind.value} {state}{where}" + (f" ({shown})" if shown else "")
        kind = "breaker"
    data: dict[str, str | int | bool] = {"reason": transition.kind.value, "state": state,
                                         "active": transition.active,
                                         "symbol": transition.symbol,
                                         "flatten": transition.flatten}
    data.update({f"value_{k}": v for k, v in values.items()})
    return Notice(kind=kind, text=text, ts_ns=transition.ts_ns, data=data)


def error_notice(line: str, ts_ns: int) -> Notice:
    """An error the run reported (``error: ...``)."""
    message = line.removeprefix("error: ")
    return Notice(kind="error", text=f"error: {message}", ts_ns=ts_ns,
                  data={"message": message})


class DailyFigures(msgspec.Struct, frozen=True, kw_only=True):
    """A period's figures (since the previous summary or the start): fills and round
    trips, realised PnL after fees and funding, fees, funding; now: unrealised PnL,
    equity (None before the venue's first balance), open positions."""

    start_ns: int
    end_ns: int
    fills: int
    round_trips: int
    realized: Decimal
    fees: Decimal
    funding: Decimal
    unrealized: Decimal
    equity: Decimal | None
    positions: dict[str, Decimal]


class Totals(msgspec.Struct, frozen=True, kw_only=True):
    """Running totals over every position, the baseline a period is measured from."""

    fills: int = 0
    round_trips: int = 0
    realized: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)

    @classmethod
    def of(cls, positions: list[Position]) -> Totals:
        """The totals of ``positions`` (every symbol's, open or flat)."""
        zero = Decimal(0)
        return cls(fills=sum(p.fills for p in positions),
                   round_trips=sum(p.closed_trades for p in positions),
                   realized=sum((p.net_realized_pnl for p in positions), zero),
                   fees=sum((p.fees for p in positions), zero),
                   funding=sum((p.funding for p in positions), zero))


def daily_summary(figures: DailyFigures, mode: str) -> Notice:
    """The daily summary of ``figures``."""
    hours = (figures.end_ns - figures.start_ns) / _NS / 3600
    open_text = ", ".join(f"{s} {q}" for s, q in figures.positions.items()) or "flat"
    equity = "n/a" if figures.equity is None else str(figures.equity)
    text = (f"daily summary ({mode}, last {hours:.1f} h): {figures.fills} fills, "
            f"{figures.round_trips} round trips, realised {figures.realized} (fees "
            f"{figures.fees}, funding {figures.funding}), unrealised {figures.unrealized}, "
            f"equity {equity}; positions: {open_text}")
    data: dict[str, str | int | bool] = {
        "start_ms": figures.start_ns // 1_000_000, "end_ms": figures.end_ns // 1_000_000,
        "fills": figures.fills, "round_trips": figures.round_trips,
        "realized": str(figures.realized), "fees": str(figures.fees),
        "funding": str(figures.funding), "unrealized": str(figures.unrealized),
        "equity": "" if figures.equity is None else str(figures.equity)}
    data.update({f"position_{s}": str(q) for s, q in figures.positions.items()})
    return Notice(kind="daily", text=text, ts_ns=figures.end_ns, data=data)
