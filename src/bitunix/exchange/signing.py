"""Request signing: double SHA-256 over nonce, timestamp, key, sorted query and body (spec 2).

``digest = sha256_hex(nonce + timestamp + api_key + query + body)`` and
``sign = sha256_hex(digest + secret)``. Not HMAC. The query is the parameters sorted by key
and concatenated as ``key + value`` with no separators; the body is the exact string sent.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping

from bitunix.wire.control import LoginArg

__all__ = [
    "Credentials",
    "auth_headers",
    "canonical_query",
    "new_nonce",
    "query_value",
    "sign",
    "ws_login_arg",
]


class Credentials:
    """An API key and its secret. ``repr``/``str`` never show the secret or the full key."""

    __slots__ = ("_secret", "api_key")

    def __init__(self, api_key: str, secret: str) -> None:
        if not api_key or not secret:
            raise ValueError("api_key and secret must both be non-empty")
        self.api_key = api_key
        self._secret = secret

    @property
    def secret(self) -> str:
        """The secret key (use only to sign)."""
        return self._secret

    @property
    def masked_key(self) -> str:
        """The key with all but its first 4 characters hidden."""
        return mask(self.api_key)

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.masked_key!r}, secret='***')"

    __str__ = __repr__


def mask(value: str) -> str:
    """Show only the first 4 characters of a credential."""
    return value[:4] + "***" if len(value) > 4 else "***"


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def query_value(value: object) -> str:
    """A query value as both the URL and the signature must spell it (``true``, not ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def canonical_query(params: Mapping[str, object] | None) -> str:
    """Sorted ``key + value`` concatenation; ``None`` values are left out (not sent either)."""
    if not params:
        return ""
    return "".join(f"{k}{query_value(params[k])}" for k in sorted(params) if params[k] is not None)


def sign(  # noqa: PLR0917 - the public signature is positional by contract
    api_key: str,
    secret: str,
    nonce: str,
    timestamp: str | int,
    params: Mapping[str, object] | None = None,
    body: str = "",
) -> str:
    """Return the 64-char lowercase hex signature of one request.

    ``params`` is the query mapping (sorted here), ``body`` the exact string sent (``""``
    for GET). The official vector (spec 2.5, T1):

    >>> sign("11111111111111111", "22222222222222222", "33333333333333333", "1747104711262",
    ...      {"marginCoin": "USDT"})
    '40e87256554e263e39201a3979469b7fbb640d1c7c41759abf5c6a18f937f922'
    """
    digest = _sha256_hex(f"{nonce}{timestamp}{api_key}{canonical_query(params)}{body}")
    return _sha256_hex(digest + secret)


def new_nonce() -> str:
    """32 random lowercase hex characters."""
    return secrets.token_hex(16)


def auth_headers(
    creds: Credentials,
    timestamp_ms: int,
    nonce: str,
    params: Mapping[str, object] | None = None,
    body: str = "",
) -> dict[str, str]:
    """Headers of a signed REST request (spec 2.2)."""
    ts = str(timestamp_ms)
    return {
        "api-key": creds.api_key,
        "nonce": nonce,
        "timestamp": ts,
        "sign": sign(creds.api_key, creds.secret, nonce, ts, params, body),
        "language": "en-US",
        "Content-Type": "application/json",
    }


def ws_login_arg(creds: Credentials, timestamp_s: int, nonce: str) -> LoginArg:
    """The WebSocket login argument: same double hash, timestamp in **seconds** (spec 5.3)."""
    return LoginArg(
        api_key=creds.api_key,
        timestamp=timestamp_s,
        nonce=nonce,
        sign=sign(creds.api_key, creds.secret, nonce, timestamp_s),
    )
