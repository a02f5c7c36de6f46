"""ContractSpec rounding and checks, including all 428 real contract precisions."""

from __future__ import annotations

import decimal
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitunix.model.contract import ContractError, ContractSpec
from bitunix.model.enums import OrderType, SymbolStatus

DATA = Path(__file__).parent / "data"


def _load_real() -> dict[str, dict[str, object]]:
    path = next(DATA.glob("contract_precision_428_symbols_*.json"))
    rows: dict[str, dict[str, object]] = json.loads(path.read_text())["precision_cache"]
    return rows


REAL = _load_real()


def _spec_from_row(symbol: str, row: dict[str, object]) -> ContractSpec:
    return ContractSpec(
        symbol=symbol,
        base=symbol.removesuffix("USDT"),
        quote="USDT",
        price_decimals=int(row["quotePrecision"]),  # type: ignore[call-overload]
        qty_decimals=int(row["basePrecision"]),  # type: ignore[call-overload]
        min_qty=Decimal(str(row["minTradeVolume"])),
        max_limit_qty=Decimal(str(row["maxLimitOrderVolume"])),
        status=SymbolStatus(str(row["symbolStatus"])),
    )


def btc() -> ContractSpec:
    return ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                        qty_decimals=4, min_qty=Decimal("0.0001"),
                        max_limit_qty=Decimal("1000"), max_market_qty=Decimal("50"),
                        max_leverage=125)


def test_real_file_has_428_symbols() -> None:
    assert len(REAL) == 428


@pytest.mark.parametrize("symbol", sorted(REAL))
def test_real_contracts(symbol: str) -> None:
    spec = _spec_from_row(symbol, REAL[symbol])
    smallest = spec.min_order_qty
    assert spec.check_qty(smallest) == smallest
    assert smallest >= spec.min_qty
    assert smallest - spec.qty_step < spec.min_qty
    below = smallest - spec.qty_step
    if below > 0:
        with pytest.raises(ContractError, match="below the minimum"):
            spec.check_qty(below)
    half_step = smallest + spec.qty_step / 2
    assert spec.round_qty(half_step) == smallest
    with pytest.raises(ContractError, match="not a multiple of the step"):
        spec.check_qty(half_step)
    assert spec.max_limit_qty is not None
    with pytest.raises(ContractError, match="above the LIMIT maximum"):
        spec.check_qty(spec.max_limit_qty + spec.qty_step)
    price = Decimal("1.23456789012")
    rounded = spec.round_price(price, decimal.ROUND_FLOOR)
    assert rounded <= price < rounded + spec.tick_size
    assert spec.check_price(rounded) == rounded
    assert spec.is_tradable == (REAL[symbol]["symbolStatus"] == "OPEN")


def test_real_btc_eth_grids() -> None:
    btc_spec = _spec_from_row("BTCUSDT", REAL["BTCUSDT"])
    eth = _spec_from_row("ETHUSDT", REAL["ETHUSDT"])
    assert btc_spec.tick_size == Decimal("0.1")
    assert btc_spec.qty_step == Decimal("0.0001")
    assert eth.tick_size == Decimal("0.01")
    assert eth.min_qty == Decimal("0.003")
    assert eth.round_qty(Decimal("0.0049")) == Decimal("0.004")


def test_min_qty_off_its_own_grid_rounds_up() -> None:
    ape = _spec_from_row("APEUSDT", REAL["APEUSDT"])
    assert ape.min_qty == Decimal("2.5")
    assert ape.qty_step == Decimal("1")
    assert ape.min_order_qty == Decimal("3")
    with pytest.raises(ContractError, match="not a multiple of the step 1"):
        ape.check_qty(Decimal("2.5"))
    with pytest.raises(ContractError, match=r"below the minimum 2\.5"):
        ape.check_qty(Decimal("2"))


