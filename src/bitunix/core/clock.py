"""Time as a collaborator, so live, simulated and replayed runs share one code path.

Nothing below ``app`` reads the wall clock directly: it is handed a :class:`Clock`.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Source of the current time in nanoseconds since the Unix epoch."""

    def now_ns(self) -> int:
        """Return the current time in nanoseconds since the epoch."""
        ...


class LiveClock:
    """The machine's wall clock."""

    def now_ns(self) -> int:
        """Return ``time.time_ns()``."""
        return time.time_ns()


class ManualClock:
    """A clock that moves only when told to: for replays, backtests and tests."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns

    def now_ns(self) -> int:
        """Return the time last set."""
        return self._now_ns

    def set_ns(self, ts_ns: int) -> None:
        """Move the clock to ``ts_ns``; time never goes backwards."""
        if ts_ns < self._now_ns:
            raise ValueError(f"clock cannot go back: {ts_ns} < {self._now_ns}")
        self._now_ns = ts_ns

    def advance_ns(self, delta_ns: int) -> None:
        """Move the clock forward by ``delta_ns``."""
        self.set_ns(self._now_ns + delta_ns)
