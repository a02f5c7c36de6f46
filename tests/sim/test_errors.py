"""Exchange error codes and messages."""

from __future__ import annotations

from bitunix.core.errors import BitunixError
from bitunix.sim.errors import MESSAGES, QTY_BELOW_MIN, SIGN_ERROR, SimError


def test_code_message_and_detail() -> None:
    err = SimError(QTY_BELOW_MIN, "qty 0.1 < minTradeVolume 2")
    assert isinstance(err, BitunixError)
    assert err.code == 30017
    assert err.msg == "qty is below the minimum qty: qty 0.1 < minTradeVolume 2"
    assert str(err) == f"[30017] {err.msg}"
    assert SimError(SIGN_ERROR).msg == "Sign signature error"
    assert SimError(99999).msg == "error"


def test_documented_codes_are_listed() -> None:
    for code in (1, 404, 10001, 10002, 10003, 10005, 10006, 10007, 10008, 20003, 20015,
                 20016, 30004, 30013, 30014, 30015, 30016, 30017, 30018, 30019, 30042):
        assert code in MESSAGES
