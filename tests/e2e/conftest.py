"""End to end: the order manager (:class:`ExecutionEngine`) and the live adapter
(:class:`BitunixVenue`) against the simulator's own server on 127.0.0.1, replaying the
bundled BTCUSDT and ETHUSDT captures, stepped by the test.

:class:`Session` drives a stream of orders (entries and reduce-only exits) and checks, once
the books have settled, that the local view is the venue's:

* 0 lost fills: every fill the venue made on the account is booked once (the journal
  refuses a second write of a trade id), and no position was patched by a synthetic fill;
* 0 duplicate orders: every order at the venue carries a client id the engine issued, once;
* the same positions per symbol and the same set of open orders; after a flatten, the
  wallet moved by exactly the engine's net PnL (fills' PnL, fees and funding).
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from bitunix.adapters.bitunix import BitunixVenue, BitunixVenueSettings
from bitunix.core.clock import LiveClock
from bitunix.data.capture import bundled_capture, iter_capture
from bitunix.exchange import Credentials, RestConfig, WsConfig
from bitunix.execution import ClientIdFactory, ExecutionEngine, ExecutionSettings
from bitunix.model import Fill, Order, OrderIntent, OrderType, Position, Side, TimeInForce
from bitunix.model.market import MarketEvent
from bitunix.model.records import AuditEntry, Decision
from bitunix.sim.faults import Faults
from bitunix.sim.server import SimServer

D = Decimal
KEY, SECRET = "e2e-key", "e2e-secret"
SYMBOLS = ("BTCUSDT", "ETHUSDT")
BALANCE = D("100000")

#: The order manager's timings, short so that every recovery path runs in a test.
ENGINE = ExecutionSettings(
    ack_timeout_s=1.0, max_submit_attempts=4, retry_backoff_s=0.05, retry_backoff_max_s=0.4,
    entry_timeout_s=0.0, silence_s=0.4, silence_max_s=1.6, fill_grace_s=0.15,
    sweep_interval_s=0.02, reconcile_interval_s=0.0, drift_grace_s=0.5, protect_attempts=3,
    trail_debounce_s=0.05, exit_retry_s=0.5)
#: The adapter's: an order unanswered for 0.5 s has no verdict.
VENUE = BitunixVenueSettings(pool_size=3, max_connections=12, request_timeout_s=0.5,
                             connect_timeout_s=1.0, stream_timeout_s=5.0, lookups=3,
                             lookup_backoff_s=0.05, fill_fetch_attempts=8, fill_retry_s=0.05)


def captures() -> Iterator[MarketEvent]:
    """The bundled BTCUSDT and ETHUSDT captures merged in time order."""
    return heapq.merge(iter_capture(), iter_capture(bundled_capture("ETHUSDT")),
                       key=lambda e: e.ts_ns)


class MemoryJournal:
    """The Journal: the latest state of each order, every fill once, the audit trail."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.fills: dict[str, Fill] = {}
        self.positions: dict[str, Position] = {}
        self.audit: list[AuditEntry] = []

    def record_order(self, order: Order) -> None:
        self.orders[order.client_id] = order

    def record_fill(self, fill: Fill) -> None:
        assert fill.trade_id not in self.fills, f"fill {fill.trade_id} journaled twice"
        self.fills[fill.trade_id] = fill

    def record_position(self, position: Position) -> None:
        self.positions[position.symbol] = position

    def record_audit(self, entry: AuditEntry) -> None:
        self.audit.append(entry)

    def record_decision(self, decision: Decision) -> None:
        pass


