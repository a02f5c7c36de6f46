"""Foundations shared by every layer: the base error type and the clock."""

from bitunix.core.clock import Clock, LiveClock, ManualClock
from bitunix.core.errors import BitunixError, ConfigError

__all__ = ["BitunixError", "Clock", "ConfigError", "LiveClock", "ManualClock"]
