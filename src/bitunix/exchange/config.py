"""Typed configuration of the exchange clients; defaults are the real hosts and spec values.

Every interval is configurable so tests can run a reconnect cycle in milliseconds against
a server on 127.0.0.1 (or point the clients at the simulator).
"""

from __future__ import annotations

import msgspec

__all__ = ["RestConfig", "WsConfig"]


class RestConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """REST client settings."""

    base_url: str = "https://fapi.bitunix.com"
    timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    max_retries: int = 3
    backoff_base_s: float = 0.2
    backoff_max_s: float = 5.0
    rate_limits: bool = True
    # Throttle to this fraction of each documented rate, leaving headroom for clock jitter.
    rate_limit_headroom: float = 0.9
    connection_limit: int = 16
    keepalive_s: float = 60.0
    client_id_prefix: str = "bx"
    # Re-estimate the server clock from the HTTP Date header when it is off by more.
    max_clock_skew_ms: int = 2000


class WsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """WebSocket client settings (spec 3.3, 5.2)."""

    public_url: str = "wss://fapi.bitunix.com/public/"
    private_url: str = "wss://fapi.bitunix.com/private/"
    ping_interval_s: float = 15.0
    pong_timeout_s: float = 10.0
    stale_after_s: float = 5.0
    connect_timeout_s: float = 10.0
    login_timeout_s: float = 10.0
    connect_frame_wait_s: float = 2.0
    reconnect_base_s: float = 0.5
    reconnect_max_s: float = 30.0
    reconnect_jitter: float = 0.2
    max_messages_per_s: int = 5
    max_channels: int = 300
    channels_per_frame: int = 50
    max_frame_size: int = 16 * 1024 * 1024
