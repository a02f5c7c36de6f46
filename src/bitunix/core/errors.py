"""The root of the project's exception hierarchy.

Every error raised on purpose by bitunix derives from :class:`BitunixError`, so an
embedding bot can catch the whole family in one place. Exchange error codes have their
own subclasses in ``bitunix.exchange.errors``.
"""

from __future__ import annotations


class BitunixError(Exception):
    """Base class of every error bitunix raises on purpose."""


class ConfigError(BitunixError, ValueError):
    """Configuration that cannot be used: unknown key, bad value, missing file."""
