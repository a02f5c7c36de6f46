"""``bitunix-bot backtest``: market data through the live trading path, and a report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bitunix.cli._args import non_negative_float, positive_float, seed

_EPILOG = """\
inputs: the recorder's files, captures, Parquet, and trade CSV files (header
timestamp,price,qty,side or id,price,qty,quote_qty,time,is_buyer_maker), several at once
(merged in time order). Outputs in --out: report.json, equity.csv, trades.csv, orders.csv,
equity.png, trades.png, report.html. The same data, configuration and seed write the
same files byte for byte. Exit status: 0 done, 1 the run failed or
its input is bad (one line says which file, line, flag or key), 2 a bad command line."""


def register(subparsers: Any) -> None:
    """Add the ``backtest`` command."""
    parser = subparsers.add_parser(
        "backtest",
        help="replay market data through the live strategy, risk and execution; report",
        description=(
            "Replay market data through the same features, strategies, model, risk and "
            "execution code as `run`, against the simulator's matching engine in process, "
            "on market time, with the order latency, fees, funding and slippage of the "
            "[backtest] configuration section. Writes a report (metrics, curves, trades, "
            "orders, plots, HTML) into --out."
        ),
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", nargs="+", action="extend", metavar="FILE",
                        help="market-data files, directories or globs of recorder parts; "
                        "SYMBOL=FILE names the symbol of a file that has none (default: "
                        "the bundled BTCUSDT capture)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output directory (created; existing report files replaced)")
    parser.add_argument("--config", help="TOML configuration file (every key is optional)")
    parser.add_argument("--seed", type=seed, default=0,
                        help="seed of the run's random draws (latency jitter); default 0")
    parser.add_argument("--symbols", help="comma-separated symbols to trade (default: the "
                        "symbols of the data)")
    parser.add_argument("--interval", type=positive_float, metavar="SECONDS",
                        help="equity sampling interval (backtest.sampling_interval_s)")
    parser.add_argument("--latency-ms", type=non_negative_float,
                        help="decision-to-venue latency (backtest.latency_ms)")
    parser.add_argument("--models-dir", help="model registry (default: ./models, else the "
                        "model shipped with the package)")
    parser.add_argument("--mode", choices=("full", "features", "screen"), default="full",
                        help="full: the whole trading path (default); features: decode and "
                        "features only, for feature studies (report.json: each feature's "
                        "range, no orders); screen: the vectorised research screen of the "
                        "configured rule over the trades (float PnL, a simplified fill "
                        "model: for screening before a full run, see docs/research.md)")
    parser.add_argument("--no-plots", action="store_true",
                        help="skip the PNG plots and the HTML report")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", default=None,
                          help="show a progress bar (default: when stderr is a terminal)")
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the backtest, write its outputs, print a summary; return the exit code."""
    import os
    import tempfile

    # Parquet batches are read and dropped one after another: the system allocator gives
    # their memory back, where pyarrow's default pool keeps it (about 20 MiB on a million
    # trades). Read by pyarrow when it is first imported; a user's setting wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

    from bitunix.app.backtest import market_events, run_backtest
    from bitunix.backtest.report import build_report, write_outputs
    from bitunix.cli.run import with_models_dir
    from bitunix.config import environment, load_config
    from bitunix.core.errors import ConfigError
    from bitunix.data import bundled_capture

    sources = [_source(text) for text in (args.data or [str(bundled_capture())])]
    files = [path for path, _ in sources]
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {args.out!r}: exists and is not a directory")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {args.out!r}: directory {out.parent} does not exist")
    overrides: dict[str, object] = {}
    if args.interval is not None:
        overrides["backtest.sampling_interval_s"] = args.interval
    if args.latency_ms is not None:
        overrides["backtest.latency_ms"] = args.latency_ms
    try:
        config = load_config(Path(args.config) if args.config else None, environment(),
                             overrides=overrides)
    except ConfigError as exc:
        for key, flag, value in (("backtest.sampling_interval_s", "--interval", args.interval),
                                 ("backtest.latency_ms", "--latency-ms", args.latency_ms)):
            if value is not None and f"key {key}:" in str(exc):
                raise ConfigError(f"{flag} {value!r}: {str(exc).split(f'key {key}: ')[-1]}"
                                  ) from None
        raise
    symbols = None
    if args.symbols is not None:
        symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
        bad = [s for s in symbols if not (s.isascii() and s.isalnum() and s.isupper())]
        if not symbols or bad:
            raise ConfigError(f"--symbols {args.symbols!r}: not a comma-separated list of "
                              "upper-case symbols like BTCUSDT")
    if args.mode == "features":
        return _features_only(sources, out, symbols, config.backtest.derived_book_ms)
    if args.mode == "screen":
        return _screen(sources, out, symbols, config)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    bar = _progress_bar() if show else None
    with tempfile.TemporaryDirectory(prefix="bitunix-models-") as scratch:
        config = with_models_dir(config, args.models_dir, Path(scratch))
        try:
            result = run_backtest(
                market_events(sources), config, seed=args.seed, symbols=symbols,
                progress=None if bar is None else bar.update_to)
        finally:
            if bar is not None:
                bar.close()
    inputs = report_inputs(result, files, args.seed, config)
    report = build_report(inputs)
    try:
        written = write_outputs(out, inputs, report, plots=not args.no_plots)
    except OSError as exc:
        raise ConfigError(f"--out {args.out!r}: cannot write the report: "
                          f"{exc.strerror or exc}") from None
    rate = result.events / result.wall_s if result.wall_s > 0 else 0.0
    print(f"bitunix-bot backtest: {result.events} events ({result.trades} trades, "
          f"{result.books} books) of {', '.join(result.symbols)} in {result.wall_s:.2f} s "
          f"({rate:,.0f} events/s)")
    print(f"orders {report['orders']}, fills {report['fills']}, round trips "
          f"{report['trades']}; pnl {report['pnl']} USDT (fees {report['fees']}, funding "
          f"{report['funding']}); return {_pct(report['total_return'])}, sharpe "
          f"{_fmt(report['sharpe'])}, max drawdown {_pct(report['max_drawdown'])}")
    for note in report["notes"]:
        print(f"note: {note}")
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"wrote {', '.join(p.name for p in written)} to {out}")
    return 1 if result.errors else 0


