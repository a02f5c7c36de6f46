"""Defaults follow the spec; unknown keys and bad values are refused, naming the key."""

from __future__ import annotations

import msgspec
import pytest

from bitunix.core.errors import ConfigError
from bitunix.exchange.config import RestConfig, WsConfig


def test_defaults_are_the_real_hosts_and_spec_intervals() -> None:
    rest, ws = RestConfig(), WsConfig()
    assert rest.base_url == "https://fapi.bitunix.com"
    assert ws.public_url == "wss://fapi.bitunix.com/public/"
    assert ws.private_url == "wss://fapi.bitunix.com/private/"
    assert ws.ping_interval_s == 15.0  # spec 5.2: 15-20 s
    assert ws.stale_after_s == 5.0  # spec 5.2: ~5 s without a book push means dead
    assert (ws.max_messages_per_s, ws.max_channels) == (5, 300)  # spec 3.3
    assert rest.rate_limits


def test_config_from_mapping_rejects_unknown_keys() -> None:
    cfg = msgspec.convert({"base_url": "http://127.0.0.1:1", "timeout_s": 1}, RestConfig)
    assert cfg.timeout_s == 1.0
    with pytest.raises(msgspec.ValidationError, match="unknown field `ping_every`"):
        msgspec.convert({"ping_every": 3}, WsConfig)


BAD_VALUES: list[tuple[type[RestConfig] | type[WsConfig], str, object]] = [
        (RestConfig, "base_url", "ftp://x"),
        (RestConfig, "base_url", "https://"),
        (RestConfig, "base_url", "fapi.bitunix.com"),
        (RestConfig, "base_url", "https://fapi.bitunix.com:99999"),
        (RestConfig, "timeout_s", -1.0),
        (RestConfig, "timeout_s", 0.0),
        (RestConfig, "timeout_s", float("nan")),
        (RestConfig, "connect_timeout_s", 0.0),
        (RestConfig, "max_retries", -1),
        (RestConfig, "max_retries", 1000),
        (RestConfig, "backoff_base_s", -0.1),
        (RestConfig, "backoff_max_s", float("inf")),
        (RestConfig, "rate_limit_headroom", 0.0),
        (RestConfig, "rate_limit_headroom", 1.5),
        (RestConfig, "connection_limit", 0),
        (RestConfig, "keepalive_s", -5.0),
        (RestConfig, "client_id_prefix", ""),
        (RestConfig, "client_id_prefix", "has space"),
        (RestConfig, "client_id_prefix", "much-too-long-prefix"),
        (RestConfig, "max_clock_skew_ms", -1),
        (RestConfig, "order_lookups", 0),
        (WsConfig, "public_url", "https://fapi.bitunix.com/public/"),
        (WsConfig, "private_url", "ws:///private/"),
        (WsConfig, "ping_interval_s", 0.0),
        (WsConfig, "pong_timeout_s", -1.0),
        (WsConfig, "stale_after_s", -1.0),
        (WsConfig, "connect_timeout_s", 0.0),
        (WsConfig, "login_timeout_s", float("nan")),
        (WsConfig, "connect_frame_wait_s", -1.0),
        (WsConfig, "reconnect_base_s", 0.0),
        (WsConfig, "reconnect_max_s", -2.0),
        (WsConfig, "reconnect_jitter", 1.5),
        (WsConfig, "reconnect_jitter", 1.0),
        (WsConfig, "max_messages_per_s", 0),
        (WsConfig, "max_channels", 0),
        (WsConfig, "channels_per_frame", 0),
        (WsConfig, "max_frame_size", -1),
        (WsConfig, "max_frame_size", 10),
        (WsConfig, "dedup_keys", 0),
        (RestConfig, "rate_limits", "yes"),
        (RestConfig, "timeout_s", "10"),
        (WsConfig, "max_channels", True),
]


@pytest.mark.parametrize(("cls", "key", "value"), BAD_VALUES)
def test_bad_values_are_refused_naming_the_key_and_value(cls: type, key: str,
                                                         value: object) -> None:
    with pytest.raises(ConfigError) as info:
        cls(**{key: value})
    assert key in str(info.value)
    assert repr(value) in str(info.value)
    # Loading from a mapping refuses it too, with the same message.
    with pytest.raises(msgspec.ValidationError, match=key):
        msgspec.convert({key: value}, cls)


def test_inconsistent_pairs_are_refused() -> None:
    with pytest.raises(ConfigError, match="backoff_max_s"):
        RestConfig(backoff_base_s=2.0, backoff_max_s=1.0)
    with pytest.raises(ConfigError, match="reconnect_max_s"):
        WsConfig(reconnect_base_s=2.0, reconnect_max_s=1.0)
    with pytest.raises(ConfigError, match="channels_per_frame"):
        WsConfig(max_channels=10, channels_per_frame=20)


def test_every_field_is_validated() -> None:
    # A field added without a check would not appear here: keep the tables in step.
    checked = {f"{cls.__name__}.{key}" for cls, key, _ in BAD_VALUES}
    fields = {f"{c.__name__}.{f}" for c in (RestConfig, WsConfig) for f in c.__struct_fields__}
    assert fields == checked


def test_good_edge_values_are_accepted() -> None:
    RestConfig(base_url="http://127.0.0.1:8080", max_retries=0, backoff_base_s=0.0,
               rate_limit_headroom=1.0, max_clock_skew_ms=0)
    WsConfig(public_url="ws://127.0.0.1:1/public/", private_url="wss://h/private/",
             stale_after_s=0.0, connect_frame_wait_s=0.0, reconnect_jitter=0.0)
