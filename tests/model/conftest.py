"""Contracts for the trading-type tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bitunix.model import ContractSpec

BTC = ContractSpec(symbol="BTCUSDT", base="BTC", quote="USDT", price_decimals=1,
                   qty_decimals=4, min_qty=Decimal("0.0001"), max_limit_qty=Decimal("500"),
                   max_market_qty=Decimal("100"))


@pytest.fixture
def btc() -> ContractSpec:
    return BTC