async def until(cond: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    """Wait (on the event loop) until ``cond``; fail with ``what()`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled within {timeout} s: {what()}")
        await asyncio.sleep(0.02)


class Session:
    """A server, a connected adapter and an engine; see the module docs."""

    def __init__(self, sim: SimServer, venue: BitunixVenue, engine: ExecutionEngine,
                 journal: MemoryJournal, seed: int) -> None:
        self.sim = sim
        self.venue = venue
        self.engine = engine
        self.journal = journal
        self.rng = random.Random(seed)
        self.start_wallet = self.account.wallet
        self.submitted = 0
        self.requests: list[bool] = []

    @classmethod
    async def open(cls, seed: int = 1, *, rest_timeout_s: float = 3.0,
                   source: Callable[[], Any] = captures,
                   symbols: tuple[str, ...] = SYMBOLS, warmup: int = 200,
                   balance: Decimal = BALANCE) -> Session:
        sim = SimServer(source=source, speed=0, push_interval_s=None, loop_data=False,
                        api_keys={KEY: SECRET}, balance=balance, ws_msg_per_s=None,
                        faults=Faults(seed=seed))
        await sim.start()
        sim.advance(warmup)
        rest = RestConfig(base_url=sim.rest_url, rate_limits=False, max_retries=3,
                          backoff_base_s=0.02, backoff_max_s=0.2, timeout_s=rest_timeout_s,
                          connect_timeout_s=1.0, order_lookups=2)
        ws = WsConfig(public_url=sim.public_ws_url, private_url=sim.private_ws_url,
                      connect_timeout_s=1.0, login_timeout_s=1.0, connect_frame_wait_s=0.2,
                      reconnect_base_s=0.05, reconnect_max_s=0.3, ping_interval_s=2.0,
                      pong_timeout_s=2.0)
        requests: list[bool] = []
        venue = BitunixVenue(Credentials(KEY, SECRET), rest_config=rest, ws_config=ws,
                             symbols=list(symbols), settings=VENUE,
                             on_request=requests.append)
        journal = MemoryJournal()
        engine = ExecutionEngine(venue, journal, clock=LiveClock(),
                                 ids=ClientIdFactory("e2e", int(time.time() * 1000)),
                                 settings=ENGINE, symbols=list(symbols))
        await venue.connect()
        await engine.reconcile()
        session = cls(sim, venue, engine, journal, seed)
        session.requests = requests
        return session

    async def close(self) -> None:
        await self.engine.close()
        await self.venue.close()
        await self.sim.stop()

    # ------------------------------------------------------------------ views
    @property
    def account(self) -> Any:
        return self.sim.engine.accounts[KEY]

    def venue_qty(self, symbol: str) -> int:
        spec = self.venue.contracts[symbol]
        for pos in self.account.positions.values():
            if pos.symbol == symbol:
                return (1 if pos.side == "LONG" else -1) * spec.qty_to_steps(pos.qty)
        return 0

    def venue_open(self) -> set[str]:
        return {o.client_id for o in self.account.open_orders.values()}

    def local_open(self) -> set[str]:
        return {o.client_id for o in self.engine.open_orders()}

    # ------------------------------------------------------------------ orders
    def entry(self, symbol: str | None = None) -> Order | None:
        """A MARKET entry of a few minimum sizes on a random side (None: refused)."""
        symbol = symbol or self.rng.choice(list(self.venue.symbols))
        spec = self.venue.contracts[symbol]
        side = self.rng.choice((Side.BUY, Side.SELL))
        qty = spec.min_order_steps * self.rng.randint(1, 4)
        return self._submit(OrderIntent(spec=spec, side=side, qty_steps=qty, strategy="e2e",
                                        reason="enter"))

    def exit(self, symbol: str) -> Order | None:
        """A reduce-only MARKET exit of part (or all) of the local position."""
        held = self.engine.portfolio.qty_steps(symbol)
        if not held:
            return None
        spec = self.venue.contracts[symbol]
        qty = abs(held) if self.rng.random() < 0.5 else max(1, abs(held) // 2)
        side = Side.SELL if held > 0 else Side.BUY
        return self._submit(OrderIntent(spec=spec, side=side, qty_steps=qty, reduce_only=True,
                                        strategy="e2e", reason="exit:signal"))

    def resting(self, symbol: str) -> Order | None:
        """A LIMIT bid 3% under the market that stays open (a GTC order to keep track of)."""
        spec = self.venue.contracts[symbol]
        mark = self.sim.engine.markets[symbol].mark
        assert mark is not None
        price = spec.price_to_ticks(mark * D("0.97"), "ROUND_FLOOR")
        return self._submit(OrderIntent(spec=spec, side=Side.BUY,
                                        qty_steps=spec.min_order_steps,
                                        order_type=OrderType.LIMIT, price_ticks=price,
                                        time_in_force=TimeInForce.GTC, strategy="e2e",
                                        reason="enter"))

    def _submit(self, intent: OrderIntent) -> Order:
        self.submitted += 1
        return self.engine.submit(intent)

    async def trade(self, n: int, *, between: Callable[[int], Any] | None = None) -> None:
        """``n`` orders: entries, exits of what is held, now and then a resting bid; the
        market moves between them. ``between(i)`` (may be a coroutine) runs before order
        ``i``: the place to inject a fault mid-trade."""
        for i in range(n):
            if between is not None:
                maybe = between(i)
                if asyncio.iscoroutine(maybe):
                    await maybe
            symbol = self.rng.choice(list(self.venue.symbols))
            roll = self.rng.random()
            if roll < 0.1:
                self.resting(symbol)
            elif roll < 0.45 and self.engine.portfolio.qty_steps(symbol):
                self.exit(symbol)
            else:
                self.entry(symbol)
            if self.rng.random() < 0.3:
                self.sim.advance(self.rng.randint(5, 40))
            await asyncio.sleep(self.rng.choice((0.0, 0.0, 0.01, 0.03)))

    # ------------------------------------------------------------------ checks
    def _gaps(self) -> list[str]:
        out = []
        booked = self.engine.portfolio
        missing = [f.trade_id for f in self.account.fills if not booked.has_fill(f.trade_id)]
        if missing:
            out.append(f"{len(missing)} venue fills not booked ({missing[:3]})")
        for symbol in self.venue.symbols:
            local, venue = self.engine.portfolio.qty_steps(symbol), self.venue_qty(symbol)
            if local != venue:
                out.append(f"{symbol}: local {local} steps, venue {venue}")
        if self.local_open() != self.venue_open():
            out.append(f"open orders: local {sorted(self.local_open())}, "
                       f"venue {sorted(self.venue_open())}")
        pending = [o.client_id for o in self.engine.orders.values() if o.is_open
                   and o.status.value == "INIT"]
        if pending:
            out.append(f"unresolved orders {pending}")
        return out

    async def settle(self, timeout: float = 20.0) -> None:
        """Wait until the local view is the venue's (see :meth:`check`)."""
        await until(lambda: not self._gaps(), timeout, lambda: "; ".join(self._gaps()))

    def check(self) -> None:
        """The invariants of the module docs, on what happened so far."""
        assert self._gaps() == []
        issued = self.engine.ids
        by_client: dict[str, int] = {}
        for o in self.account.orders.values():
            if o.client_id:  # exchange TP/SL children carry none
                by_client[o.client_id] = by_client.get(o.client_id, 0) + 1
        assert all(n == 1 for n in by_client.values()), "an order placed twice"
        assert all(issued.owns(c) and c in self.journal.orders for c in by_client), (
            "an order at the venue the engine did not intend")
        for cid, count in by_client.items():
            local = self.journal.orders[cid]
            venue_order = self.account.orders[self.account.client_ids[cid]]
            assert local.venue_id in (None, venue_order.order_id)
            assert local.filled_steps == local.spec.qty_to_steps(venue_order.filled_qty), cid
            assert count == 1
        # Every fill booked once; none invented to patch a position.
        venue_trades = {f.trade_id for f in self.account.fills}
        drifts = [(a.symbol, a.client_id, a.reason, a.detail) for a in self.journal.audit
                  if a.action == "drift"]
        assert set(self.journal.fills) == venue_trades, drifts
        assert self.engine.counters.fills == len(venue_trades)
        assert not any(t.startswith("drift:") for t in self.journal.fills)
        # Fees: the venue charged what the books hold, exactly.
        charged = -sum((e.amount for e in self.account.ledger if e.kind == "fee"), D(0))
        assert self.engine.portfolio.fees() == charged

    async def flatten_and_check(self) -> None:
        """Flatten; then the wallet moved by exactly the net PnL of the books."""
        report = await self.engine.flatten(timeout_s=15.0)
        assert report.flat, report
        await self.engine.cancel_all()
        await self.settle()
        self.check()
        assert self.account.positions == {}
        wallet_change = self.account.wallet - self.start_wallet
        assert self.engine.portfolio.net_realized() == wallet_change
        ledger = {kind: sum((e.amount for e in self.account.ledger if e.kind == kind), D(0))
                  for kind in ("pnl", "fee", "funding")}
        assert wallet_change == ledger["pnl"] + ledger["fee"] + ledger["funding"]
        assert self.engine.portfolio.funding() == -ledger["funding"]

