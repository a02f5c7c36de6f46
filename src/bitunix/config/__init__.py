"""The bot's configuration: one typed TOML file, environment overrides, secrets apart.

``load_config(path, environ)`` returns a validated :class:`BotConfig`; ``resolve_mode``
applies the rule that live trading is never the default. See ``docs/config.md``.
"""

from bitunix.config.bot import (
    BotConfig,
    Mode,
    RunSection,
    SimSection,
    StoreSection,
    TraderSection,
    VenueSection,
    load_config,
    resolve_mode,
)
from bitunix.config.loader import ENV_PREFIX, Secrets, environment, load_secrets

__all__ = [
    "ENV_PREFIX",
    "BotConfig",
    "Mode",
    "RunSection",
    "Secrets",
    "SimSection",
    "StoreSection",
    "TraderSection",
    "VenueSection",
    "environment",
    "load_config",
    "load_secrets",
    "resolve_mode",
]
