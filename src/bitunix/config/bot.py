"""The bot's typed configuration: every key, its default, and the rules of the trading mode.

One :class:`BotConfig` is loaded and validated at start (:func:`load_config`) and handed to
whatever needs a part of it; nothing below ``app`` reads the environment. ``dry_run`` is a
top-level key and defaults to true. See ``docs/config.md`` and
``examples/bitunix-bot.toml``.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec

from bitunix.config.alerting import AlertingSection
from bitunix.config.api import ApiSection
from bitunix.config.backtest import BacktestSection
from bitunix.config.http import HttpSection
from bitunix.config.loader import apply_env, convert_config, read_toml
from bitunix.config.logs import LogSection
from bitunix.config.notify import NotifySection
from bitunix.config.tradingview import TradingViewSection
from bitunix.core.checks import check_url
from bitunix.core.errors import ConfigError
from bitunix.execution.settings import ExecutionSettings
from bitunix.risk.config import RiskConfig
from bitunix.strategy import SignalConfig, StrategySpec
from bitunix.strategy.registry import check_spec

__all__ = [
    "BacktestSection",
    "BotConfig",
    "Mode",
    "RunSection",
    "SimSection",
    "StoreSection",
    "TraderSection",
    "VenueSection",
    "load_config",
    "resolve_mode",
]

_SYMBOL = re.compile(r"[A-Z0-9]{2,30}")


def _positive(section: str, name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"key {section}.{name}: must be a finite number > 0 (was {value!r})")


def _url(section: str, name: str, value: str, schemes: tuple[str, ...]) -> None:
    check_url(f"key {section}.{name}:", value, schemes)


class VenueSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where orders go. ``kind``: ``sim`` (the built-in simulator on 127.0.0.1, the default)
    or ``bitunix`` (the real exchange, or any Bitunix-compatible server at the URLs below).
    ``leverage`` is set per symbol at start (real venue only). ``secrets_file``: an
    owner-only TOML file with ``api_key``/``api_secret``, plain or encrypted (else the
    environment); ``secrets_poll_s``: how often a running bot looks for a new key pair in
    it (0: never). ``spec_ttl_s`` / ``funding_ttl_s``: how long a contract spec / funding
    rate read from the venue is used before it is read again (docs/secrets.md,
    docs/connectivity.md)."""

    kind: Literal["sim", "bitunix"] = "sim"
    rest_url: str = "https://fapi.bitunix.com"
    ws_public_url: str = "wss://fapi.bitunix.com/public/"
    ws_private_url: str = "wss://fapi.bitunix.com/private/"
    margin_coin: str = "USDT"
    leverage: int = 5
    secrets_file: str = ""
    secrets_poll_s: float = 2.0
    spec_ttl_s: float = 3600.0
    funding_ttl_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("secrets_poll_s", "spec_ttl_s", "funding_ttl_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"key venue.{name}: must be a number >= 0 (was {value!r})")
        _url("venue", "rest_url", self.rest_url, ("http", "https"))
        _url("venue", "ws_public_url", self.ws_public_url, ("ws", "wss"))
        _url("venue", "ws_private_url", self.ws_private_url, ("ws", "wss"))
        if not 1 <= self.leverage <= 125:
            raise ConfigError(f"key venue.leverage: must be in 1..125 (was {self.leverage})")


class SimSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The built-in simulator of ``venue.kind = "sim"``. ``data``: a market-data file
    (capture, recording, Parquet, trade CSV), or ``synthetic[:SEED]`` (empty: the bundled
    real BTCUSDT capture); ``speed``: replay rate (20: the 344 s capture in about 17 s);
    ``balance``: starting USDT; ``push_interval_s``: depth snapshot cadence in market
    seconds (the venue's ~0.3 s)."""

    data: str = ""
    speed: float = 20.0
    balance: Decimal = Decimal("10000")
    push_interval_s: float = 0.3

    def __post_init__(self) -> None:
        _positive("sim", "speed", self.speed)
        _positive("sim", "push_interval_s", self.push_interval_s)
        data = self.data
        if data.startswith("synthetic"):
            seed = data.partition(":")[2]
            if data not in ("synthetic", "synthetic:") and (
                    data[9:10] != ":" or not seed.isascii() or not seed.isdigit()):
                raise ConfigError(f"key sim.data: {data!r} is not synthetic or "
                                  "synthetic:SEED with an integer SEED")
        elif data and not Path(data).is_file():
            raise ConfigError(f"key sim.data: no such market-data file: {data}")
        if not (self.balance.is_finite() and self.balance > 0):
            raise ConfigError(f"key sim.balance: must be > 0 (was {str(self.balance)!r})")


class RunSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How long a run lasts and how it watches itself. The run ends after ``duration_s``
    (0: until interrupted), or once no trade arrived for ``idle_stop_s`` (0: never; the
    simulator's data ran out). No trade within ``first_trade_timeout_s`` of subscribing is
    a failed run. ``reconcile_interval_s``: periodic reconciliation with the venue;
    ``model_poll_s``: how often the model registry is checked for a hot swap."""

    duration_s: float = 120.0
    idle_stop_s: float = 3.0
    first_trade_timeout_s: float = 15.0
    depth_channel: Literal["depth_book1", "depth_book5", "depth_book15"] = "depth_book15"
    model_poll_s: float = 1.0
    flatten_on_exit: bool = True

    def __post_init__(self) -> None:
        for name in ("duration_s", "idle_stop_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"key run.{name}: must be a finite number >= 0 "
                                  f"(was {value!r})")
        for name in ("first_trade_timeout_s", "model_poll_s"):
            _positive("run", name, getattr(self, name))


class StoreSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The state store: an SQLite file (WAL). ``path`` empty: ``bitunix-state.sqlite`` in
    the working directory, or ``bitunix-paper.sqlite`` for a paper run (a simulator's
    positions never mix with a real account's). ``lease_ttl_s``: how long the running
    bot's lease lasts without a heartbeat before a standby may take over."""

    path: str = ""
    lease_ttl_s: float = 10.0
    flush_interval_s: float = 0.05

    def __post_init__(self) -> None:
        _positive("store", "lease_ttl_s", self.lease_ttl_s)
        _positive("store", "flush_interval_s", self.flush_interval_s)
        if self.flush_interval_s >= self.lease_ttl_s:
            raise ConfigError("key store.flush_interval_s: must be below store.lease_ttl_s "
                              f"(was {self.flush_interval_s} >= {self.lease_ttl_s})")

    def resolved_path(self, mode: str = "live") -> Path:
        """The database file for a run in ``mode``."""
        if self.path:
            return Path(self.path)
        return Path("bitunix-paper.sqlite" if mode == "paper" else "bitunix-state.sqlite")


class TraderSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How entries go out. ``entry_order``: ``market`` (the default; a MARKET order fills at
    once, as the earlier bot's did) or ``limit_ioc`` (a LIMIT IOC at the signal price plus
    at most ``max_slippage_ticks``: a taker entry with a price cap; what does not fill at
    once is cancelled by the venue)."""

    entry_order: Literal["market", "limit_ioc"] = "market"
    max_slippage_ticks: int = 5

    def __post_init__(self) -> None:
        if self.max_slippage_ticks < 0:
            raise ConfigError(f"key trader.max_slippage_ticks: must be >= 0 "
                              f"(was {self.max_slippage_ticks})")


def _default_signal() -> SignalConfig:
    # The earlier bot's pair: OVIR-X (model-gated) and the model-free mean reversion.
    return SignalConfig(strategies=[StrategySpec(kind="ovirx"),
                                    StrategySpec(kind="mean_reversion")])


class BotConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the bot is told. ``dry_run`` (default true): nothing is ever sent to a
    real venue unless it is false *and* the environment has ``FORCE_LIVE_TRADING=true``."""

    dry_run: bool = True
    symbols: list[str] = msgspec.field(default_factory=lambda: ["BTCUSDT"])
    venue: VenueSection = msgspec.field(default_factory=VenueSection)
    sim: SimSection = msgspec.field(default_factory=SimSection)
    run: RunSection = msgspec.field(default_factory=RunSection)
    store: StoreSection = msgspec.field(default_factory=StoreSection)
    risk: RiskConfig = msgspec.field(default_factory=RiskConfig)
    execution: ExecutionSettings = msgspec.field(default_factory=ExecutionSettings)
    trader: TraderSection = msgspec.field(default_factory=TraderSection)
    signal: SignalConfig = msgspec.field(default_factory=_default_signal)
    backtest: BacktestSection = msgspec.field(default_factory=BacktestSection)
    log: LogSection = msgspec.field(default_factory=LogSection)
    notify: NotifySection = msgspec.field(default_factory=NotifySection)
    http: HttpSection = msgspec.field(default_factory=HttpSection)
    tradingview: TradingViewSection = msgspec.field(default_factory=TradingViewSection)
    alerting: AlertingSection = msgspec.field(default_factory=AlertingSection)
    api: ApiSection = msgspec.field(default_factory=ApiSection)

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ConfigError("key symbols: no symbols")
        for s in self.symbols:
            if not _SYMBOL.fullmatch(s):
                hint = " (symbols are upper case)" if _SYMBOL.fullmatch(s.upper()) else ""
                raise ConfigError(f"key symbols: {s!r} is not a symbol like BTCUSDT{hint}")
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError(f"key symbols: listed twice in {self.symbols}")
        for symbol in self.risk.symbols:
            if symbol not in self.symbols:
                raise ConfigError(f"key risk.symbols.{symbol}: not one of the traded symbols "
                                  f"{self.symbols}")
        for i, spec in enumerate(self.signal.strategies):
            try:
                check_spec(spec)
            except ConfigError as exc:
                raise ConfigError(f"key signal.strategies[{i}]: {exc}") from None


def load_config(path: Path | None, environ: Mapping[str, str], *,
                overrides: Mapping[str, object] | None = None) -> BotConfig:
    """The configuration in ``path`` (None: defaults) with the environment's overrides, then
    ``overrides`` (dotted key -> value, from the command line) on top."""
    data = read_toml(path) if path is not None else {}
    data = apply_env(data, environ)
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    source = f"config file {path}" if path is not None else "configuration"
    if any(k.startswith("BITUNIX_CFG_") for k in environ):
        source += " (with BITUNIX_CFG_* overrides)"
    return convert_config(data, BotConfig, source)


class Mode(enum.StrEnum):
    """What a run does with orders."""

    DRY_RUN = "dry-run"
    PAPER = "paper"
    LIVE = "live"


def resolve_mode(config: BotConfig, environ: Mapping[str, str], *,
                 force_dry_run: bool = False) -> tuple[Mode, str]:
    """The run's mode and why, by the rule that live trading is never the default.

    The built-in simulator gets ``paper`` (its orders move no money). Any other venue gets
    ``live`` only when ``dry_run = false`` *and* ``FORCE_LIVE_TRADING=true``; otherwise
    ``dry-run``: decisions are recorded, nothing is sent.
    """
    if force_dry_run:
        return Mode.DRY_RUN, "--dry-run given"
    if config.venue.kind == "sim":
        return Mode.PAPER, "orders go to the built-in simulator"
    force = environ.get("FORCE_LIVE_TRADING", "").strip().lower() == "true"
    if config.dry_run:
        return Mode.DRY_RUN, "dry_run = true in the configuration (the default)"
    if not force:
        return Mode.DRY_RUN, "dry_run = false but FORCE_LIVE_TRADING=true is not set"
    return Mode.LIVE, "dry_run = false and FORCE_LIVE_TRADING=true"
