"""Timings and bounds of the execution side, one typed object validated when built.

Durations are seconds of the event loop's clock (``loop.time()``); the market-time parts of
the exits (``max_hold_ns``) travel on the order itself.
"""

from __future__ import annotations

import math

import msgspec

from bitunix.core.errors import ConfigError

__all__ = ["ExecutionSettings"]


class ExecutionSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the order manager waits, retries and confirms.

    * ``ack_timeout_s``: no verdict on a submit (or a cancel) within this -> look the order
      up by client id;
    * ``max_submit_attempts``: sends of one order at most (the first and the resends);
    * ``retry_backoff_s`` / ``retry_backoff_max_s``: the wait before resend ``n`` is
      ``retry_backoff_s * 2**(n-1)`` capped (at least the venue's ``retry_after_s``); the
      same schedule paces failed lookups;
    * ``entry_timeout_s``: an entry still open this long after it was accepted is cancelled
      (what filled is the position); 0 disables;
    * ``silence_s`` / ``silence_max_s``: an open order without any report for
      ``silence_s`` is confirmed by REST, then again after twice as long, up to the max;
    * ``fill_grace_s``: how long a report may run ahead of its fills before they are fetched;
    * ``sweep_interval_s``: period of the timer that checks the above while orders are open;
    * ``reconcile_interval_s``: periodic reconciliation (0: only at start and reconnects);
    * ``drift_grace_s``: a venue position push that disagrees with the local one is checked
      again after this (fills may still be on their way);
    * ``protect_attempts``: tries to attach stop-loss/take-profit before the position is
      closed instead; ``trail_debounce_s``: a burst of trailing-stop moves is one modify;
      ``exit_retry_s``: wait before an exit order that did not close is sent again;
    * ``keep_terminal``: finished orders kept in memory for late reports.
    """

    ack_timeout_s: float = 2.0
    max_submit_attempts: int = 3
    retry_backoff_s: float = 0.25
    retry_backoff_max_s: float = 5.0
    entry_timeout_s: float = 10.0
    silence_s: float = 3.0
    silence_max_s: float = 30.0
    fill_grace_s: float = 0.5
    sweep_interval_s: float = 0.05
    reconcile_interval_s: float = 60.0
    drift_grace_s: float = 1.0
    protect_attempts: int = 3
    trail_debounce_s: float = 0.2
    exit_retry_s: float = 1.0
    keep_terminal: int = 1000

    def __post_init__(self) -> None:
        positive = ("ack_timeout_s", "retry_backoff_s", "retry_backoff_max_s", "silence_s",
                    "silence_max_s", "sweep_interval_s", "exit_retry_s")
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"execution.{name} must be a finite number > 0, was {value!r}")
        for name in ("entry_timeout_s", "fill_grace_s", "reconcile_interval_s",
                     "drift_grace_s", "trail_debounce_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"execution.{name} must be a finite number >= 0, was {value!r}")
        for name in ("max_submit_attempts", "protect_attempts", "keep_terminal"):
            value = getattr(self, name)
            if value < 1:
                raise ConfigError(f"execution.{name} must be >= 1, was {value!r}")

    def backoff(self, attempt: int, retry_after_s: float = 0.0) -> float:
        """Wait before retry ``attempt`` (1 = the first retry)."""
        wait: float = min(self.retry_backoff_s * 2.0 ** max(attempt - 1, 0),
                          self.retry_backoff_max_s)
        return max(wait, retry_after_s)
