"""The request/answer codec: what goes into the store comes back the same; anything else
is an error naming what is wrong."""

from __future__ import annotations

import pytest

from bitunix.control import (
    ACTIONS,
    BotInfo,
    BotStatus,
    ControlAnswer,
    decode_answer,
    decode_request,
    encode,
    new_request,
)
from bitunix.control.messages import decode_info, decode_status
from bitunix.core.errors import BitunixError


def test_a_request_round_trips_and_ids_sort_in_arrival_order() -> None:
    first = new_request("order_place", {"symbol": "BTCUSDT", "qty": "0.001"}, who="alice")
    second = new_request("pause")
    assert decode_request(encode(first)) == first
    assert first.who == "alice"
    assert first.args == {"symbol": "BTCUSDT", "qty": "0.001"}
    assert first.id != second.id
    assert first.id < second.id  # the zero-padded time leads the id
    assert second.args == {}
    assert second.who == "operator"


def test_every_action_is_accepted_and_an_unknown_one_refused() -> None:
    for action in sorted(ACTIONS):
        assert decode_request(encode(new_request(action))).action == action
    with pytest.raises(BitunixError, match="unknown control action 'launch'"):
        new_request("launch")
    text = encode(new_request("pause")).replace('"pause"', '"launch"')
    with pytest.raises(BitunixError, match="unknown control action 'launch' in the store"):
        decode_request(text)


@pytest.mark.parametrize("text", ["{not json", "[]", '{"id": "x"}', '{"id": 1, "action": '
                                  '"pause", "ts_ns": 1}'])
def test_an_unreadable_request_is_an_error(text: str) -> None:
    with pytest.raises(BitunixError, match="unreadable control request in the store"):
        decode_request(text)


def test_answers_and_bot_records_round_trip() -> None:
    answer = ControlAnswer(id="1-2-3", ok=False, message="refused", ts_ns=5,
                           detail={"qty": "0.1000"})
    assert decode_answer(encode(answer)) == answer
    info = BotInfo(owner="h:1:2", pid=1, mode="paper", venue="sim", rest_url="http://x",
                   ws_public_url="ws://x/public/", ws_private_url="ws://x/private/",
                   symbols=["BTCUSDT"], started_ns=7, lease_ttl_s=10.0)
    assert decode_info(encode(info)) == info
    assert info.stopped_ns == 0
    status = BotStatus(heartbeat_ns=9, paused=True, kill_switch=False, day_pnl="-1.50")
    assert decode_status(encode(status)) == status
    with pytest.raises(BitunixError, match="unreadable control answer"):
        decode_answer('{"id": "x"}')
    with pytest.raises(BitunixError, match="unreadable bot record"):
        decode_info("{}")
    with pytest.raises(BitunixError, match="unreadable bot status"):
        decode_status("null")
