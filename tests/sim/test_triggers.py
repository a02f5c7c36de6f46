"""Trigger rules: stop-type names and which leg fires at a price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.sim.errors import SimError
from bitunix.sim.state import SimTpSl
from bitunix.sim.triggers import fired_leg, opt_decimal, stop_type

D = Decimal


def tpsl(side: str, **kw: object) -> SimTpSl:
    return SimTpSl(tpsl_id="1", uid="u", symbol="BTCUSDT", position_id="p", pos_side=side,
                   kind="TPSL", ctime_ns=0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("given", "expected"), [
    ("LAST", "LAST_PRICE"), ("Last", "LAST_PRICE"), ("last_price", "LAST_PRICE"),
    ("MARK", "MARK_PRICE"), ("Mark", "MARK_PRICE"), ("MARK_PRICE", "MARK_PRICE"),
])
def test_stop_type_names(given: str, expected: str) -> None:
    assert stop_type(given) == expected


def test_bad_values() -> None:
    with pytest.raises(SimError):
        stop_type("INDEX")
    with pytest.raises(SimError):
        opt_decimal("1")
    assert opt_decimal(None) is None
    assert opt_decimal(D(1)) == D(1)


def test_long_and_short_legs() -> None:
    long_ = tpsl("LONG", tp_price=D("110"), sl_price=D("90"))
    assert [fired_leg(long_, "LAST_PRICE", D(p)) for p in ("100", "110", "90")] == [
        "", "tp", "sl"]
    assert fired_leg(long_, "MARK_PRICE", D("200")) == ""  # other stop type
    short = tpsl("SHORT", tp_price=D("90"), sl_price=D("110"), sl_stop_type="MARK_PRICE")
    assert fired_leg(short, "LAST_PRICE", D("90")) == "tp"
    assert fired_leg(short, "LAST_PRICE", D("120")) == ""
    assert fired_leg(short, "MARK_PRICE", D("110")) == "sl"


def test_trailing_short_follows_the_low() -> None:
    trail = tpsl("SHORT", trail_rate=D("0.1"), sl_stop_type="LAST_PRICE")
    assert [fired_leg(trail, "LAST_PRICE", D(p)) for p in ("100", "80", "87", "88")] == [
        "", "", "", "sl"]
    assert trail.trail_extreme == D("80")
    assert fired_leg(trail, "MARK_PRICE", D("1000")) == ""
