"""The contract table and its precision checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.sim.contracts import SimContract, default_contracts, on_grid
from bitunix.sim.errors import SimError

D = Decimal


def test_grid_and_trading_pairs_row() -> None:
    eth = default_contracts()["ETHUSDT"]
    assert (eth.tick, eth.step) == (D("0.01"), D("0.001"))
    row = eth.to_rest()
    assert (row["basePrecision"], row["quotePrecision"], row["minTradeVolume"]) == (3, 2, "0.003")
    assert row["maxLeverage"] == 100
    assert row["symbolStatus"] == "OPEN"


def test_checks() -> None:
    btc: SimContract = default_contracts()["BTCUSDT"]
    btc.check_band(D("63000"), is_buy=True, mark=D("60000"))
    btc.check_band(D("3000"), is_buy=True, mark=D("60000"))       # mark * (1 - 0.95)
    btc.check_band(D("6060000"), is_buy=False, mark=D("60000"))   # mark * (1 + 100)
    for call, code in [
        # no mark yet: the band cannot be checked, the symbol is not traded (was: no band)
        (lambda: btc.check_band(D("1000000"), is_buy=True, mark=None), 20012),
        (lambda: btc.check_band(D("2999.9"), is_buy=True, mark=D("60000")), 10002),
        (lambda: btc.check_band(D("6060000.1"), is_buy=False, mark=D("60000")), 10002),
        (lambda: btc.check_band(D("63000.1"), is_buy=True, mark=D("60000")), 30014),
        (lambda: btc.check_band(D("56999.9"), is_buy=False, mark=D("60000")), 30015),
        (lambda: btc.check_price(D("-1")), 10002),
        (lambda: btc.check_qty(D("600"), market=True), 30013),
        (lambda: btc.check_qty(D("1001"), market=False), 30013),
    ]:
        with pytest.raises(SimError) as info:
            call()
        assert info.value.code == code
    btc.check_qty(D("600"), market=False)


def test_bundled_table_of_428_live_contracts() -> None:
    from bitunix.sim.contracts import bundled_contracts

    table = bundled_contracts()
    assert len(table) == 428
    xrp = table["XRPUSDT"]
    assert (xrp.tick, xrp.step, xrp.min_qty) == (D("0.0001"), D("0.1"), D("2"))
    assert table["BTCUSDT"] == default_contracts()["BTCUSDT"]
    assert sum(c.status != "OPEN" for c in table.values()) == 1


@pytest.mark.parametrize(("value", "decimals", "expected"), [
    ("0.0001", 4, True), ("0.00010", 4, True), ("0.00011", 4, False), ("100", 1, True),
    ("1E+24", 4, True), ("1.00001E+24", 4, True), ("1E-999999", 4, False), ("0", 4, True),
    ("0E-50", 4, True), ("-0.5", 0, False), ("-5", 0, True), ("1234.5", -1, False),
    ("1230", -1, True), ("0.50000000000000001", 4, False),
])
def test_on_grid_reads_the_digits(value: str, decimals: int, expected: bool) -> None:
    assert on_grid(D(value), decimals) is expected


@pytest.mark.parametrize("huge", ["1e24", "1e28", "1e999999", "123456789012345678901234567890"])
def test_checks_of_huge_numbers_answer_codes_not_decimal_errors(huge: str) -> None:
    """``qty % step`` raised decimal.InvalidOperation (HTTP 500) from 1e24 on."""
    btc = default_contracts()["BTCUSDT"]
    with pytest.raises(SimError) as qty:
        btc.check_qty(D(huge), market=False)
    assert qty.value.code == 30013
    btc.check_price(D(huge))  # on the tick and positive: the band refuses it
    with pytest.raises(SimError) as band:
        btc.check_band(D(huge), is_buy=False, mark=D("60000"))
    assert band.value.code == 10002
