"""What a run reports: one typed summary, printed and written as JSON.

A run's summary says what really happened, and its exit code follows from it
(:meth:`RunSummary.exit_code`): handler errors, a feed that never delivered, a failed store,
lost lease or a failed shutdown make a run fail, with the reasons in ``failures``.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from bitunix.core.errors import ConfigError

__all__ = ["RunSummary", "write_summary"]


class RunSummary(msgspec.Struct, kw_only=True):
    """The figures of one ``bitunix-bot run`` (see docs/trading.md for each field).

    Money (``pnl``, ``fees``, ``funding``, ``equity``) is an exact decimal string in the
    margin coin; ``pnl`` is net: realised + unrealised, after fees and funding.
    """

    mode: str
    venue: str
    store: str
    symbols: list[str]
    wall_s: float = 0.0
    messages: int = 0
    decode_errors: int = 0
    handler_errors: int = 0
    reconnects: int = 0
    trades_seen: int = 0
    books_seen: int = 0
    signals: int = 0
    orders: int = 0
    fills: int = 0
    trades: int = 0
    pnl: str = "0"
    fees: str = "0"
    funding: str = "0"
    equity: str = ""
    open_positions: dict[str, str] = msgspec.field(default_factory=dict)
    denials: dict[str, int] = msgspec.field(default_factory=dict)
    rejects: int = 0
    drift_corrections: int = 0
    impossible_transitions: int = 0
    tick_to_order_p50_us: float | None = None
    tick_to_order_p99_us: float | None = None
    signal_to_order_p50_us: float | None = None
    signal_to_order_p99_us: float | None = None
    model: str = ""
    model_status: dict[str, str] = msgspec.field(default_factory=dict)
    store_error: str = ""
    failures: list[str] = msgspec.field(default_factory=list)
    interrupted: bool = False

    def exit_code(self) -> int:
        """0 for a clean run, 130 when interrupted (Ctrl-C), 1 when anything failed."""
        if self.failures:
            return 1
        return 130 if self.interrupted else 0

    def lines(self) -> list[str]:
        """The summary for a terminal."""
        def us(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.1f}"

        out = [
            f"mode {self.mode} on {self.venue}, store {self.store}, ran {self.wall_s:.1f} s",
            f"market: {self.messages} messages ({self.trades_seen} trades, {self.books_seen} "
            f"books), {self.decode_errors} decode errors, {self.handler_errors} handler errors, "
            f"{self.reconnects} reconnects",
            f"trading: {self.signals} signals, {self.orders} orders, {self.fills} fills, "
            f"{self.trades} round trips, {self.rejects} rejects, "
            f"{self.drift_corrections} drift corrections",
            f"pnl {self.pnl} (fees {self.fees}, funding {self.funding})"
            + (f", equity {self.equity}" if self.equity else ""),
            "denials: " + (", ".join(f"{k} {v}" for k, v in sorted(self.denials.items()))
                           or "none"),
            f"tick -> order bytes p50 {us(self.tick_to_order_p50_us)} us, p99 "
            f"{us(self.tick_to_order_p99_us)} us; signal -> order bytes p50 "
            f"{us(self.signal_to_order_p50_us)} us, p99 {us(self.signal_to_order_p99_us)} us",
        ]
        if self.open_positions:
            out.append("open positions: " + ", ".join(
                f"{s} {q}" for s, q in sorted(self.open_positions.items())))
        if self.interrupted:
            out.append("interrupted (Ctrl-C)")
        out.extend(f"FAILED: {f}" for f in self.failures)
        return out


def write_summary(summary: RunSummary, path: Path) -> None:
    """Write ``summary`` as indented JSON to ``path``."""
    try:
        path.write_bytes(msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n")
    except OSError as exc:
        raise ConfigError(f"--summary-json {path}: cannot write: {exc.strerror}") from None