def _features_only(sources: list[tuple[Path, str | None]], out: Path,
                   symbols: list[str] | None, derived_book_ms: float) -> int:
    """Decode and features only: the live feature engines over the data, in C, and a
    summary of every feature in ``report.json``."""
    import json
    import time

    from bitunix.app.backtest import market_events
    from bitunix.app.replay import replay_features
    from bitunix.core.errors import ConfigError
    from bitunix.data.books import DerivedBooks
    from bitunix.features import FeatureEngine
    from bitunix.sim.contracts import bundled_contracts

    contracts = bundled_contracts()
    wanted = set(symbols or ())

    def engine_for(symbol: str) -> FeatureEngine:
        contract = contracts.get(symbol)
        if contract is None:
            raise ConfigError(f"no contract is known for {symbol}")
        return FeatureEngine(tick_size=float(contract.tick))

    events = market_events(sources)
    if wanted:
        events = (e for e in events if e.symbol in wanted)
    # Trade-only data: the features need a book, derived as the full mode derives it.
    derived = DerivedBooks(events, {s: c.tick for s, c in contracts.items()},
                           interval_ns=max(1, int(derived_book_ms * 1_000_000)),
                           steps={s: c.step for s, c in contracts.items()})
    started = time.perf_counter()
    summary = replay_features(derived, engine_for)
    wall_s = time.perf_counter() - started
    if not summary.events:
        raise ConfigError("the market data holds no event" + (
            f" of {', '.join(sorted(wanted))}" if wanted else ""))
    report = {
        "mode": "features",
        "data": [p.name for p, _ in sources],
        "events": summary.events,
        "market_trades": summary.trades,
        "books": summary.books,
        "derived_books": dict(sorted(derived.books.items())),
        "rejected": summary.rejected,
        "valid_vectors": summary.valid_vectors,
        "start": summary.first_ts_ns,
        "end": summary.last_ts_ns,
        "features": {
            name: {"min": float(f"{r.low:.12g}"), "max": float(f"{r.high:.12g}"),
                   "mean": float(f"{r.total / summary.valid_vectors:.12g}")}
            for name, r in summary.ranges.items()} if summary.valid_vectors else {},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    rate = summary.events / wall_s if wall_s > 0 else 0.0
    print(f"bitunix-bot backtest --mode features: {summary.events} events "
          f"({summary.trades} trades, {summary.books} books) in {wall_s:.2f} s "
          f"({rate:,.0f} events/s); {summary.valid_vectors} valid feature vectors")
    print(f"wrote report.json to {out}")
    return 0


def _screen(sources: list[tuple[Path, str | None]], out: Path,
            symbols: list[str] | None, config: Any) -> int:
    """The research screen over each file's trades: ``report.json`` (one entry per file)
    and ``screen_trades.csv``."""
    import csv
    import json

    from bitunix.backtest.research import ScreenParams, load_trades, screen
    from bitunix.core.errors import ConfigError
    from bitunix.sim.contracts import bundled_contracts

    if symbols is not None and len(symbols) != 1:
        raise ConfigError(f"--symbols {','.join(symbols)}: the screen takes one symbol")
    contracts = bundled_contracts()
    bt = config.backtest
    rows: list[dict[str, Any]] = []
    out.mkdir(parents=True, exist_ok=True)
    with (out / "screen_trades.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("file", "direction", "entry_ts_ns", "entry_price", "exit_ts_ns",
                         "exit_price", "reason", "net_pnl", "net_bps"))
        for path, own in sources:
            arrays = load_trades(path, symbol=own or (symbols[0] if symbols else None))
            symbol = own or (symbols[0] if symbols else _symbol_of(path))
            contract = contracts.get(symbol) if symbol else None
            tick = float(contract.tick) if contract is not None else 0.01
            params = ScreenParams.from_signal(
                config.signal, fee_bps=float(bt.taker_fee) * 1e4,
                slippage_ticks=float(bt.slippage_ticks), tick_size=tick)
            result = screen(arrays, params)
            rows.append({"data": path.name, "symbol": symbol, **result.summary()})
            t = result.trades
            for i in range(result.n_trades):
                writer.writerow((path.name, int(t["direction"][i]), int(t["entry_ts_ns"][i]),
                                 f"{t['entry_price'][i]:.10g}", int(t["exit_ts_ns"][i]),
                                 f"{t['exit_price'][i]:.10g}", int(t["reason"][i]),
                                 f"{t['net_pnl'][i]:.10g}", f"{t['net_bps'][i]:.6g}"))
    report = {"mode": "screen", "exact": False,
              "note": "float PnL of a simplified fill model (next trade, no book, no model "
                      "gate, no latency or funding); run the full mode for exact figures",
              "files": [{k: v for k, v in row.items() if k not in ("seconds", "events_per_s")}
                        for row in rows]}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for row in rows:
        print(f"bitunix-bot backtest --mode screen: {row['data']}: {row['events']} trades in "
              f"{row['seconds'] * 1000:.1f} ms ({row['events_per_s']:,.0f} events/s); "
              f"{row['trades']} round trips, net {row['net_pnl']:.4f}, hit rate "
              f"{row['hit_rate']:.3f}")
    print(f"wrote report.json, screen_trades.csv to {out}")
    return 0


