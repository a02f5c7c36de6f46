"""Errors of the execution side, and which venue failures are worth a retry."""

from __future__ import annotations

from bitunix.core.errors import BitunixError

__all__ = ["RETRYABLE", "NotReadyError"]

#: Failures of a venue call that are worth retrying: the adapters raise BitunixErrors (the
#: venue's refusals and transport failures alike); a transport may leak an OSError or a
#: timeout. Anything else is a bug and is not retried.
RETRYABLE: tuple[type[BaseException], ...] = (BitunixError, OSError, TimeoutError)


class NotReadyError(BitunixError):
    """A new entry before the local view was reconciled with the venue."""
