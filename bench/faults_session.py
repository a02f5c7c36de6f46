"""The fault benchmarks' harness: the end-to-end :class:`~tests.e2e.conftest.Session` (the
order manager and the live adapter against the simulator's server on 127.0.0.1) with what
a bot has beside it and what the benchmarks measure.

* a public stream (:class:`~bitunix.exchange.ws.BitunixWS`, trades of every symbol, the
  shipped stale-feed check) whose states and trades are timed (:class:`FeedWatch`);
* a market that keeps moving (the stepped simulator advanced every 20 ms), so the public
  stream has data to miss and resting orders a market to rest in;
* the times the private stream came back (:attr:`FaultRun.stream_ups`) and, for each, the
  number of reconciliations done by then: the first reconciliation after a reconnect is
  the first one that completes after it;
* :meth:`FaultRun.counts`: orders intended, placed at the venue, duplicated, foreign, fills
  lost and the drift left after a reconciliation, from the venue's own books.

Times are ``time.perf_counter()`` seconds, taken on the client's event loop; conditions
that have no callback are polled every millisecond (:func:`when`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from bitunix.adapters.bitunix import BitunixVenue
from bitunix.core.clock import LiveClock
from bitunix.exchange import Credentials
from bitunix.exchange.ws import BitunixWS, ConnState, WsHandler
from bitunix.execution import ClientIdFactory, ExecutionEngine
from bitunix.model import Order, OrderIntent, OrderStatus
from bitunix.wire.public import TradePush
from tests.e2e.conftest import ENGINE, KEY, SECRET, VENUE, Session

#: The public stream's stale-feed check: the shipped default (``ws.stale_after_s``).
STALE_AFTER_S = 5.0
#: The market moves by this many events every ``TICK_S``.
TICK_EVENTS, TICK_S = 2, 0.02


async def when(cond: Callable[[], bool], timeout_s: float, what: str) -> float:
    """The time ``cond`` was first seen true (polled every ms); fails after ``timeout_s``."""
    deadline = time.perf_counter() + timeout_s
    while not cond():
        if time.perf_counter() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.001)
    return time.perf_counter()


class FeedWatch(WsHandler):
    """The public stream's handler: when each state was entered, when trades arrived."""

    def __init__(self) -> None:
        self.states: list[tuple[float, ConnState]] = []
        self.trades = 0
        self.last_trade_t = 0.0

    def on_trade(self, msg: TradePush) -> None:
        self.trades += 1
        self.last_trade_t = time.perf_counter()

    def on_state(self, state: ConnState) -> None:
        self.states.append((time.perf_counter(), state))

    def first(self, state: ConnState, after: float) -> float | None:
        """When the stream first entered ``state`` after ``after`` (None: not yet)."""
        return next((t for t, s in self.states if s is state and t > after), None)


