"""The enums accept every spelling the live API has used and reject the rest."""

from __future__ import annotations

import pytest

from bitunix.model.enums import (
    KlineType,
    MarginMode,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    StopType,
    SymbolStatus,
    TimeInForce,
    TpslStatus,
    TradeSide,
)


@pytest.mark.parametrize(
    ("cls", "raw", "member"),
    [
        (Side, "BUY", Side.BUY),
        (Side, "Buy", Side.BUY),
        (Side, "sell", Side.SELL),
        (TradeSide, "open", TradeSide.OPEN),
        (PositionSide, "LONG", PositionSide.LONG),
        (PositionSide, "BUY", PositionSide.LONG),
        (PositionSide, "SELL", PositionSide.SHORT),
        (OrderType, "Limit", OrderType.LIMIT),
        (OrderType, "Market", OrderType.MARKET),
        (TimeInForce, "post_only", TimeInForce.POST_ONLY),
        (TimeInForce, "PostOnly", TimeInForce.POST_ONLY),
        (OrderStatus, "NEW_", OrderStatus.NEW),
        (OrderStatus, "new", OrderStatus.NEW),
        (OrderStatus, "Part_Filled", OrderStatus.PART_FILLED),
        (OrderStatus, "SYSTEM_CANCELED", OrderStatus.SYSTEM_CANCELED),
        (OrderStatus, "CANCELLED", OrderStatus.CANCELED),
        (TpslStatus, "Failed", TpslStatus.FAILED),
        (MarginMode, "Isolation", MarginMode.ISOLATION),
        (MarginMode, "ISOLATED", MarginMode.ISOLATION),
        (PositionMode, "one_way", PositionMode.ONE_WAY),
        (StopType, "Last", StopType.LAST_PRICE),
        (StopType, "MARK", StopType.MARK_PRICE),
        (KlineType, "mark_price", KlineType.MARK_PRICE),
        (SymbolStatus, "PREVIEW", SymbolStatus.PREVIEW),
    ],
)
def test_lenient_parsing(cls: type, raw: str, member: object) -> None:
    assert cls(raw) is member
    assert cls.parse(raw) is member  # type: ignore[attr-defined]


def test_values_are_the_documented_spelling() -> None:
    assert str(OrderStatus("NEW_")) == "NEW"
    assert Side("Buy").value == "BUY"
    assert f"{StopType('Last')}" == "LAST_PRICE"


@pytest.mark.parametrize(("cls", "raw"), [(Side, "LONG"), (OrderStatus, "DONE"),
                                           (OrderType, 1), (TimeInForce, "LONG")])
def test_unknown_values_raise(cls: type, raw: object) -> None:
    with pytest.raises(ValueError, match="is not a valid"):
        cls(raw)


def test_parse_error_lists_valid_values() -> None:
    with pytest.raises(ValueError, match=r"unknown Side 'HOLD'; expected one of BUY, SELL"):
        Side.parse("HOLD")


def test_side_helpers() -> None:
    assert Side.BUY.opposite is Side.SELL
    assert Side.SELL.opposite is Side.BUY
    assert Side.BUY.sign == 1
    assert Side.SELL.sign == -1


def test_order_status_open_and_terminal_partition() -> None:
    open_ = {s for s in OrderStatus if s.is_open}
    assert open_ == {OrderStatus.INIT, OrderStatus.NEW, OrderStatus.PART_FILLED}
    assert all(s.is_terminal != s.is_open for s in OrderStatus)
