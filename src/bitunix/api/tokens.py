"""Bearer tokens of the control API: making one, hashing it, finding whose it is.

A token is ``bxa_`` and 43 URL-safe characters (32 random bytes). The configuration keeps
its lower-case hex SHA-256 (``[[api.tokens]] sha256``), never the token. A presented token
is hashed and compared with every configured hash in constant time
(:func:`hmac.compare_digest`, no early exit), so neither the answer's timing nor its
content tells how close a guess came.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from bitunix.config.api import SCOPES, ApiToken

__all__ = ["PREFIX", "TokenTable", "hash_token", "level", "new_token"]

#: Every token starts with this (a secret scanner can recognise it).
PREFIX = "bxa_"
#: Longer bearer values are refused without hashing.
_MAX_LEN = 200


def new_token() -> str:
    """A fresh random token."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the configuration keeps of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def level(scope: str) -> int:
    """The rank of ``scope`` (read 0, trade 1, admin 2): a token with a scope may do
    everything the lower ones may."""
    return SCOPES.index(scope)


class TokenTable:
    """The configured tokens; :meth:`find` says whose a presented token is."""

    def __init__(self, tokens: Sequence[ApiToken]) -> None:
        self._tokens = [(t, t.sha256.encode(), max(level(s) for s in t.scopes))
                        for t in tokens]

    def find(self, presented: str) -> ApiToken | None:
        """The configured token ``presented`` is (None: none)."""
        if not presented or len(presented) > _MAX_LEN:
            return None
        digest = hash_token(presented).encode()
        found: ApiToken | None = None
        for token, expected, _ in self._tokens:
            if hmac.compare_digest(digest, expected) and found is None:
                found = token
        return found

    def allows(self, token: ApiToken, scope: str) -> bool:
        """Whether ``token`` may do what needs ``scope``."""
        return any(t is token and top >= level(scope) for t, _, top in self._tokens)