class FaultRun:
    """A :class:`Session` with a public stream, a moving market and timed reconnects."""

    def __init__(self, session: Session, feed: FeedWatch, public: BitunixWS) -> None:
        self.s = session
        self.feed = feed
        self.public = public
        #: (time, reconciliations done then) of every private-stream (re)connection.
        self.stream_ups: list[tuple[float, int]] = []
        #: client id -> when it was submitted / its verdict known / its fills all booked.
        self.sent: dict[str, float] = {}
        self.verdicts: dict[str, float] = {}
        self.booked: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._time(session.engine)

    def _time(self, engine: ExecutionEngine) -> None:
        """Time the private stream's returns and the submits of ``engine``."""
        on_stream, submit = engine.on_stream, engine.submit

        def timed_on_stream(connected: bool) -> None:
            if connected:
                self.stream_ups.append((time.perf_counter(), engine.counters.reconciles))
            on_stream(connected)

        def timed_submit(intent: OrderIntent) -> Order:
            t = time.perf_counter()
            order = submit(intent)
            self.sent[order.client_id] = t
            return order

        engine.on_stream = timed_on_stream  # type: ignore[method-assign]
        engine.submit = timed_submit  # type: ignore[method-assign]

    @classmethod
    async def open(cls, seed: int) -> FaultRun:
        session = await Session.open(seed=seed)
        feed = FeedWatch()
        run = cls(session, feed, _public_stream(session, feed))
        run.public.start()
        await run.public.wait_live(5.0)
        run._tasks = [asyncio.create_task(run._tick()), asyncio.create_task(run._watch())]
        await when(lambda: feed.trades > 0, 5.0, "a first public trade")
        return run

    async def _tick(self) -> None:
        while True:
            self.s.sim.advance(TICK_EVENTS)
            await asyncio.sleep(TICK_S)

    async def _watch(self) -> None:
        """Every ms: which sent orders have a verdict now, which have all their fills."""
        while True:
            now = time.perf_counter()
            engine = self.s.engine  # a restart replaces it
            for cid in self.sent:
                if cid in self.booked:
                    continue
                order = engine.order(cid)
                if order is None:
                    continue
                if cid not in self.verdicts and order.status is not OrderStatus.INIT:
                    self.verdicts[cid] = now
                if (order.status is OrderStatus.FILLED
                        and engine.booked_steps(cid) >= order.filled_steps > 0):
                    self.booked[cid] = now
            await asyncio.sleep(0.001)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.public.close()
        await self.s.close()

    # ------------------------------------------------------------------ orders open
    async def open_orders_and_positions(self) -> None:
        """A resting bid and a position on every symbol, settled: the state a fault hits."""
        for symbol in self.s.venue.symbols:
            self.s.resting(symbol)
            self.s.entry(symbol)
        await self.s.settle()
        assert self.s.local_open(), "no order left open"

    # ------------------------------------------------------------------ bot restart
    async def stop_bot(self) -> None:
        """Stop the engine, the adapter and the public stream, as a stopped bot leaves them:
        nothing flattened or cancelled, an order sent just before may be unanswered."""
        await self.s.engine.close()
        await self.s.venue.close()
        await self.public.close()

    async def start_bot(self) -> None:
        """A new adapter and engine (a new client id epoch), restored from the journal as
        ``app/bot.py`` restores them from the store, then connected and reconciled; a new
        public stream. Flat positions are restored too (the bot restores open ones only),
        so that the books' fees and PnL span the restart for the wallet comparison."""
        s, old = self.s, self.s.venue
        venue = BitunixVenue(Credentials(KEY, SECRET), rest_config=old.rest.config,
                             ws_config=old.ws.config, symbols=old.symbols, settings=VENUE,
                             on_request=s.requests.append)
        engine = ExecutionEngine(venue, s.journal, clock=LiveClock(),
                                 ids=ClientIdFactory("e2e", time.time_ns() // 1_000_000,
                                                     after_epoch_ms=s.engine.ids.epoch_ms),
                                 settings=ENGINE, symbols=old.symbols)
        journal = s.journal
        engine.restore(list(journal.orders.values()), list(journal.positions.values()),
                       list(journal.fills.values()))
        s.venue, s.engine = venue, engine
        self._time(engine)
        self.public = _public_stream(s, self.feed)
        self.public.start()
        await venue.connect()
        await engine.reconcile()

    # ------------------------------------------------------------------ times
    async def private_back(self, after: float, timeout_s: float = 20.0) -> float:
        """When the private stream was next live after ``after``."""
        await when(lambda: any(t > after for t, _ in self.stream_ups), timeout_s,
                   "the private stream back")
        return next(t for t, _ in self.stream_ups if t > after)

    async def reconciled(self, after: float, timeout_s: float = 20.0) -> float:
        """When the first reconciliation after the private stream's return past ``after``
        completed."""
        back = await self.private_back(after, timeout_s)
        done_before = next(n for t, n in self.stream_ups if t == back)
        counters = self.s.engine.counters
        return await when(lambda: counters.reconciles > done_before, timeout_s,
                          "a reconciliation after the reconnect")

    async def public_back(self, after: float, timeout_s: float = 20.0) -> float:
        """When the public stream was next live after ``after``."""
        await when(lambda: self.feed.first(ConnState.LIVE, after) is not None, timeout_s,
                   "the public stream back")
        t = self.feed.first(ConnState.LIVE, after)
        assert t is not None
        return t

    async def verdict(self, client_id: str, timeout_s: float = 20.0) -> float:
        """Seconds from submitting an order to the engine knowing the venue's verdict on it
        (it left INIT: acknowledged, filled or refused)."""
        await when(lambda: client_id in self.verdicts, timeout_s, f"a verdict on {client_id}")
        return self.verdicts[client_id] - self.sent[client_id]

    async def fills_known(self, client_id: str, timeout_s: float = 20.0) -> float:
        """Seconds from submitting a market order to all its fills booked."""
        await when(lambda: client_id in self.booked, timeout_s, f"the fills of {client_id}")
        return self.booked[client_id] - self.sent[client_id]

    # ------------------------------------------------------------------ counts
    def counts(self) -> dict[str, Any]:
        """Orders and fills by the venue's books against the engine's (see the module)."""
        s = self.s
        account = s.account
        by_client = Counter(o.client_id for o in account.orders.values() if o.client_id)
        booked = s.engine.portfolio
        lost = [f.trade_id for f in account.fills if not booked.has_fill(f.trade_id)]
        positions = [sym for sym in s.venue.symbols
                     if booked.qty_steps(sym) != s.venue_qty(sym)]
        orders = sorted(s.local_open() ^ s.venue_open())
        return {
            "orders_intended": len(s.journal.orders),
            "orders_placed": len(by_client),
            # Issued but never at the venue: refused, or given up after every attempt.
            "not_placed": [f"{o.reason} {o.status.value} {o.reject_reason}".strip()
                           for c, o in s.journal.orders.items() if c not in by_client],
            "duplicated": sum(n - 1 for n in by_client.values()),
            "foreign": sum(1 for c in by_client if not s.engine.ids.owns(c)),
            "fills_venue": len(account.fills),
            "fills_lost": len(lost),
            "drift_positions": positions,
            "drift_orders": orders,
        }

    async def finish(self) -> dict[str, Any]:
        """Settle, reconcile, count; flatten, settle, compare the wallet: the row's counts.

        ``drift`` is what differs after the final reconciliation: symbols whose positions
        differ, open orders on one side only, corrections that reconciliation had to make,
        and 1 if the wallet did not move by exactly the books' net PnL after the flatten.
        """
        s = self.s
        await s.settle(timeout=20.0)
        report = await s.engine.reconcile()
        before = self.counts()
        flat = await s.engine.flatten(timeout_s=15.0)
        await s.engine.cancel_all()
        await s.settle(timeout=20.0)
        after = self.counts()
        wallet_change: Decimal = s.account.wallet - s.start_wallet
        wallet_gap = wallet_change - s.engine.portfolio.net_realized()
        after["drift"] = (len(before["drift_positions"]) + len(before["drift_orders"])
                          + report.drift + len(after["drift_positions"])
                          + len(after["drift_orders"]) + (wallet_gap != 0) + (not flat.flat))
        after["drift_detail"] = {
            "after_reconcile": {"positions": before["drift_positions"],
                                "orders": before["drift_orders"],
                                "corrections": report.drift},
            "after_flatten": {"positions": after["drift_positions"],
                              "orders": after["drift_orders"], "flat": flat.flat},
            "wallet_change": str(wallet_change), "wallet_gap": str(wallet_gap)}
        del after["drift_positions"], after["drift_orders"], before["not_placed"]
        after["engine"] = s.engine.counters.as_dict()
        after["adapter"] = s.venue.stats.as_dict()
        after["public_stream"] = {"trades": self.feed.trades,
                                  "reconnects": self.public.stats.reconnects,
                                  "stale_disconnects": self.public.stats.stale_disconnects}
        return after


def _public_stream(session: Session, feed: FeedWatch) -> BitunixWS:
    config = msgspec.structs.replace(session.venue.ws.config, stale_after_s=STALE_AFTER_S)
    public = BitunixWS(feed, config)
    public.subscribe([("trade", symbol) for symbol in session.venue.symbols])
    return public
