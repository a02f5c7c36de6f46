"""Fault injection knobs of the simulator, for testing a client's resilience.

Set attributes of :class:`Faults` on a running server (``sim.faults``); actions that happen
once (drop every socket, restart) are methods of the server itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Faults:
    """What the simulator does wrong on purpose; all off by default.

    * ``reject_fraction`` of REST calls are refused before reaching the engine with
      ``reject_code``: 10006 or 10005 (rate limit), 10001 (network error, an envelope) or
      500 (HTTP 500, the layer below the envelope);
    * ``delay_s`` delays every REST answer and every WS push;
    * ``delay_after_s`` delays every REST answer *after* the request was handled: the
      order is placed (and its pushes sent) at once, the answer comes late. A client whose
      timeout is shorter sees the "timed out but executed" case;
    * ``silent``: WS sockets stay open but nothing is pushed (a stalled feed);
    * ``rest_hang``: REST requests never answer (until cleared), to test client timeouts;
    * ``partial_fill_fraction``: each fill takes at most this fraction of the order's
      remaining qty, and at least one lot (the rest of a resting order waits for the next
      market event; a market or IOC order's rest is cancelled). The venue's own close of a
      whole position (flash close, close-all) is not cut.
    """

    reject_fraction: float = 0.0
    reject_code: int = 10006
    delay_s: float = 0.0
    delay_after_s: float = 0.0
    silent: bool = False
    rest_hang: bool = False
    partial_fill_fraction: Decimal | None = None
    seed: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def should_reject(self) -> bool:
        """Draw whether this call is refused (seeded, reproducible)."""
        return self.reject_fraction > 0 and self._rng.random() < self.reject_fraction

    def clear(self) -> None:
        """Turn every fault off."""
        self.reject_fraction = 0.0
        self.delay_s = 0.0
        self.delay_after_s = 0.0
        self.silent = False
        self.rest_hang = False
        self.partial_fill_fraction = None
