"""SpecCache: contract specs and funding rates read through with a TTL, and a refusal that
signals a contract change (the simulator's contracts changed mid-run) invalidating the
spec so that the next order is built from a fresh read."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal

import pytest

from bitunix.exchange import BitunixREST, Credentials, OrderRequest, RestConfig
from bitunix.exchange.errors import ExchangeError
from bitunix.exchange.spec_cache import SPEC_CHANGE_CODES, SpecCache, place_fresh
from bitunix.model import ContractSpec, OrderType, Side
from bitunix.model.market import BookEvent
from bitunix.sim.server import SimServer
from bitunix.wire.rest import FundingRate

KEY, SECRET = "cache-key", "cache-secret"


class Clock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def sim_server() -> SimServer:
    bids = [(str(Decimal(60000) - Decimal("0.1") * (i + 1)), "2") for i in range(5)]
    asks = [(str(Decimal(60000) + Decimal("0.1") * i), "2") for i in range(5)]
    events = [BookEvent(ts_ns=time.time_ns(), symbol="BTCUSDT", bids=bids, asks=asks)]
    return SimServer(source=lambda: iter(events), speed=0, push_interval_s=None,
                     loop_data=False, api_keys={KEY: SECRET}, balance=Decimal("100000"))


def limit_buy(qty: Decimal, price: Decimal) -> OrderRequest:
    return OrderRequest(symbol="BTCUSDT", side=Side.BUY, qty=qty, price=price,
                        order_type=OrderType.LIMIT)


def on_grid(spec: ContractSpec, qty: str, price: str) -> OrderRequest:
    """The order a strategy wants, rounded down onto ``spec``'s grids."""
    return limit_buy(Decimal(qty).quantize(spec.qty_step, ROUND_DOWN),
                     Decimal(price).quantize(spec.tick_size, ROUND_DOWN))


def change_contract(sim: SimServer, **changes: object) -> None:
    contracts = sim.engine.contracts
    contracts["BTCUSDT"] = dataclasses.replace(contracts["BTCUSDT"], **changes)


async def test_a_precision_change_refuses_once_then_orders_use_the_new_step() -> None:
    async with sim_server() as sim, BitunixREST(
            Credentials(KEY, SECRET), RestConfig(base_url=sim.rest_url, max_retries=0)) as rest:
        sim.advance(1)
        cache = SpecCache.for_rest(rest, spec_ttl_s=3600.0)
        ack = await place_fresh(rest, cache, "BTCUSDT",
                                lambda s: on_grid(s, "0.0025", "59000.15"))
        assert ack.client_id
        assert (await cache.spec("BTCUSDT")).qty_decimals == 4
        assert cache.stats.reads == 1

        change_contract(sim, base_precision=3)  # the venue's step is now 0.001
        with pytest.raises(ExchangeError) as refused:
            await place_fresh(rest, cache, "BTCUSDT", lambda s: on_grid(s, "0.0025", "59000.15"))
        assert refused.value.code == 10002
        assert refused.value.executed is False
        assert cache.cached("BTCUSDT") is None  # invalidated: nothing built from it again
        assert cache.stats.invalidations == 1

        sent: list[OrderRequest] = []

        def build(spec: ContractSpec) -> OrderRequest:
            sent.append(on_grid(spec, "0.0025", "59000.15"))
            return sent[-1]

        await place_fresh(rest, cache, "BTCUSDT", build)
        assert cache.stats.reads == 2  # re-read before the next order
        assert sent[0].qty == Decimal("0.002")  # the new precision
        account = sim.engine.accounts[KEY]
        assert sorted(str(o.qty) for o in account.open_orders.values()) == ["0.002", "0.0025"]


async def test_a_raised_minimum_invalidates_and_a_price_band_refusal_does_not() -> None:
    async with sim_server() as sim, BitunixREST(
            Credentials(KEY, SECRET), RestConfig(base_url=sim.rest_url, max_retries=0)) as rest:
        sim.advance(1)
        cache = SpecCache.for_rest(rest)
        await cache.spec("BTCUSDT")
        # a price far above the band: the spec is not why; it stays
        with pytest.raises(ExchangeError) as band:
            await place_fresh(rest, cache, "BTCUSDT", lambda s: on_grid(s, "0.001", "90000"))
        assert band.value.code == 30014
        assert cache.cached("BTCUSDT") is not None
        change_contract(sim, min_qty=Decimal("0.01"))
        with pytest.raises(ExchangeError) as small:
            await place_fresh(rest, cache, "BTCUSDT", lambda s: on_grid(s, "0.001", "59000"))
        assert small.value.code == 30017
        assert cache.cached("BTCUSDT") is None
        assert (await cache.spec("BTCUSDT")).min_qty == Decimal("0.01")


