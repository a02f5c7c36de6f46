"""Per-second request limits of the Bitunix REST API (spec 3.2), answered with 10006."""

from __future__ import annotations

from collections import defaultdict, deque

from bitunix.sim.errors import RATE_LIMIT, SimError

SECOND_NS = 1_000_000_000

#: Requests per second by path suffix (uid for private endpoints, ip for public ones).
LIMITS: dict[str, int] = {
    "/account/adjust_position_margin": 5,
    "/trade/batch_order": 1,
    "/trade/cancel_orders": 5,
    "/trade/flash_close_position": 5,
    "/trade/close_all_position": 1,
}
DEFAULT_LIMIT = 10


def limit_for(path: str) -> int:
    """The per-second limit of ``path``."""
    for suffix, limit in LIMITS.items():
        if path.endswith(suffix):
            return limit
    return DEFAULT_LIMIT


class SimRateLimiter:
    """A sliding one-second window per (caller, endpoint)."""

    def __init__(self, *, scale: float = 1.0) -> None:
        self.scale = scale
        self._hits: defaultdict[tuple[str, str], deque[int]] = defaultdict(deque)

    def check(self, caller: str, path: str, now_ns: int) -> None:
        """Record a call; raise 10006 if the window is full."""
        limit = max(1, int(limit_for(path) * self.scale))
        hits = self._hits[(caller, path)]
        while hits and hits[0] <= now_ns - SECOND_NS:
            hits.popleft()
        if len(hits) >= limit:
            raise SimError(RATE_LIMIT, f"{path}: {limit}/s")
        hits.append(now_ns)