def test_round_price_modes() -> None:
    spec = btc()
    assert spec.round_price(Decimal("60000.05")) == Decimal("60000.0")
    assert spec.round_price(Decimal("60000.15")) == Decimal("60000.2")
    assert spec.round_price(Decimal("60000.01"), decimal.ROUND_CEILING) == Decimal("60000.1")
    assert spec.round_price(Decimal("60000.09"), decimal.ROUND_FLOOR) == Decimal("60000.0")
    assert spec.price_to_ticks(Decimal("60000.1")) == 600001
    assert spec.format_price(600001) == "60000.1"
    assert spec.format_qty(15) == "0.0015"
    assert spec.qty_to_steps(Decimal("0.0015")) == 15


def test_check_qty_market_maximum() -> None:
    spec = btc()
    assert spec.check_qty(Decimal("60"), OrderType.LIMIT) == Decimal("60")
    with pytest.raises(ContractError, match="above the MARKET maximum 50"):
        spec.check_qty(Decimal("60"), OrderType.MARKET)
    assert spec.max_qty(OrderType.MARKET) == Decimal("50")


def test_check_qty_rejects_non_decimal_and_nan() -> None:
    spec = btc()
    with pytest.raises(ContractError, match="finite Decimal"):
        spec.check_qty(0.001)  # type: ignore[arg-type]
    with pytest.raises(ContractError, match="finite Decimal"):
        spec.check_qty(Decimal("NaN"))
    with pytest.raises(ContractError, match=r"BTCUSDT: qty 0\.00001 is not a multiple"):
        spec.check_qty(Decimal("0.00001"))


def test_check_price_rejects_bad_prices() -> None:
    spec = btc()
    with pytest.raises(ContractError, match="must be > 0"):
        spec.check_price(Decimal("0"))
    with pytest.raises(ContractError, match=r"not a multiple of the tick 0\.1"):
        spec.check_price(Decimal("60000.05"))
    with pytest.raises(ContractError, match="finite Decimal"):
        spec.check_price(Decimal("Infinity"))


def test_check_leverage() -> None:
    spec = btc()
    assert spec.check_leverage(20) == 20
    with pytest.raises(ContractError, match=r"leverage 126 outside 1\.\.125"):
        spec.check_leverage(126)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"price_decimals": 19}, "price_decimals must be in"),
        ({"qty_decimals": -1}, "qty_decimals must be in"),
        ({"min_qty": Decimal(0)}, "min_qty must be > 0"),
        ({"min_leverage": 10, "max_leverage": 5}, "leverage range 10..5 is empty"),
    ],
)
def test_invalid_specs_are_rejected(kwargs: dict[str, object], match: str) -> None:
    base: dict[str, object] = {"symbol": "X", "base": "X", "quote": "USDT", "price_decimals": 1,
                               "qty_decimals": 1, "min_qty": Decimal("0.1")}
    base.update(kwargs)
    with pytest.raises(ContractError, match=match):
        ContractSpec(**base)  # type: ignore[arg-type]


def test_tradable_requires_usdt_open_and_api() -> None:
    assert btc().is_tradable
    spec = ContractSpec(symbol="BTCUSDC", base="BTC", quote="USDC", price_decimals=1,
                        qty_decimals=4, min_qty=Decimal("0.0001"))
    assert not spec.is_tradable
    halted = ContractSpec(symbol="X", base="X", quote="USDT", price_decimals=1, qty_decimals=1,
                          min_qty=Decimal("0.1"), status=SymbolStatus.CANCEL_ONLY)
    assert not halted.is_tradable


@given(st.decimals(min_value=Decimal("0"), max_value=Decimal("1e6"), places=10,
                   allow_nan=False, allow_infinity=False))
def test_round_qty_never_exceeds_request_and_is_on_grid(qty: Decimal) -> None:
    spec = btc()
    rounded = spec.round_qty(qty)
    assert rounded <= qty < rounded + spec.qty_step
    assert rounded == rounded.quantize(spec.qty_step)
