"""Typed configuration of the exchange clients; defaults are the real hosts and spec values.

Every interval is configurable so tests can run a reconnect cycle in milliseconds against
a server on 127.0.0.1 (or point the clients at the simulator). Every field is checked when
the object is built (directly or by ``msgspec.convert`` from a config file): a bad value
raises :class:`~bitunix.core.errors.ConfigError` naming the key and the value (inside a
``msgspec.ValidationError`` when converting), never a failure later in a socket.
"""

from __future__ import annotations

import re
from typing import ClassVar

import msgspec

from bitunix.core.checks import check_flag, check_number, check_url
from bitunix.core.errors import ConfigError

__all__ = ["RestConfig", "WsConfig"]

# clientId = prefix + "-" + 24 hex characters, within the venue's safe 36 (spec 4.4).
_CLIENT_ID_PREFIX = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,10})")


class RestConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """REST client settings."""

    section: ClassVar[str] = "rest"

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
    # Lookups by clientId before an unconfirmed order is declared not placed (20007 can be
    # transient right after placement, spec 6.5); backoff_base_s.. apart, ~1.5-3 s in all.
    order_lookups: int = 5

    def __post_init__(self) -> None:
        s = self.section
        check_url(f"{s}.base_url", self.base_url, ("http", "https"))
        check_number(f"{s}.timeout_s", self.timeout_s, 0, lo_open=True)
        check_number(f"{s}.connect_timeout_s", self.connect_timeout_s, 0, lo_open=True)
        check_number(f"{s}.max_retries", self.max_retries, 0, 20, integer=True)
        check_number(f"{s}.backoff_base_s", self.backoff_base_s, 0)
        check_number(f"{s}.backoff_max_s", self.backoff_max_s, 0)
        if self.backoff_max_s < self.backoff_base_s:
            raise ConfigError(f"{s}.backoff_max_s must be >= backoff_base_s "
                              f"({self.backoff_base_s!r}), was {self.backoff_max_s!r}")
        check_flag(f"{s}.rate_limits", self.rate_limits)
        check_number(f"{s}.rate_limit_headroom", self.rate_limit_headroom, 0, 1, lo_open=True)
        check_number(f"{s}.connection_limit", self.connection_limit, 1, 1000, integer=True)
        check_number(f"{s}.keepalive_s", self.keepalive_s, 0, lo_open=True)
        if not (isinstance(self.client_id_prefix, str)
                and _CLIENT_ID_PREFIX.fullmatch(self.client_id_prefix)):
            raise ConfigError(f"{s}.client_id_prefix must be 1-11 letters, digits or '-' "
                              f"(the clientId must fit 36 characters), "
                              f"was {self.client_id_prefix!r}")
        check_number(f"{s}.max_clock_skew_ms", self.max_clock_skew_ms, 0, integer=True)
        check_number(f"{s}.order_lookups", self.order_lookups, 1, 20, integer=True)


class WsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """WebSocket client settings (spec 3.3, 5.2)."""

    section: ClassVar[str] = "ws"

    public_url: str = "wss://fapi.bitunix.com/public/"
    private_url: str = "wss://fapi.bitunix.com/private/"
    ping_interval_s: float = 15.0
    pong_timeout_s: float = 10.0
    # 0 turns the stale-feed check off.
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
    # The largest message accepted, fragments reassembled; a larger one drops the socket.
    max_frame_size: int = 16 * 1024 * 1024
    # Recent private-push keys remembered to drop repeats (an LRU of this many keys).
    dedup_keys: int = 4096

    def __post_init__(self) -> None:
        s = self.section
        check_url(f"{s}.public_url", self.public_url, ("ws", "wss"))
        check_url(f"{s}.private_url", self.private_url, ("ws", "wss"))
        for name in ("ping_interval_s", "pong_timeout_s", "connect_timeout_s",
                     "login_timeout_s", "reconnect_base_s", "reconnect_max_s"):
            check_number(f"{s}.{name}", getattr(self, name), 0, lo_open=True)
        for name in ("stale_after_s", "connect_frame_wait_s"):
            check_number(f"{s}.{name}", getattr(self, name), 0)
        if self.reconnect_max_s < self.reconnect_base_s:
            raise ConfigError(f"{s}.reconnect_max_s must be >= reconnect_base_s "
                              f"({self.reconnect_base_s!r}), was {self.reconnect_max_s!r}")
        check_number(f"{s}.reconnect_jitter", self.reconnect_jitter, 0, 1)
        if self.reconnect_jitter == 1:
            raise ConfigError(f"{s}.reconnect_jitter must be < 1 (a zero delay), "
                              f"was {self.reconnect_jitter!r}")
        check_number(f"{s}.max_messages_per_s", self.max_messages_per_s, 1, 10_000, integer=True)
        check_number(f"{s}.max_channels", self.max_channels, 1, integer=True)
        check_number(f"{s}.channels_per_frame", self.channels_per_frame, 1, integer=True)
        if self.channels_per_frame > self.max_channels:
            raise ConfigError(f"{s}.channels_per_frame must be <= max_channels "
                              f"({self.max_channels!r}), was {self.channels_per_frame!r}")
        # 4 KiB: below that even one depth_book15 push would be refused.
        check_number(f"{s}.max_frame_size", self.max_frame_size, 4096, 2**30, integer=True)
        check_number(f"{s}.dedup_keys", self.dedup_keys, 1, 10**6, integer=True)
