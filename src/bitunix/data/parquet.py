"""Market events in Parquet (pyarrow, the ``research`` extra): written by
``bitunix-bot record convert``, read back by :func:`iter_parquet`.

The events table, one row per event (:data:`EVENTS_SCHEMA`):

=========  ==========================================  ==================================
column     type                                        holds
=========  ==========================================  ==================================
ts_ns      int64                                       receive time, epoch nanoseconds
symbol     string                                      e.g. ``BTCUSDT``
kind       string                                      ``trade`` or ``book``
price      string (null for a book)                    the trade's price, exact text
qty        string (null for a book)                    the trade's quantity, exact text
is_buy     bool (null for a book)                      the aggressor bought
bids       list<struct<price: string, qty: string>>    a book's bids, best first (null
                                                       for a trade; null = no levels)
asks       list<struct<price: string, qty: string>>    a book's asks, best first
=========  ==========================================  ==================================

Prices and quantities are strings so they stay exact (the venue's decimal text, as a
``Decimal`` or integer ticks read it). Rows are written in row groups of
:data:`ROW_GROUP_ROWS` and read a batch at a time, so neither side holds a whole file.

A plain trades table is read too: columns ``timestamp``, ``price``, ``qty``, ``side``
(``buy``/``sell``) and an optional ``symbol``; ``timestamp`` an integer epoch count (ms, us
or ns by magnitude), an Arrow timestamp or ISO-8601 text; ``price``/``qty`` strings,
decimals, integers or floats (a float is taken at its shortest repr).

Every row is checked as the other readers check a line; a :class:`ParquetError` names the
file, the row (counting from 1) and the bad value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bitunix.data.events import (
    MAX_PRICE,
    MAX_QTY,
    BookEvent,
    MarketEvent,
    TradeEvent,
    check_amount,
    check_level,
    check_ts,
)
from bitunix.data.lines import DataFileError
from bitunix.data.timestamps import IsoParser, to_ns, unit_of

__all__ = [
    "EVENT_COLUMNS",
    "ROW_GROUP_ROWS",
    "TRADE_COLUMNS",
    "ParquetError",
    "events_schema",
    "iter_parquet",
    "write_parquet",
]

#: Rows per row group (and per batch read): about 10 MB of books in memory at most.
ROW_GROUP_ROWS = 65_536
EVENT_COLUMNS = ("ts_ns", "symbol", "kind", "price", "qty", "is_buy", "bids", "asks")
TRADE_COLUMNS = ("timestamp", "price", "qty", "side")
_FORMAT_KEY = b"bitunix.format"
_FORMAT = b"market-events/1"


class ParquetError(DataFileError):
    """A Parquet file that cannot be read or written (its file and, for a bad row, the row)."""


def _pyarrow() -> tuple[Any, Any, Any]:
    try:
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
        import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - the test extra has it
        raise ParquetError("Parquet needs pyarrow: pip install 'bitunix-bot[research]'") from None
    return pa, pc, pq


def events_schema() -> Any:
    """The Arrow schema of the events table (with its format tag in the metadata)."""
    pa, _, _ = _pyarrow()
    level = pa.struct([("price", pa.string()), ("qty", pa.string())])
    return pa.schema([
        ("ts_ns", pa.int64()), ("symbol", pa.string()), ("kind", pa.string()),
        ("price", pa.string()), ("qty", pa.string()), ("is_buy", pa.bool_()),
        ("bids", pa.list_(level)), ("asks", pa.list_(level)),
    ], metadata={_FORMAT_KEY: _FORMAT})


class _Columns:
    """One row group being gathered, column by column."""

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.symbol: list[str] = []
        self.kind: list[str] = []
        self.price: list[str | None] = []
        self.qty: list[str | None] = []
        self.is_buy: list[bool | None] = []
        # Each side: the levels of every row flattened, the row offsets, which rows are null.
        self.levels: tuple[list[str], list[str], list[int], list[bool]] = ([], [], [0], [])
        self.ask_levels: tuple[list[str], list[str], list[int], list[bool]] = ([], [], [0], [])

    def add(self, event: MarketEvent) -> None:
        self.ts.append(event.ts_ns)
        self.symbol.append(event.symbol)
        if isinstance(event, TradeEvent):
            self.kind.append("trade")
            self.price.append(event.price)
            self.qty.append(event.qty)
            self.is_buy.append(event.is_buy)
            for side in (self.levels, self.ask_levels):
                side[2].append(side[2][-1])
                side[3].append(True)
            return
        self.kind.append("book")
        self.price.append(None)
        self.qty.append(None)
        self.is_buy.append(None)
        for side, levels in ((self.levels, event.bids), (self.ask_levels, event.asks)):
            prices, qtys, offsets, nulls = side
            for price, qty in levels:
                prices.append(price)
                qtys.append(qty)
            offsets.append(len(prices))
            nulls.append(False)

    def table(self, schema: Any) -> Any:
        pa, _, _ = _pyarrow()

        def side(levels: tuple[list[str], list[str], list[int], list[bool]]) -> Any:
            prices, qtys, offsets, nulls = levels
            values = pa.StructArray.from_arrays(
                [pa.array(prices, pa.string()), pa.array(qtys, pa.string())],
                names=["price", "qty"])
            return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values,
                                            mask=pa.array(nulls, pa.bool_()))

        return pa.Table.from_arrays([
            pa.array(self.ts, pa.int64()), pa.array(self.symbol, pa.string()),
            pa.array(self.kind, pa.string()), pa.array(self.price, pa.string()),
            pa.array(self.qty, pa.string()), pa.array(self.is_buy, pa.bool_()),
            side(self.levels), side(self.ask_levels),
        ], schema=schema)


def write_parquet(events: Iterable[MarketEvent], path: str | Path, *,
                  row_group_rows: int = ROW_GROUP_ROWS) -> int:
    """Write ``events`` to ``path`` as the events table (zstd); return the rows written.

    Memory holds one row group. A file that cannot be written is a :class:`ParquetError`.
    """
    _, _, pq = _pyarrow()
    path = Path(path)
    schema = events_schema()
    rows = 0
    try:
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            group = _Columns()
            for event in events:
                group.add(event)
                if len(group.ts) >= row_group_rows:
                    writer.write_table(group.table(schema), row_group_size=row_group_rows)
                    rows += len(group.ts)
                    group = _Columns()
            if group.ts or not rows:
                writer.write_table(group.table(schema), row_group_size=row_group_rows)
                rows += len(group.ts)
    except OSError as exc:
        raise ParquetError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return rows


#: Rows turned into Python objects at a time when reading: small batches keep a replay's
#: peak memory low (a million-trade backtest: 65,536 -> 8,192 rows saved about 25 MiB).
READ_BATCH_ROWS = 8_192


def iter_parquet(path: str | Path, *, symbol: str | None = None,
                 batch_rows: int = READ_BATCH_ROWS) -> Iterator[MarketEvent]:
    """Yield the events of an events table or the trades of a trades table, in row order.

    ``symbol`` keeps only that symbol's events; a trades table without a ``symbol`` column
    takes it from the file's name, else from ``symbol`` (as a trade CSV does). Reads
    ``batch_rows`` rows at a time.
    """
    _, _, pq = _pyarrow()
    path = Path(path)
    wanted = symbol.upper() if symbol else None
    try:
        file = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...: all say "not Parquet"
        raise ParquetError(f"{path}: not a readable Parquet file ({exc})") from None
    names = set(file.schema_arrow.names)
    with file:
        reader: _Rows
        if set(EVENT_COLUMNS) <= names:
            reader = _EventRows(path, wanted)
            columns = list(EVENT_COLUMNS)
        elif set(TRADE_COLUMNS) <= names:
            reader = _TradeRows(path, wanted, has_symbol="symbol" in names)
            columns = [*TRADE_COLUMNS, *(["symbol"] if "symbol" in names else [])]
        else:
            raise ParquetError(
                f"{path}: columns {sorted(names)} are neither the events table "
                f"({', '.join(EVENT_COLUMNS)}) nor a trades table ({', '.join(TRADE_COLUMNS)}"
                "[, symbol])")
        batches = file.iter_batches(batch_size=batch_rows, columns=columns, use_threads=False)
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:  # a corrupt or truncated page
                raise ParquetError(f"{path}: row {reader.row + 1}: cannot read: {exc}") from None
            if batch is None:
                return
            yield from reader.rows(batch)


class _Rows:
    """What the two table readers share: row numbers, time order, the error."""

    def __init__(self, path: Path, wanted: str | None) -> None:
        self.path = path
        self.wanted = wanted
        self.row = 0  # rows read before the current batch
        self.last_ns = 0

    def rows(self, batch: Any) -> Iterator[MarketEvent]:
        """The events of one record batch (rows counted on)."""
        raise NotImplementedError

    def error(self, index: int, what: str) -> ParquetError:
        return ParquetError(f"{self.path}: row {self.row + index + 1}: {what}")

    def check_times(self, ts: list[int | None]) -> None:
        """Every time present, an int64 epoch time, and none before the one before it."""
        last = self.last_ns
        for i, ts_ns in enumerate(ts):
            if ts_ns is None:
                raise self.error(i, "no timestamp (null)")
            if ts_ns < last or ts_ns < 0:
                try:
                    check_ts(ts_ns, last)
                except ValueError as exc:
                    raise self.error(i, str(exc)) from None
            last = ts_ns
        self.last_ns = last


def _float_values(values: Any) -> Any:
    """The float64 values of an Arrow array as a numpy view of its data buffer (a null's
    slot holds whatever the buffer holds). Read from the buffer: pyarrow's own
    conversions to and from Python import pandas, 45 MiB of a replay's memory."""
    import numpy as np

    data = values.buffers()[1]
    if data is None:
        return np.empty(0)
    return np.frombuffer(data, dtype=np.float64, count=len(values) + values.offset)[
        values.offset:]


