"""A read-through cache of contract specs and funding rates, so no order is built from stale
precision.

A spec (tick, step, minimum and maximum quantity, status) read from ``trading_pairs`` is
used for ``spec_ttl_s`` and then read again; a funding rate for ``funding_ttl_s``. A venue
refusal whose code says the order did not fit the contract *as the venue now has it*
drops the symbol's spec at once, so the next order of that symbol is built from a fresh
read, and the refused order is not sent again as it was (:func:`place_fresh`).

The codes that invalidate (:data:`SPEC_CHANGE_CODES`, spec 3.1 and 6.2):

* ``10002`` Parameter Error: the answer (venue and simulator) for a quantity off the
  ``basePrecision`` step or a price off the ``quotePrecision`` tick, i.e. a precision
  change. It also answers other bad parameters, so it may re-read for nothing: one
  ``trading_pairs`` request, cheap next to building orders on a wrong grid.
* ``30016`` / ``30017`` qty too small / below the minimum: ``minTradeVolume`` raised.
* ``30013`` / ``30039`` above the maximum order quantity: ``maxLimitOrderVolume`` /
  ``maxMarketOrderVolume`` lowered.
* ``20012`` the contract does not allow trading: ``symbolStatus`` changed.

Not ``30014`` / ``30015`` (the price band): the band follows the mark price, which a spec
read does not change; nor rejections about positions, balance or TP/SL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from bitunix.exchange.errors import ExchangeError
from bitunix.model import ContractSpec

if TYPE_CHECKING:
    from bitunix.exchange.requests import OrderRequest
    from bitunix.exchange.rest import BitunixREST
    from bitunix.wire.rest import FundingRate, OrderAck

__all__ = ["SPEC_CHANGE_CODES", "SpecCache", "SpecCacheStats", "place_fresh"]

SPEC_CHANGE_CODES = frozenset({10002, 20012, 30013, 30016, 30017, 30039})

_V = TypeVar("_V")


class SpecCacheStats:
    """Counters of one cache (plain ints)."""

    __slots__ = ("funding_hits", "funding_reads", "hits", "invalidations", "reads")

    def __init__(self) -> None:
        self.hits = 0
        #: ``trading_pairs`` requests made (one per batch of stale symbols).
        self.reads = 0
        self.invalidations = 0
        self.funding_hits = 0
        self.funding_reads = 0


class _Entries(Generic[_V]):
    """Values by symbol with the monotonic time each was read."""

    def __init__(self, ttl_s: float, now: Callable[[], float]) -> None:
        self.ttl_s = ttl_s
        self._now = now
        self.values: dict[str, tuple[_V, float]] = {}

    def fresh(self, symbol: str) -> _V | None:
        entry = self.values.get(symbol)
        if entry is None or self._now() - entry[1] >= self.ttl_s:
            return None
        return entry[0]

    def put(self, symbol: str, value: _V) -> None:
        self.values[symbol] = (value, self._now())


class SpecCache:
    """Contract specs and funding rates read through from the venue (see the module docs).

    ``read_specs(symbols)`` and ``read_funding(symbol)`` do the reads (:meth:`for_rest`
    wires a :class:`~bitunix.exchange.rest.BitunixREST`); concurrent misses of a symbol
    share one read. ``monotonic`` is injectable for tests.
    """

    def __init__(
        self,
        read_specs: Callable[[Sequence[str]], Awaitable[Mapping[str, ContractSpec]]],
        read_funding: Callable[[str], Awaitable[FundingRate]],
        *,
        spec_ttl_s: float = 3600.0,
        funding_ttl_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_specs = read_specs
        self._read_funding = read_funding
        self._specs: _Entries[ContractSpec] = _Entries(spec_ttl_s, monotonic)
        self._funding: _Entries[FundingRate] = _Entries(funding_ttl_s, monotonic)
        self._inflight: dict[str, asyncio.Future[Mapping[str, ContractSpec]]] = {}
        self.stats = SpecCacheStats()

    @classmethod
    def for_rest(cls, rest: BitunixREST, *, spec_ttl_s: float = 3600.0,
                 funding_ttl_s: float = 60.0,
                 monotonic: Callable[[], float] = time.monotonic) -> SpecCache:
        """A cache reading ``trading_pairs`` and ``funding_rate`` through ``rest``."""
        return cls(rest.contracts, rest.funding_rate, spec_ttl_s=spec_ttl_s,
                   funding_ttl_s=funding_ttl_s, monotonic=monotonic)

    # -- specs ----------------------------------------------------------------------------

    def cached(self, symbol: str) -> ContractSpec | None:
        """The symbol's spec if one is held and fresh; no I/O."""
        return self._specs.fresh(symbol)

    async def spec(self, symbol: str) -> ContractSpec:
        """The symbol's spec, read from the venue when none is fresh."""
        return (await self.specs([symbol]))[symbol]

    async def specs(self, symbols: Sequence[str]) -> dict[str, ContractSpec]:
        """Specs of ``symbols``; the stale ones read in one request. A symbol the venue
        does not list raises :class:`KeyError` naming it."""
        out: dict[str, ContractSpec] = {}
        stale: list[str] = []
        for symbol in symbols:
            spec = self._specs.fresh(symbol)
            if spec is None:
                stale.append(symbol)
            else:
                self.stats.hits += 1
                out[symbol] = spec
        if stale:
            read = await self._read(stale)
            for symbol in stale:
                if symbol not in read:
                    raise KeyError(f"the venue lists no contract for {symbol}")
                out[symbol] = read[symbol]
        return out

    async def _read(self, symbols: list[str]) -> Mapping[str, ContractSpec]:
        shared = {s: self._inflight[s] for s in symbols if s in self._inflight}
        own = [s for s in symbols if s not in shared]
        result: dict[str, ContractSpec] = {}
        if own:
            future: asyncio.Future[Mapping[str, ContractSpec]] = \
                asyncio.get_running_loop().create_future()
            for s in own:
                self._inflight[s] = future
            try:
                self.stats.reads += 1
                read = await self._read_specs(own)
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()  # retrieved: a waiter-less failure is not "never seen"
                raise
            finally:
                for s in own:
                    if self._inflight.get(s) is future:
                        del self._inflight[s]
            for s, spec in read.items():
                self._specs.put(s, spec)
            future.set_result(read)
            result.update(read)
        for s, pending in shared.items():
            got = await pending
            if s in got:
                result[s] = got[s]
        return result

    def prime(self, specs: Mapping[str, ContractSpec]) -> None:
        """Hold ``specs``, just read elsewhere, as fresh."""
        for symbol, spec in specs.items():
            self._specs.put(symbol, spec)

    def invalidate(self, symbol: str) -> None:
        """Drop the symbol's spec: the next :meth:`spec` reads it again."""
        if self._specs.values.pop(symbol, None) is not None:
            self.stats.invalidations += 1

    def on_refusal(self, symbol: str, code: int) -> bool:
        """A venue refusal of an order of ``symbol`` with ``code``: invalidate when the
        code signals a contract change (:data:`SPEC_CHANGE_CODES`); True if it did."""
        if code not in SPEC_CHANGE_CODES:
            return False
        self.invalidate(symbol)
        return True

    # -- funding --------------------------------------------------------------------------

    async def funding_rate(self, symbol: str) -> FundingRate:
        """The symbol's current funding, read from the venue when none is fresh."""
        rate = self._funding.fresh(symbol)
        if rate is not None:
            self.stats.funding_hits += 1
            return rate
        self.stats.funding_reads += 1
        rate = await self._read_funding(symbol)
        self._funding.put(symbol, rate)
        return rate


async def place_fresh(rest: BitunixREST, cache: SpecCache, symbol: str,
                      build: Callable[[ContractSpec], OrderRequest]) -> OrderAck:
    """Place the order ``build(spec)`` makes from the symbol's cached (or freshly read)
    spec. A refusal that signals a contract change invalidates the spec and is raised:
    the order is not sent again as it was; the caller's next order is built from a fresh
    read of the spec."""
    request = build(await cache.spec(symbol))
    try:
        return await rest.place_order(request)
    except ExchangeError as exc:
        cache.on_refusal(symbol, exc.code)
        raise
