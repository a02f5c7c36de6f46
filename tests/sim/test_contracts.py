"""The contract table and its precision checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.sim.contracts import SimContract, default_contracts
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
    btc.check_band(D("1000000"), is_buy=True, mark=None)  # no mark yet: no band
    btc.check_band(D("63000"), is_buy=True, mark=D("60000"))
    for call, code in [
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
