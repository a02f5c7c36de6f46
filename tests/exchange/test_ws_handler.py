"""Every push type reaches its handler method; the base handler ignores everything."""

from __future__ import annotations

from bitunix.exchange.ws_handler import ConnState, WsHandler, WsStats, dispatch_table
from bitunix.wire.private import PRIVATE_PUSH_TYPES
from bitunix.wire.public import PUBLIC_PUSH_TYPES, DepthPush


def test_dispatch_covers_every_push_type() -> None:
    h = WsHandler()
    depth_sink = object()
    table = dispatch_table(h, depth_sink)
    assert set(table) == set(PUBLIC_PUSH_TYPES) | set(PRIVATE_PUSH_TYPES)
    for cls, fn in table.items():
        if issubclass(cls, DepthPush):
            assert fn is depth_sink
        else:
            assert fn.__self__ is h  # type: ignore[attr-defined]


def test_base_handler_methods_are_no_ops() -> None:
    h = WsHandler()
    for name in ("on_trade", "on_depth", "on_ticker", "on_tickers", "on_kline", "on_price",
                 "on_order", "on_position", "on_balance", "on_tpsl"):
        assert getattr(h, name)(object()) is None
    assert h.on_batch_end() is None
    assert h.on_state(ConnState.LIVE) is None
    assert h.on_error("x") is None


def test_stats_start_at_zero() -> None:
    s = WsStats()
    assert (s.frames, s.disconnects, s.malformed) == (0, 0, {})
