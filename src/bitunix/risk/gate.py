"""The one entry point of risk: :class:`RiskGate`, called per entry signal on the hot path.

``check_entry`` runs, cheapest and most important first: the kill switch, the circuit
breakers, the limits (tradable, equity, daily loss, open orders, exposure and leverage),
then sizing. It returns :class:`~bitunix.risk.verdict.Sized` or the first
:class:`~bitunix.risk.verdict.Denial`; every denial is counted by reason and handed to the
``on_denial`` recorder. Exits (reduce-only) are never checked: risk never blocks a close.

State that must survive a restart (the kill switch, a daily-loss stop) is
:class:`RiskState`: read :attr:`RiskGate.state` after a change, save it, pass it back
when the gate is built.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import msgspec

from bitunix.model.contract import ContractSpec
from bitunix.model.enums import Side
from bitunix.risk.breaker import CircuitBreaker, SymbolBreaker, TransitionSink
from bitunix.risk.config import RiskConfig
from bitunix.risk.limits import check_daily_loss, check_exposure, check_open_orders
from bitunix.risk.params import SHRINK, SymbolRisk
from bitunix.risk.sizing import size_entry
from bitunix.risk.snapshot import ExposureSnapshot
from bitunix.risk.verdict import (
    APPROVED,
    Approved,
    Denial,
    DenialCounter,
    Reason,
    RiskTransition,
    Sized,
)

__all__ = ["DenialSink", "RiskGate", "RiskState"]

#: Where denials go: ``(symbol, side, denial, ts_ns)`` (the app writes the audit trail).
DenialSink = Callable[[str, Side, Denial, int], None]


def _ignore_transition(_transition: RiskTransition) -> None:
    return None


def _ignore_denial(_symbol: str, _side: Side, _denial: Denial, _ts_ns: int) -> None:
    return None


class RiskState(msgspec.Struct, frozen=True, kw_only=True):
    """What the gate must remember across restarts.

    ``kill_switch``: engaged by an operator (with ``kill_reason`` at ``kill_since_ns``)
    until released. ``daily_loss_day``: the UTC day (:func:`~bitunix.risk.snapshot.utc_day`)
    whose loss limit stopped entries, None when none did.
    """

    kill_switch: bool = False
    kill_reason: str = ""
    kill_since_ns: int = 0
    daily_loss_day: int | None = None


class RiskGate:
    """Kill switch, breakers, limits and sizing behind one call per entry signal."""

    def __init__(self, config: RiskConfig, *, on_denial: DenialSink | None = None,
                 on_transition: TransitionSink | None = None,
                 state: RiskState | None = None) -> None:
        self.config = config
        self.denials = DenialCounter()
        self._on_denial = on_denial or _ignore_denial
        self._emit = on_transition or _ignore_transition
        self.breaker = CircuitBreaker(config.breaker, self._emit)
        self._breaker_check = self.breaker.check
        limits = config.limits
        self._max_open = limits.max_open_orders
        self._max_loss_pct = Decimal(repr(limits.max_daily_loss_pct))
        self._total_exposure = limits.max_total_exposure_pct / 100.0 * SHRINK
        self._total_leverage = limits.max_leverage * SHRINK
        self._symbols: dict[str, SymbolRisk] = {}
        self._equity_dec: Decimal | None = None
        self._equity = 0.0
        self._day_checked: ExposureSnapshot | None = None
        state = state or RiskState()
        self._kill = state.kill_switch
        self._kill_reason = state.kill_reason
        self._kill_since = state.kill_since_ns
        self._kill_denial = self._kill_switch_denial()
        self._loss_day = state.daily_loss_day
        self._loss_denial = Denial(Reason.DAILY_LOSS, {"utc_day": self._loss_day or 0,
                                                       "restored": "true"})

    # -- state ---------------------------------------------------------------------------

    @property
    def state(self) -> RiskState:
        """The state to save (see the module docs)."""
        return RiskState(kill_switch=self._kill, kill_reason=self._kill_reason,
                         kill_since_ns=self._kill_since, daily_loss_day=self._loss_day)

    @property
    def kill_switch_engaged(self) -> bool:
        """True while the kill switch stops every entry."""
        return self._kill

    def engage_kill_switch(self, reason: str, now_ns: int) -> None:
        """Stop every entry until :meth:`release_kill_switch` (survives a restart through
        :attr:`state`). Open positions are left to the operator (flatten is the app's)."""
        if self._kill:
            return
        self._kill, self._kill_reason, self._kill_since = True, reason, now_ns
        self._kill_denial = self._kill_switch_denial()
        self._emit(RiskTransition(ts_ns=now_ns, kind=Reason.KILL_SWITCH, active=True,
                                  values={"reason": reason}))

    def release_kill_switch(self, now_ns: int) -> None:
        """Allow entries again (the other checks still apply)."""
        if not self._kill:
            return
        self._kill = False
        self._emit(RiskTransition(ts_ns=now_ns, kind=Reason.KILL_SWITCH, active=False,
                                  values={"reason": self._kill_reason,
                                          "engaged_s": (now_ns - self._kill_since) / 1e9}))

    def _kill_switch_denial(self) -> Denial:
        return Denial(Reason.KILL_SWITCH, {"reason": self._kill_reason,
                                           "since_ns": self._kill_since})

    # -- breaker feed (hot path; see CircuitBreaker) ---------------------------------------

    def symbol_breaker(self, symbol: str) -> SymbolBreaker:
        """The breakers of ``symbol``; feed them its trades and books."""
        return self.breaker.symbol(symbol)

    def on_request(self, ok: bool, ts_ns: int) -> None:
        """A venue request ended, well or not (the error-rate breaker)."""
        self.breaker.on_request(ok, ts_ns)

    def poll(self, now_ns: int) -> None:
        """Re-evaluate time-driven breaker states (staleness, recoveries) from a timer."""
        self.breaker.poll(now_ns)

    # -- checks ----------------------------------------------------------------------------

    def check_account(self, exposure: ExposureSnapshot, now_ns: int) -> Approved | Denial:
        """The daily loss limit outside an entry: call it when the PnL changes so a
        breach stops entries (and asks for a flatten through the transition) at once."""
        denial = self._daily_loss(exposure, now_ns)
        return APPROVED if denial is None else denial

    def check_entry(self, spec: ContractSpec, side: Side, *, price_ticks: int,
                    stop_ticks: int, target_ticks: int, probability: float,
                    exposure: ExposureSnapshot, now_ns: int) -> Sized | Denial:
        """Approve and size an entry of ``spec`` on ``side`` at ``price_ticks`` with that
        stop and take-profit (ticks, already rounded the safe way), ``probability`` of
        reaching the target first (model or rule confidence), given the account in
        ``exposure``; or the denial saying why not. See ``docs/risk.md``."""
        symbol = spec.symbol
        if self._kill:
            return self._deny(symbol, side, self._kill_denial, now_ns)
        verdict = self._breaker_check(symbol, now_ns)
        if verdict is not APPROVED:
            assert isinstance(verdict, Denial)
            return self._deny(symbol, side, verdict, now_ns)
        p = self._symbols.get(symbol)
        if p is None or p.spec is not spec:
            p = self._symbols[symbol] = SymbolRisk(spec, self.config)
        if not p.tradable:
            return self._deny(symbol, side, Denial(Reason.NOT_TRADABLE, {
                "status": spec.status.value, "api_supported": str(spec.api_supported)}),
                now_ns)
        eq_dec = exposure.equity
        if eq_dec is not self._equity_dec and eq_dec != self._equity_dec:
            self._equity_dec = eq_dec             # Decimal -> float costs ~0.4 us: once
            self._equity = float(eq_dec)
        equity = self._equity
        if not equity > 0.0:
            return self._deny(symbol, side, Denial(Reason.NO_EQUITY, {
                "equity": str(exposure.equity)}), now_ns)
        if exposure is not self._day_checked:         # the same snapshot: already checked
            denial = self._daily_loss(exposure, now_ns)
            if denial is not None:
                return self._deny(symbol, side, denial, now_ns)
        if exposure.open_orders >= self._max_open:
            verdict = check_open_orders(exposure.open_orders, self._max_open)
            assert isinstance(verdict, Denial)
            return self._deny(symbol, side, verdict, now_ns)
        room = check_exposure(exposure, p, equity, self._total_exposure, self._total_leverage)
        if isinstance(room, Denial):
            return self._deny(symbol, side, room, now_ns)
        sized = size_entry(p, side, price_ticks=price_ticks, stop_ticks=stop_ticks,
                           target_ticks=target_ticks, probability=probability, equity=equity,
                           headroom=room[0], headroom_reason=room[1])
        if isinstance(sized, Denial):
            return self._deny(symbol, side, sized, now_ns)
        return sized

    def _deny(self, symbol: str, side: Side, denial: Denial, now_ns: int) -> Denial:
        self.denials.add(denial.reason)
        self._on_denial(symbol, side, denial, now_ns)
        return denial

    def _daily_loss(self, exposure: ExposureSnapshot, now_ns: int) -> Denial | None:
        """The daily-loss stop, latched for the rest of the snapshot's UTC day."""
        day = exposure.utc_day
        if self._loss_day is not None:
            if day <= self._loss_day:
                return self._loss_denial
            self._emit(RiskTransition(ts_ns=now_ns, kind=Reason.DAILY_LOSS, active=False,
                                      values={"utc_day": day, "stopped_day": self._loss_day}))
            self._loss_day = None
        verdict = check_daily_loss(exposure, self._max_loss_pct)
        if verdict:
            self._day_checked = exposure
            return None
        assert isinstance(verdict, Denial)
        self._day_checked = None
        if verdict.reason is Reason.DAILY_LOSS:
            self._loss_day, self._loss_denial = day, verdict
            self._emit(RiskTransition(
                ts_ns=now_ns, kind=Reason.DAILY_LOSS, active=True,
                flatten=self.config.limits.flatten_on_daily_loss, values=verdict.values))
        return verdict
