"""The simulator's contract table: tick, step, limits and leverage of each symbol.

Values follow the live ``trading_pairs`` rows (spec 4.1) for the symbols of the bundled
captures; precision errors map to the documented codes (spec 9.3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources

from bitunix.sim.errors import (
    MAX_BUY_PRICE,
    MAX_ORDER_QTY,
    MIN_SELL_PRICE,
    PARAMETER_ERROR,
    QTY_BELOW_MIN,
    QTY_TOO_SMALL,
    TRADING_DISABLED,
    SimError,
)


def on_grid(value: Decimal, decimals: int) -> bool:
    """Whether a finite ``value`` is a whole multiple of ``10^-decimals``, exactly.

    Read from the digits, not by division: ``value % step`` raises ``InvalidOperation``
    once the quotient needs more than the context's 28 digits (a qty of ``1e24``).
    """
    digits, exponent = value.as_tuple()[1:]
    assert isinstance(exponent, int), "finite decimals only"
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return not any(digits) or exponent + trailing_zeros >= -decimals


@dataclass(frozen=True, slots=True)
class SimContract:
    """One perpetual contract as the simulated exchange lists it."""

    symbol: str
    base: str
    quote: str
    base_precision: int
    quote_precision: int
    min_qty: Decimal
    max_limit_qty: Decimal
    max_market_qty: Decimal
    min_leverage: int = 1
    max_leverage: int = 125
    default_leverage: int = 20
    price_protect_scope: Decimal = Decimal("0.05")
    #: Passive-side price limits of ``trading_pairs`` (spec 4.1 lists them without saying
    #: what they mean): the simulator reads them as a buy no lower than
    #: ``mark * (1 + minBuyPriceOffset)`` and a sell no higher than
    #: ``mark * (1 + maxSellPriceOffset)``.
    min_buy_price_offset: Decimal = Decimal("-0.95")
    max_sell_price_offset: Decimal = Decimal("100")
    status: str = "OPEN"
    maintenance_margin_rate: Decimal = Decimal("0.004")
    max_funding_rate_pct: Decimal = Decimal("0.3")
    min_funding_rate_pct: Decimal = Decimal("-0.3")

    @property
    def tick(self) -> Decimal:
        """Price increment, ``10^-quotePrecision``."""
        return Decimal(1).scaleb(-self.quote_precision)

    @property
    def step(self) -> Decimal:
        """Quantity increment, ``10^-basePrecision``."""
        return Decimal(1).scaleb(-self.base_precision)

    def check_tradable(self) -> None:
        """Raise 20012 unless the symbol accepts new orders."""
        if self.status != "OPEN":
            raise SimError(TRADING_DISABLED, f"{self.symbol} is {self.status}")

    def check_qty(self, qty: Decimal, *, market: bool, minimum: bool = True) -> None:
        """Validate step, minimum (unless ``minimum`` is false: the venue's own close of a
        whole position) and maximum of an order quantity."""
        if qty <= 0:
            raise SimError(QTY_TOO_SMALL, f"qty {qty} must be > 0")
        if not on_grid(qty, self.base_precision):
            raise SimError(PARAMETER_ERROR, f"qty {qty} is not a multiple of step {self.step}")
        if minimum and qty < self.min_qty:
            raise SimError(QTY_BELOW_MIN, f"qty {qty} < minTradeVolume {self.min_qty}")
        limit = self.max_market_qty if market else self.max_limit_qty
        if qty > limit:
            raise SimError(MAX_ORDER_QTY, f"qty {qty} > max {limit}")

    def check_price(self, price: Decimal) -> None:
        """Validate sign and tick of a price."""
        if price <= 0:
            raise SimError(PARAMETER_ERROR, f"price {price} must be > 0")
        if not on_grid(price, self.quote_precision):
            raise SimError(PARAMETER_ERROR, f"price {price} is not a multiple of tick {self.tick}")

    def check_band(self, price: Decimal, *, is_buy: bool, mark: Decimal | None) -> None:
        """Keep a limit price inside ``mark * (1 +- priceProtectScope)`` on the side that
        takes liquidity (30014/30015, spec 6.2) and inside the passive-side offsets on the
        other (10002); a symbol with no mark yet is not traded (20012)."""
        if mark is None:
            raise SimError(TRADING_DISABLED, f"{self.symbol} has no mark price yet")
        if is_buy:
            if price > mark * (1 + self.price_protect_scope):
                raise SimError(MAX_BUY_PRICE, str(mark * (1 + self.price_protect_scope)))
            if price < mark * (1 + self.min_buy_price_offset):
                raise SimError(PARAMETER_ERROR, f"price {price} < min buy price "
                               f"{mark * (1 + self.min_buy_price_offset)}")
        else:
            if price < mark * (1 - self.price_protect_scope):
                raise SimError(MIN_SELL_PRICE, str(mark * (1 - self.price_protect_scope)))
            if price > mark * (1 + self.max_sell_price_offset):
                raise SimError(PARAMETER_ERROR, f"price {price} > max sell price "
                               f"{mark * (1 + self.max_sell_price_offset)}")

    def to_rest(self) -> dict[str, object]:
        """The ``trading_pairs`` row of this contract (spec 4.1)."""
        return {
            "symbol": self.symbol,
            "base": self.base,
            "quote": self.quote,
            "minTradeVolume": str(self.min_qty),
            "minBuyPriceOffset": str(self.min_buy_price_offset),
            "maxSellPriceOffset": str(self.max_sell_price_offset),
            "maxLimitOrderVolume": str(self.max_limit_qty),
            "maxMarketOrderVolume": str(self.max_market_qty),
            "basePrecision": self.base_precision,
            "quotePrecision": self.quote_precision,
            "minLeverage": self.min_leverage,
            "maxLeverage": self.max_leverage,
            "defaultLeverage": self.default_leverage,
            "defaultMarginMode": "Cross",
            "priceProtectScope": str(self.price_protect_scope),
            "symbolStatus": self.status,
            "isApiSupported": True,
            "maxFundingRate": str(self.max_funding_rate_pct),
            "minFundingRate": str(self.min_funding_rate_pct),
        }


def default_contracts() -> dict[str, SimContract]:
    """BTCUSDT and ETHUSDT with the live precision of the bundled captures' symbols."""
    return {
        "BTCUSDT": SimContract(
            symbol="BTCUSDT", base="BTC", quote="USDT", base_precision=4, quote_precision=1,
            min_qty=Decimal("0.0001"), max_limit_qty=Decimal("1000"),
            max_market_qty=Decimal("500"),
        ),
        "ETHUSDT": SimContract(
            symbol="ETHUSDT", base="ETH", quote="USDT", base_precision=3, quote_precision=2,
            min_qty=Decimal("0.003"), max_limit_qty=Decimal("1000000"),
            max_market_qty=Decimal("50000"), max_leverage=100,
            maintenance_margin_rate=Decimal("0.005"),
        ),
    }


