"""Client order ids: unique per instance without persisting each one.

``<prefix><instance epoch, base 36>-<sequence, base 36>``, e.g. ``bxm3k2q1a0-1f``. The
instance epoch is the start time in milliseconds, so a restarted bot (or a standby taking
over) never reuses an id of an earlier run; an order keeps its id across every resend,
which makes the venue's duplicate-id refusal (30042) the guard against double orders. Ids
fit ``[A-Za-z0-9-]{1,36}`` (the characters every Bitunix client accepts, spec 4.4).
"""

from __future__ import annotations

import re

from bitunix.core.errors import ConfigError

__all__ = ["MAX_CLIENT_ID_LEN", "ClientIdFactory", "base36"]

MAX_CLIENT_ID_LEN = 36
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_PREFIX = re.compile(r"[A-Za-z0-9]{1,12}")


def base36(n: int) -> str:
    """``n`` (>= 0) in lower-case base 36."""
    if n < 0:
        raise ValueError(f"base36 needs n >= 0, was {n}")
    if n < 36:
        return _DIGITS[n]
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_DIGITS[r])
    return "".join(reversed(out))


class ClientIdFactory:
    """Makes the client ids of one bot instance (see the module docs).

    ``epoch_ms`` is the instance's start time; pass ``after_epoch_ms`` (the newest epoch the
    store has seen) to make sure a clock that went backwards cannot repeat an earlier run's
    ids: the epoch is then at least one more than it.
    """

    __slots__ = ("_head", "_pattern", "_seq", "epoch_ms", "prefix")

    def __init__(self, prefix: str, epoch_ms: int, *, after_epoch_ms: int = -1) -> None:
        if not _PREFIX.fullmatch(prefix):
            raise ConfigError(f"client id prefix must be 1-12 letters or digits, was {prefix!r}")
        if epoch_ms < 0:
            raise ConfigError(f"client id epoch must be >= 0, was {epoch_ms}")
        self.prefix = prefix
        self.epoch_ms = max(epoch_ms, after_epoch_ms + 1)
        self._head = f"{prefix}{base36(self.epoch_ms)}-"
        self._seq = 0
        self._pattern = re.compile(rf"{re.escape(prefix)}[0-9a-z]+-[0-9a-z]+")

    def next(self) -> str:
        """A new id: this instance never returns the same one twice."""
        self._seq += 1
        cid = self._head + base36(self._seq)
        if len(cid) > MAX_CLIENT_ID_LEN:
            raise ConfigError(f"client id {cid!r} is longer than {MAX_CLIENT_ID_LEN}: "
                              "use a shorter prefix")
        return cid

    @property
    def issued(self) -> int:
        """How many ids this instance has made."""
        return self._seq

    def owns(self, client_id: str | None) -> bool:
        """True when ``client_id`` has this bot's shape (this instance or an earlier one)."""
        return bool(client_id) and self._pattern.fullmatch(client_id or "") is not None

    def is_current(self, client_id: str) -> bool:
        """True when ``client_id`` was made by this instance."""
        return client_id.startswith(self._head)

    @staticmethod
    def epoch_of(client_id: str, prefix: str) -> int | None:
        """The instance epoch (ms) encoded in ``client_id``, None when not of ``prefix``."""
        if not client_id.startswith(prefix):
            return None
        head, sep, _ = client_id[len(prefix):].partition("-")
        if not sep or not head:
            return None
        try:
            return int(head, 36)
        except ValueError:
            return None
