"""Defaults follow the spec; unknown keys are refused."""

from __future__ import annotations

import msgspec
import pytest

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
