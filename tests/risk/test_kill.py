"""The kill-switch request that travels through the store."""

from __future__ import annotations

import pytest

from bitunix.core.errors import BitunixError
from bitunix.risk.kill import KillRequest, decode_kill_request, encode_kill_request


def test_round_trip_and_unreadable() -> None:
    r = KillRequest(engage=True, flatten=True, reason="ops", ts_ns=7)
    assert decode_kill_request(encode_kill_request(r)) == r
    with pytest.raises(BitunixError, match="unreadable kill-switch request"):
        decode_kill_request('{"engage": "yes"}')