BUNDLED_CONTRACTS = "bitunix_contracts_2025-07-21.json"


def bundled_contracts() -> dict[str, SimContract]:
    """The 428 USDT-M contracts of a live ``trading_pairs`` capture (see ``SOURCES.md``).

    The capture has precision, minimum and maximum limit quantity and status; the market
    order maximum is taken equal to the limit maximum, leverage and risk fields keep the
    defaults. BTCUSDT and ETHUSDT are those of :func:`default_contracts` (same precision).
    """
    raw = json.loads(resources.files("bitunix.sim").joinpath(BUNDLED_CONTRACTS).read_text())
    out: dict[str, SimContract] = {}
    for symbol, row in sorted(raw["precision_cache"].items()):
        if not symbol.endswith("USDT"):
            continue
        max_qty = Decimal(str(row["maxLimitOrderVolume"]))
        out[symbol] = SimContract(
            symbol=symbol, base=symbol[:-4], quote="USDT",
            base_precision=int(row["basePrecision"]),
            quote_precision=int(row["quotePrecision"]),
            min_qty=Decimal(str(row["minTradeVolume"])), max_limit_qty=max_qty,
            max_market_qty=max_qty, status=str(row.get("symbolStatus", "OPEN")),
        )
    out.update(default_contracts())
    return out