def _valid_slots(values: Any) -> Any:
    """A numpy bool per slot: not null."""
    import numpy as np

    bitmap = values.buffers()[0]
    n = len(values)
    if bitmap is None or not values.null_count:
        return np.ones(n, dtype=bool)
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[values.offset:values.offset + n].astype(bool)


def _numbers_ok(pc: Any, pa: Any, texts: Any, *, zero_ok: bool, limit: float,
                rows: Any = None) -> bool:
    """True if every value of a text column (only ``rows``, a numpy mask, when given) is a
    number, not null, above zero (or at zero when ``zero_ok``) and at most ``limit``;
    NaN fails. False sends the caller to the row loop, which names the bad value."""
    try:
        values = pc.cast(texts, pa.float64())
    except Exception:  # text that is not a number: found and named by the row loop
        return False
    numbers = _float_values(values)
    valid = _valid_slots(values)
    if rows is not None:
        numbers, valid = numbers[rows], valid[rows]
    if not numbers.size:
        return True
    low = numbers >= 0.0 if zero_ok else numbers > 0.0
    return bool((valid & low & (numbers <= limit)).all())


class _EventRows(_Rows):
    def rows(self, batch: Any) -> Iterator[MarketEvent]:
        import numpy as np

        pa, pc, _ = _pyarrow()
        n = batch.num_rows
        ts = batch.column("ts_ns").to_pylist()
        self.check_times(ts)
        symbols = batch.column("symbol").to_pylist()
        kinds = batch.column("kind").to_pylist()
        prices = batch.column("price").to_pylist()
        qtys = batch.column("qty").to_pylist()
        buys = batch.column("is_buy").to_pylist()
        sides = []
        levels_ok = True
        for name in ("bids", "asks"):
            col = batch.column(name)
            values = col.values
            offsets = col.offsets.to_pylist()
            lp, lq = values.field("price"), values.field("qty")
            levels_ok = (levels_ok
                         and _numbers_ok(pc, pa, lp, zero_ok=False, limit=MAX_PRICE)
                         and _numbers_ok(pc, pa, lq, zero_ok=True, limit=MAX_QTY))
            # A null side (a trade's) has no levels: offsets i and i + 1 are equal.
            sides.append((offsets, lp.to_pylist(), lq.to_pylist()))
        trade_rows = np.fromiter((k == "trade" for k in kinds), dtype=bool, count=n)
        trades_ok = (_numbers_ok(pc, pa, batch.column("price"), zero_ok=False,
                                 limit=MAX_PRICE, rows=trade_rows)
                     and _numbers_ok(pc, pa, batch.column("qty"), zero_ok=False,
                                     limit=MAX_QTY, rows=trade_rows))
        (bo, bp, bq), (ao, ap, aq) = sides
        wanted = self.wanted
        if (trades_ok and wanted is None and bool(trade_rows.all()) and all(symbols)
                and not any(batch.column(c).null_count for c in ("price", "qty", "is_buy"))):
            # A batch of valid trades only (trade-only data): built in one pass.
            yield from map(TradeEvent, ts, symbols, prices, qtys, buys)
            self.row += n
            return
        for i in range(n):
            sym, kind = symbols[i], kinds[i]
            if sym is None or not sym:
                raise self.error(i, "no symbol")
            if kind == "trade":
                price, qty, is_buy = prices[i], qtys[i], buys[i]
                if price is None or qty is None or is_buy is None:
                    raise self.error(i, "a trade without its price, qty or is_buy (null)")
                if not trades_ok:
                    self._check(i, _check_trade, price, qty)
                if wanted is None or sym == wanted:
                    yield TradeEvent(ts[i], sym, price, qty, is_buy)
            elif kind == "book":
                bids = list(zip(bp[bo[i]:bo[i + 1]], bq[bo[i]:bo[i + 1]], strict=True))
                asks = list(zip(ap[ao[i]:ao[i + 1]], aq[ao[i]:ao[i + 1]], strict=True))
                if not levels_ok:
                    self._check(i, _check_book, bids, asks)
                if wanted is None or sym == wanted:
                    yield BookEvent(ts[i], sym, bids, asks)
            else:
                raise self.error(i, f"kind {kind!r} is neither 'trade' nor 'book'")
        self.row += n

    def _check(self, i: int, check: Any, *args: Any) -> None:
        try:
            check(*args)
        except (TypeError, ValueError) as exc:
            raise self.error(i, str(exc)) from None


