"""Trade CSV files (plain or gzip) into :class:`~bitunix.data.events.TradeEvent`.

Three shapes are read, told apart by their header (names in any order, case-insensitive):

* ``timestamp,price,qty,side`` (optionally ``symbol``): ``side`` is the aggressor's,
  ``buy`` or ``sell``; ``timestamp`` an epoch count in ms, us or ns, or ISO-8601.
* ``id,price,qty,quote_qty,time,is_buyer_maker`` (optionally ``is_best_match``): the
  Binance trades export. ``is_buyer_maker`` true means the buyer rested, so the aggressor
  sold.
* ``agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker``:
  the Binance aggTrades export, read the same way.

A CSV file names no symbol: it comes from a ``symbol`` column, else the file's name
(``BTCUSDT-trades-2024-08-08.csv`` -> BTCUSDT: the first token of capitals or digits that
ends in USDT), else the caller's ``symbol``. Prices and quantities stay the exact text of
the file. Fields are split at commas (quotes around a field are removed; a comma inside a
field is not supported: no trade export has one).

Every row is checked: a price or quantity that is not a finite number in its bounds, a side
that is neither buy nor sell, a time that is not a time or goes back, a row with the wrong
number of fields: each is a :class:`CsvError` naming the file, line and value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bitunix.data.events import MAX_PRICE, MAX_QTY, TradeEvent, check_amount, check_ts
from bitunix.data.lines import DataFileError, read_lines
from bitunix.data.timestamps import IsoParser, to_ns, unit_of

__all__ = ["HEADERS", "CsvError", "TradeColumns", "iter_csv_trades", "symbol_from_name"]


class CsvError(DataFileError):
    """A trade CSV file that cannot be read (its file and, for a bad row, the line)."""


class TradeColumns:
    """Where the fields of one known header are, and how the side is written."""

    def __init__(self, names: list[str], *, time: str, qty: str, side: str,
                 buyer_maker: bool) -> None:
        self.n = len(names)
        self.time = names.index(time)
        self.price = names.index("price")
        self.qty = names.index(qty)
        self.side = names.index(side)
        self.symbol = names.index("symbol") if "symbol" in names else None
        #: The side column is Binance's ``is_buyer_maker`` (true: the aggressor sold).
        self.buyer_maker = buyer_maker


#: Known headers: (required names, optional names, time, qty, side column, buyer-maker side).
HEADERS: dict[str, tuple[frozenset[str], frozenset[str], str, str, str, bool]] = {
    "trades": (frozenset({"timestamp", "price", "qty", "side"}), frozenset({"symbol"}),
               "timestamp", "qty", "side", False),
    "binance trades": (frozenset({"id", "price", "qty", "quote_qty", "time",
                                  "is_buyer_maker"}), frozenset({"is_best_match"}),
                       "time", "qty", "is_buyer_maker", True),
    "binance aggTrades": (frozenset({"agg_trade_id", "price", "quantity", "first_trade_id",
                                     "last_trade_id", "transact_time", "is_buyer_maker"}),
                          frozenset(), "transact_time", "quantity", "is_buyer_maker", True),
}
_EXPECTED = ("'timestamp,price,qty,side', 'id,price,qty,quote_qty,time,is_buyer_maker' or "
             "'agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
             "is_buyer_maker'")
_SIDES = {"buy": True, "sell": False}
_FLAGS = {"true": True, "false": False, "1": True, "0": False}
_SYMBOL_TOKEN = re.compile(r"[A-Z0-9]*[A-Z][A-Z0-9]*USDT")


def symbol_from_name(path: str | Path) -> str | None:
    """The symbol a file is named after (``BTCUSDT-trades-2024-08-08.csv.gz`` -> BTCUSDT),
    or None: the first token of capitals and digits ending in USDT."""
    for token in re.split(r"[^A-Za-z0-9]+", Path(path).name):
        if _SYMBOL_TOKEN.fullmatch(token):
            return token
    return None


def columns_of(header: str) -> TradeColumns | None:
    """The columns of a known header line, or None."""
    names = [name.strip().strip('"').lower() for name in header.lstrip("\ufeff").split(",")]
    have = set(names)
    if len(have) != len(names):
        return None
    for required, optional, time, qty, side, buyer_maker in HEADERS.values():
        if required <= have <= required | optional:
            return TradeColumns(names, time=time, qty=qty, side=side, buyer_maker=buyer_maker)
    return None


def iter_csv_trades(path: str | Path, *, symbol: str | None = None,
                    truncated_ok: bool = False) -> Iterator[TradeEvent]:
    """Yield the trades of a CSV file in file order.

    ``symbol``: the symbol of a file without a ``symbol`` column or a symbol in its name;
    with either, only that symbol's trades (none if the name says another). ``truncated_ok``
    reads a truncated gzip file up to its last complete line (see :func:`read_lines`).
    Raises :class:`CsvError` naming the file, line and bad value.
    """
    path = Path(path)
    wanted = symbol.upper() if symbol else None
    lines = read_lines(path, error=CsvError, truncated_ok=truncated_ok)
    header_no, header = next(((n, line) for n, line in lines if line.strip()), (0, b""))
    if not header_no:
        raise CsvError(f"no market events in {path}: the file is empty")
    text = header.decode("utf-8", "replace").strip()
    cols = columns_of(text)
    if cols is None:
        raise CsvError(f"{path}:{header_no}: the header {text[:200]!r} is none of the known "
                       f"trade CSV headers: {_EXPECTED}")
    named = symbol_from_name(path)
    fixed = None
    if cols.symbol is None:
        fixed = named or wanted
        if fixed is None:
            raise CsvError(f"{path}: no symbol: the file has no symbol column and its name "
                           "none (e.g. BTCUSDT-trades-2024-08-08.csv); give the symbol "
                           "(--data SYMBOL=PATH)")
        if wanted is not None and fixed != wanted:
            return
    yield from _rows(path, lines, cols, fixed, wanted)


def _rows(path: Path, lines: Iterator[tuple[int, bytes]], cols: TradeColumns,
          fixed: str | None, wanted: str | None) -> Iterator[TradeEvent]:
    n, ti, pi, qi, si, symi = cols.n, cols.time, cols.price, cols.qty, cols.side, cols.symbol
    buyer_maker = cols.buyer_maker
    sides = _FLAGS if buyer_maker else _SIDES
    unit: str | None = None
    iso: IsoParser | None = None
    last_ns = 0
    lineno = 0
    fixed_symbol = fixed or ""
    try:
        for lineno, raw in lines:  # noqa: B007 - lineno names the row in an error
            line = raw.decode("utf-8").strip()
            if not line:
                continue
            fields = line.split(",")
            if len(fields) != n:
                raise ValueError(f"{len(fields)} fields where the header has {n}")
            if '"' in line:
                fields = [f.strip().strip('"') for f in fields]
            ts_text = fields[ti].strip()
            if iso is None and (unit is not None or ts_text.isdigit()):
                if not ts_text.isdigit():
                    raise ValueError(f"timestamp {ts_text!r} is not an epoch count like the "
                                     "first row's")
                value = int(ts_text)
                if unit is None:
                    unit = unit_of(value)
                ts_ns = to_ns(value, unit)
            else:
                iso = iso or IsoParser()
                ts_ns = iso(ts_text)
            check_ts(ts_ns, last_ns)
            last_ns = ts_ns
            price = fields[pi].strip()
            check_amount(price, "price", limit=MAX_PRICE)
            qty = fields[qi].strip()
            check_amount(qty, "quantity", limit=MAX_QTY)
            side_text = fields[si].strip()
            is_buy = sides.get(side_text.lower())
            if is_buy is None:
                expected = "true or false" if buyer_maker else "buy or sell"
                raise ValueError(f"{'is_buyer_maker' if buyer_maker else 'side'} "
                                 f"{side_text!r} is not {expected}")
            if buyer_maker:
                is_buy = not is_buy  # the buyer rested: the aggressor sold
            if symi is None:
                sym = fixed_symbol
            else:
                sym = fields[symi].strip().upper()
                if not sym:
                    raise ValueError("empty symbol")
                if wanted is not None and sym != wanted:
                    continue
            yield TradeEvent(ts_ns, sym, price, qty, is_buy)
    except UnicodeDecodeError:
        raise CsvError(f"{path}:{lineno}: not UTF-8 text (not a CSV file?)") from None
    except ValueError as exc:
        raise CsvError(f"{path}:{lineno}: {exc}") from None
