"""``bitunix-bot record``: raw WebSocket frames to rotated gzip parts; ``record convert``:
any market data to Parquet."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bitunix.cli._args import positive_float
from bitunix.core.errors import BitunixError, ConfigError

if TYPE_CHECKING:
    from bitunix.data import MarketEvent
    from bitunix.data.rotating import RotatingRecordingWriter

DEPTH_CHANNELS = ("depth_book1", "depth_book5", "depth_book15")
_SYMBOL = re.compile(r"[A-Z0-9]{2,30}")
#: Seconds the recorder waits after the simulator's data ended, for the last pushes.
DRAIN_S = 1.0


def register(subparsers: Any) -> None:
    """Add the ``record`` command and its ``convert`` subcommand."""
    parser = subparsers.add_parser(
        "record",
        help="record a venue's public WebSocket frames (default: the built-in simulator)",
        description=(
            "Connect to a venue's public WebSocket, subscribe trade and depth for --symbols "
            "and write every frame exactly as received, with its receive time in ns, as "
            "recording lines ('<recv_ts_ns> <frame>') into gzip parts in --out DIR, rotated "
            "by size and time. Default venue: the built-in simulator on 127.0.0.1 replaying "
            "--data (the bundled capture), never the real exchange; --ws-url URL for any "
            "Bitunix-compatible server (wss://fapi.bitunix.com/public/ is the real one). "
            "Stops at --duration, on Ctrl-C (exit 130) or SIGTERM (exit 0), or when the "
            "simulator's data end; the last part is finished either way. "
            "'record convert IN... --out FILE.parquet' converts market data to Parquet."
        ),
    )
    parser.add_argument("--out", dest="out_dir", metavar="DIR",
                        help="directory of the parts (created; required)")
    parser.add_argument("--symbols", default="BTCUSDT", type=str.upper,
                        help="comma-separated symbols (BTCUSDT)")
    parser.add_argument("--ws-url", metavar="URL",
                        help="public WebSocket of a Bitunix-compatible venue (default: the "
                        "built-in simulator)")
    parser.add_argument("--depth-channel", choices=DEPTH_CHANNELS, default="depth_book15",
                        help="depth channel (depth_book15)")
    parser.add_argument("--rotate-mb", type=positive_float, default=64.0,
                        help="start a new part at this compressed size, MiB (64)")
    parser.add_argument("--rotate-s", type=positive_float, default=3600.0,
                        help="start a new part after this many seconds (3600)")
    parser.add_argument("--duration", type=positive_float,
                        help="stop after this many seconds (default: until stopped)")
    parser.add_argument("--data", help="the simulator's market data (any file --data takes "
                        "elsewhere; default: the bundled BTCUSDT capture)")
    parser.add_argument("--speed", type=positive_float, default=1.0,
                        help="the simulator's playback rate (1 = real time)")
    parser.set_defaults(func=run)
    sub = parser.add_subparsers(dest="record_command", metavar="convert")
    convert = sub.add_parser(
        "convert",
        help="convert market data to Parquet",
        description=(
            "Read market data (recordings or the recorder's directories, captures, trade "
            "CSV, Parquet; files, directories or glob patterns, in the order given) and "
            "write one Parquet table of events: ts_ns, symbol, kind (trade/book), price, "
            "qty, is_buy, bids, asks (exact decimal strings). Read back by every command's "
            "--data."
        ),
    )
    convert.add_argument("inputs", nargs="+", metavar="IN", help="market data to convert")
    convert.add_argument("--out", dest="out_file", required=True, metavar="FILE.parquet",
                         help="the Parquet file to write (replaced when done)")
    convert.add_argument("--symbol", type=str.upper, help="only this symbol's events (also "
                         "the symbol of a CSV file that names none)")
    convert.set_defaults(func=run_convert)


def _symbols(text: str, *, sim: bool) -> list[str]:
    symbols = [s.strip() for s in text.split(",") if s.strip()]
    if not symbols:
        raise ConfigError(f"--symbols {text!r}: no symbol")
    for symbol in symbols:
        if not _SYMBOL.fullmatch(symbol):
            raise ConfigError(f"--symbols {text}: {symbol!r} is not a symbol (e.g. BTCUSDT)")
    if sim:
        from bitunix.sim.contracts import bundled_contracts

        contracts = bundled_contracts()
        for symbol in symbols:
            if symbol not in contracts:
                raise ConfigError(f"--symbols {symbol}: not a contract of the simulator")
    return list(dict.fromkeys(symbols))


def _out_dir(text: str | None) -> Path:
    if text is None:
        raise ConfigError("--out DIR is required: the directory of the recording's parts")
    out = Path(text)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {text}: cannot make the directory: "
                          f"{exc.strerror or exc}") from None
    probe = out / ".bitunix-record-probe"
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {text}: cannot write in it: {exc.strerror or exc}") from None
    return out


def _sim_source(data: str | None) -> Callable[[], Iterator[MarketEvent]]:
    """The simulator's events from ``--data``, refused now unless its first event reads."""
    from bitunix.cli._data import no_events_error, peek_first
    from bitunix.data import bundled_capture
    from bitunix.data.files import iter_market_file

    path = bundled_capture() if data is None else data
    if peek_first(iter_market_file(path)) is None:
        raise no_events_error(path, None)
    return lambda: iter_market_file(path)