def _check_trade(price: str, qty: str) -> None:
    check_amount(price, "price", limit=MAX_PRICE)
    check_amount(qty, "quantity", limit=MAX_QTY)


def _check_book(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
    for price, qty in bids + asks:
        check_level(price, qty)


class _TradeRows(_Rows):
    def __init__(self, path: Path, wanted: str | None, *, has_symbol: bool) -> None:
        super().__init__(path, wanted)
        from bitunix.data.csvtrades import symbol_from_name

        self.has_symbol = has_symbol
        self.fixed = None if has_symbol else (symbol_from_name(path) or wanted)
        if not has_symbol and self.fixed is None:
            raise ParquetError(f"{path}: no symbol: the table has no symbol column and the "
                               "file's name none (e.g. BTCUSDT-trades.parquet); give the "
                               "symbol (--data SYMBOL=PATH)")
        self.unit: str | None = None
        self.iso = IsoParser()

    def _times(self, col: Any) -> list[int | None]:
        pa, pc, _ = _pyarrow()
        kind = col.type
        if pa.types.is_timestamp(kind):
            per_unit = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[kind.unit]
            ints = pc.cast(col, pa.int64()).to_pylist()
            return [None if v is None else v * per_unit for v in ints]
        if pa.types.is_integer(kind):
            out: list[int | None] = []
            for i, value in enumerate(col.to_pylist()):
                if value is None:
                    out.append(None)
                    continue
                try:
                    if self.unit is None:
                        self.unit = unit_of(value)
                    out.append(to_ns(value, self.unit))
                except ValueError as exc:
                    raise self.error(i, str(exc)) from None
            return out
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            texts = col.to_pylist()
            out = []
            for i, text in enumerate(texts):
                try:
                    out.append(None if text is None else self.iso(text))
                except ValueError as exc:
                    raise self.error(i, str(exc)) from None
            return out
        raise ParquetError(f"{self.path}: column timestamp of type {kind} is neither an "
                           "integer, a timestamp nor ISO-8601 text")

    def _texts(self, col: Any, name: str) -> list[str | None]:
        pa, _, _ = _pyarrow()
        kind = col.type
        values = col.to_pylist()
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return values  # type: ignore[no-any-return]
        if (pa.types.is_floating(kind) or pa.types.is_integer(kind)
                or pa.types.is_decimal(kind)):
            return [None if v is None else _number_text(v) for v in values]
        raise ParquetError(f"{self.path}: column {name} of type {kind} is not a number")

    def rows(self, batch: Any) -> Iterator[MarketEvent]:
        n = batch.num_rows
        ts = self._times(batch.column("timestamp"))
        self.check_times(ts)
        prices = self._texts(batch.column("price"), "price")
        qtys = self._texts(batch.column("qty"), "qty")
        sides = batch.column("side").to_pylist()
        symbols = batch.column("symbol").to_pylist() if self.has_symbol else None
        wanted, fixed = self.wanted, self.fixed
        if fixed is not None and wanted is not None and fixed != wanted:
            self.row += n
            return
        for i in range(n):
            price, qty, side = prices[i], qtys[i], sides[i]
            try:
                check_amount(price, "price", limit=MAX_PRICE)  # type: ignore[arg-type]
                check_amount(qty, "quantity", limit=MAX_QTY)  # type: ignore[arg-type]
            except ValueError as exc:
                raise self.error(i, str(exc)) from None
            low = side.lower() if isinstance(side, str) else None
            if low not in ("buy", "sell"):
                raise self.error(i, f"side {side!r} is not buy or sell")
            if symbols is None:
                sym = fixed
            else:
                sym = (symbols[i] or "").upper()
                if not sym:
                    raise self.error(i, "no symbol")
                if wanted is not None and sym != wanted:
                    continue
            yield TradeEvent(ts[i], sym, price, qty, low == "buy")  # type: ignore[arg-type]
        self.row += n


def _number_text(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'nan' / 'inf': refused by the check, quoted as they are
    return str(value)
