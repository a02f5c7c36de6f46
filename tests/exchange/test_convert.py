"""Wire-to-domain conversions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.exchange.convert import contract_from_pair, decimal_str, position_side_of
from bitunix.model.enums import PositionSide, SymbolStatus
from bitunix.wire.rest import TradingPair


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("1E-7"), "0.0000001"), (Decimal("1E+5"), "100000"), (Decimal("-0"), "0"),
     (Decimal("0.00"), "0.00"), (12, "12"), ("60000.10", "60000.10"), (Decimal("-1.5"), "-1.5")],
)
def test_decimal_str_never_uses_exponents(value: Decimal | int | str, text: str) -> None:
    assert decimal_str(value) == text


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), 1.5, True])
def test_decimal_str_rejects_non_decimals(bad: object) -> None:
    with pytest.raises(ValueError, match="not a finite decimal"):
        decimal_str(bad)  # type: ignore[arg-type]


def test_contract_from_pair_defaults_and_unknown_status() -> None:
    pair = TradingPair(symbol="NEWUSDT", base_precision=0, quote_precision=5,
                       min_trade_volume=Decimal("53"), symbol_status="LISTING_SOON",
                       quote="USDT", base="NEW")
    spec = contract_from_pair(pair)
    assert spec.status is SymbolStatus.STOP
    assert not spec.is_tradable
    assert (spec.min_leverage, spec.max_leverage) == (1, 125)
    assert spec.tick_size == Decimal("0.00001")


@pytest.mark.parametrize(
    ("side", "reduce_only", "expected"),
    [("LONG", None, PositionSide.LONG), ("BUY", None, PositionSide.LONG),
     ("SELL", None, PositionSide.SHORT), ("BUY", False, PositionSide.LONG),
     ("Sell", True, PositionSide.LONG), ("SELL", False, PositionSide.SHORT),
     ("buy", True, PositionSide.SHORT)],
)
def test_position_side_mapping(side: str, reduce_only: bool | None,
                               expected: PositionSide) -> None:
    assert position_side_of(side, reduce_only) is expected