def run(args: argparse.Namespace) -> int:
    """Record until stopped; print a summary; 130 after Ctrl-C."""
    import asyncio

    out = _out_dir(args.out_dir)
    sim = args.ws_url is None
    symbols = _symbols(args.symbols, sim=sim)
    if not sim:
        from bitunix.core.checks import check_url

        check_url("--ws-url", args.ws_url, ("ws", "wss"))
    source = _sim_source(args.data) if sim else None
    recorder = Recorder(out, symbols, depth_channel=args.depth_channel,
                        rotate_bytes=int(args.rotate_mb * (1 << 20)), rotate_s=args.rotate_s)
    interrupted = asyncio.run(recorder.run(args.ws_url, source, speed=args.speed,
                                           duration_s=args.duration))
    print(recorder.summary(), flush=True)
    for part in recorder.parts:
        print(f"  {part}")
    if interrupted:
        raise KeyboardInterrupt  # after a clean stop: main says "interrupted", exit 130
    return 0


class Recorder:
    """One recording session: the WebSocket client, its raw frames into the writer, the
    stop conditions. ``run`` returns True if stopped by SIGINT."""

    def __init__(self, out: Path, symbols: list[str], *, depth_channel: str = "depth_book15",
                 rotate_bytes: int = 64 << 20, rotate_s: float = 3600.0,
                 flush_s: float = 1.0) -> None:
        self.out = out
        self.symbols = symbols
        self.depth_channel = depth_channel
        self.rotate_bytes = rotate_bytes
        self.rotate_s = rotate_s
        self.flush_s = flush_s
        self.frames = 0
        self.refused = 0
        self.pushes = 0
        self.reconnects = 0
        self.elapsed_s = 0.0
        self.url = ""
        self.why = ""
        self.parts: list[Path] = []
        self.bytes_in = 0
        self.failures: list[BitunixError] = []
        self._writer: RotatingRecordingWriter | None = None

    def _sink(self, recv_ts_ns: int, frame: bytes) -> None:
        """The client's raw_sink: never raises (the client would log a traceback)."""
        from bitunix.data.recording import RecordingError

        writer = self._writer
        if writer is None:
            return
        try:
            writer.write(recv_ts_ns, frame)
            self.frames += 1
        except RecordingError:
            self.refused += 1
            if self.refused == 1:
                import logging

                logging.getLogger("bitunix.cli.record").warning(
                    "a frame with a newline cannot be one recording line: not recorded "
                    "(counted in the summary)")
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self._writer = None  # nothing more is written; the run stops
        self.failures.append(ConfigError(f"--out {self.out}: cannot write the recording: "
                                         f"{exc.strerror or exc}"))

    async def run(self, ws_url: str | None, source: Callable[[], Iterator[MarketEvent]] | None,
                  *, speed: float = 1.0, duration_s: float | None = None) -> bool:
        """Record until ``duration_s``, a signal, a write failure or the end of the
        simulator's data (``ws_url`` None: the simulator serves ``source``)."""
        import asyncio
        import contextlib
        import signal
        import time

        from bitunix.data.rotating import RotatingRecordingWriter
        from bitunix.exchange.config import WsConfig
        from bitunix.exchange.ws import BitunixWS, WsHandler
        from bitunix.sim.server import SimServer

        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        ended = asyncio.Event()
        interrupted = False

        def on_signal(sig: signal.Signals) -> None:
            nonlocal interrupted
            interrupted = interrupted or sig == signal.SIGINT
            self.why = self.why or f"stopped by {sig.name}"
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, on_signal, sig)
        server: SimServer | None = None
        if ws_url is None:
            assert source is not None
            data_source = source

            def watched() -> Iterator[MarketEvent]:
                try:
                    yield from data_source()
                except BitunixError as exc:
                    self.failures.append(exc)
                    stop.set()
                ended.set()

            server = SimServer(source=watched, speed=speed, loop_data=False,
                               wait_for_subscriber=True,
                               push_interval_s=max(0.3 / speed, 0.02))
            await server.start()
            ws_url = server.public_ws_url
            print(f"venue sim: {ws_url} (speed {speed:g})", flush=True)
        self.url = ws_url
        writer = self._writer = RotatingRecordingWriter(
            self.out, rotate_bytes=self.rotate_bytes, rotate_s=self.rotate_s,
            flush_s=self.flush_s)
        config = WsConfig(public_url=ws_url)
        client = BitunixWS(WsHandler(), config, raw_sink=self._sink)
        client.subscribe([(ch, s) for s in self.symbols for ch in ("trade", self.depth_channel)])
        channels = f"trade and {self.depth_channel} of {', '.join(self.symbols)}"
        print(f"recording {channels} from {ws_url} into {self.out}", flush=True)
        started = time.monotonic()
        ticker: asyncio.TimerHandle | None = None

        def tick() -> None:
            nonlocal ticker
            w = self._writer
            if w is not None:
                try:
                    w.tick(time.time_ns())
                except OSError as exc:
                    self._fail(exc)
            if self.failures:
                stop.set()
            ticker = loop.call_later(min(self.flush_s, 1.0), tick)

        tick()
        client.start()
        try:
            live_s = config.connect_timeout_s + 5.0
            if duration_s is not None:
                live_s = min(live_s, duration_s)
            try:
                await client.wait_live(live_s)
            except TimeoutError:
                if not stop.is_set():
                    raise ConfigError(f"--ws-url {ws_url}: not connected and subscribed "
                                      f"within {live_s:g} s") from None
            remaining = None if duration_s is None else duration_s - (time.monotonic() - started)
            await self._wait(stop, ended, duration_s, remaining)
        finally:
            if ticker is not None:
                ticker.cancel()
            await client.close()
            self.reconnects = client.stats.reconnects
            self.pushes = client.stats.messages
            self._writer = None
            try:
                writer.close()
            except OSError as exc:
                self._fail(exc)
            self.parts = list(writer.parts)
            self.bytes_in = writer.bytes_in
            if server is not None:
                await server.stop()
            self.elapsed_s = time.monotonic() - started
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
        if self.failures:
            raise self.failures[0]
        return interrupted

    async def _wait(self, stop: Any, ended: Any, duration_s: float | None,
                    remaining_s: float | None) -> None:
        import asyncio

        async def data_end() -> None:
            await ended.wait()
            await asyncio.sleep(DRAIN_S)  # the pushes already queued by the simulator
            self.why = self.why or "the simulator's market data ended"

        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(data_end())]
        try:
            done, _ = await asyncio.wait(waiters, timeout=remaining_s,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not done:
            self.why = self.why or f"--duration {duration_s:g} s"

    def summary(self) -> str:
        """One line: what was recorded, where, and why it stopped."""
        size = sum(p.stat().st_size for p in self.parts if p.exists())
        refused = f", {self.refused} frames with a newline not recorded" if self.refused else ""
        return (f"recorded {self.frames} frames ({self.pushes} market pushes) from {self.url} "
                f"in {len(self.parts)} parts, {size} bytes compressed from {self.bytes_in}, "
                f"in {self.elapsed_s:.1f} s; {self.reconnects} reconnects{refused}; "
                f"{self.why or 'stopped'}")


def run_convert(args: argparse.Namespace) -> int:
    """Convert the inputs to one Parquet file; print what was written."""
    import contextlib

    from bitunix.data.files import iter_market_files
    from bitunix.data.parquet import write_parquet

    out = Path(args.out_file)
    parent = out.absolute().parent
    if not parent.is_dir():
        raise ConfigError(f"--out {args.out_file}: no directory {parent}")
    resolved = out.resolve()
    for item in args.inputs:
        if Path(item).resolve() == resolved:
            raise ConfigError(f"--out {args.out_file}: is also an input")
    counts = {"trade": 0, "book": 0}
    symbols: set[str] = set()

    def counted() -> Iterator[MarketEvent]:
        from bitunix.data import TradeEvent

        for event in iter_market_files(list(args.inputs), symbol=args.symbol):
            counts["trade" if isinstance(event, TradeEvent) else "book"] += 1
            symbols.add(event.symbol)
            yield event

    partial = out.with_name(f".{out.name}.partial")
    try:
        rows = write_parquet(counted(), partial)
        if not rows:
            what = f" of {args.symbol}" if args.symbol else ""
            raise ConfigError(f"no market events{what} in {' '.join(args.inputs)}")
        partial.replace(out)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    print(f"{rows} events ({counts['trade']} trades, {counts['book']} books; "
          f"{', '.join(sorted(symbols))}) from {len(args.inputs)} inputs to {out} "
          f"({out.stat().st_size} bytes)", flush=True)
    return 0