def _spec(symbol: str, qty_decimals: int = 4) -> ContractSpec:
    return ContractSpec(symbol=symbol, base=symbol[:3], quote="USDT", price_decimals=1,
                        qty_decimals=qty_decimals, min_qty=Decimal("0.0001"))


class Venue:
    """Counts reads; ``delay`` holds every read open so that concurrent misses overlap."""

    def __init__(self) -> None:
        self.spec_reads: list[list[str]] = []
        self.funding_reads = 0
        self.decimals = 4
        self.fail = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def specs(self, symbols: Sequence[str]) -> Mapping[str, ContractSpec]:
        self.spec_reads.append(list(symbols))
        await self.gate.wait()
        if self.fail:
            raise ExchangeError("down", code=10001)
        return {s: _spec(s, self.decimals) for s in symbols if s != "NOPEUSDT"}

    async def funding(self, symbol: str) -> FundingRate:
        self.funding_reads += 1
        return FundingRate(symbol=symbol, funding_rate=Decimal(self.funding_reads) / 100)


async def test_ttl_expiry_reads_again_and_fresh_values_are_hits() -> None:
    venue, clock = Venue(), Clock()
    cache = SpecCache(venue.specs, venue.funding, spec_ttl_s=10.0, funding_ttl_s=2.0,
                      monotonic=clock)
    assert (await cache.specs(["BTCUSDT", "ETHUSDT"]))["ETHUSDT"].symbol == "ETHUSDT"
    clock.t += 9.9
    await cache.spec("BTCUSDT")
    assert venue.spec_reads == [["BTCUSDT", "ETHUSDT"]]
    assert cache.stats.hits == 1
    venue.decimals = 3
    clock.t += 0.1  # 10 s old: expired
    assert cache.cached("BTCUSDT") is None
    assert (await cache.spec("BTCUSDT")).qty_decimals == 3
    assert venue.spec_reads[-1] == ["BTCUSDT"]
    # funding: its own TTL
    first = await cache.funding_rate("BTCUSDT")
    clock.t += 1.9
    assert await cache.funding_rate("BTCUSDT") is first
    clock.t += 0.1
    assert (await cache.funding_rate("BTCUSDT")).funding_rate == Decimal("0.02")
    assert (venue.funding_reads, cache.stats.funding_hits, cache.stats.funding_reads) == (2, 1, 2)


async def test_concurrent_misses_share_one_read_and_a_failed_read_is_not_cached() -> None:
    venue = Venue()
    cache = SpecCache(venue.specs, venue.funding)
    venue.gate.clear()
    waiting = [asyncio.ensure_future(cache.spec("BTCUSDT")) for _ in range(3)]
    await asyncio.sleep(0.01)
    venue.gate.set()
    assert {(await w).symbol for w in waiting} == {"BTCUSDT"}
    assert venue.spec_reads == [["BTCUSDT"]]
    cache.invalidate("BTCUSDT")
    cache.invalidate("BTCUSDT")  # nothing held: not counted twice
    assert cache.stats.invalidations == 1
    venue.fail = True
    venue.gate.clear()
    first = asyncio.ensure_future(cache.spec("BTCUSDT"))
    second = asyncio.ensure_future(cache.spec("BTCUSDT"))
    await asyncio.sleep(0.01)
    venue.gate.set()
    for task in (first, second):
        with pytest.raises(ExchangeError):
            await task
    assert cache.cached("BTCUSDT") is None
    venue.fail = False
    assert (await cache.spec("BTCUSDT")).symbol == "BTCUSDT"
    with pytest.raises(KeyError, match="NOPEUSDT"):
        await cache.spec("NOPEUSDT")


def test_only_contract_change_codes_invalidate() -> None:
    venue = Venue()
    cache = SpecCache(venue.specs, venue.funding)
    assert {10002, 20012, 30013, 30016, 30017, 30039} == SPEC_CHANGE_CODES
    for code in (30014, 30015, 20003, 30018, 10007):
        assert not cache.on_refusal("BTCUSDT", code)
    assert cache.on_refusal("BTCUSDT", 30016)