def _symbol_of(path: Path) -> str | None:
    """The symbol of a file's first event (the screen takes one symbol per file)."""
    from bitunix.data.files import iter_market_file

    first = next(iter(iter_market_file(path)), None)
    return None if first is None else first.symbol


def _source(text: str) -> tuple[Path, str | None]:
    """``PATH`` or ``SYMBOL=PATH`` (the symbol of a file that names none), checked."""
    from bitunix.core.errors import ConfigError

    symbol, sep, rest = text.partition("=")
    named = bool(sep) and symbol.isascii() and symbol.isalnum() and symbol.isupper()
    path = Path(rest if named else text)
    if not path.exists() and not any(c in str(path) for c in "*?["):
        raise ConfigError(f"--data {text!r}: no such file or directory")
    return path, symbol if named else None


def _fmt(value: object) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _pct(value: object) -> str:
    return "n/a" if not isinstance(value, float) else f"{value * 100:.3f}%"


def report_inputs(result: Any, files: list[Path], run_seed: int, config: Any) -> Any:
    """The report's inputs and facts of one run (names, not paths: the folder a file was
    read from does not change the report)."""
    import msgspec

    from bitunix.backtest.report import ReportInputs

    notes = []
    if result.derived_books:
        notes.append("the data has no book for " + ", ".join(
            f"{s} ({n} books derived from trades)" for s, n in result.derived_books.items())
            + ": fills at the touch of a book made from the last trades; depth imbalance "
            "there says nothing about the real book")
    if result.ignored_symbols:
        notes.append("events of symbols not traded were skipped: " + ", ".join(
            f"{s} ({n})" for s, n in sorted(result.ignored_symbols.items())))
    if result.open_positions:
        notes.append(f"positions still open at the end: {result.open_positions}")
    notes.extend(f"error: {e}" for e in result.errors)
    facts = {
        "data": [p.name for p in files],
        "symbols": result.symbols,
        "seed": run_seed,
        "start": result.first_ns,
        "end": result.last_ns,
        "events": result.events,
        "market_trades": result.trades,
        "books": result.books,
        "derived_books": result.derived_books,
        "signals": result.signals,
        "decisions": result.outcomes,
        "denials": result.denials,
        "model": result.model,
        "model_source": result.model_source,
        "venue_model": msgspec.to_builtins(config.backtest),
        "open_positions": result.open_positions,
        "notes": notes,
    }
    return ReportInputs(
        balance=result.balance, sampling_interval_s=result.sampling_interval_s,
        equity=result.equity, notional=result.notional, prices=result.prices,
        orders=result.orders, fills=result.fills, trips=result.trips, fees=result.fees,
        funding=result.funding, final_equity=result.final_equity, facts=facts)


class _Bar:
    """A tqdm bar on stderr fed with the events done so far."""

    def __init__(self) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped]

        self._bar = tqdm(unit=" events", unit_scale=True, file=sys.stderr, leave=False)
        self._done = 0

    def update_to(self, done: int) -> None:
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        self._bar.close()


def _progress_bar() -> _Bar:
    return _Bar()
