"""Request authentication of the simulated exchange (spec section 2).

The server recomputes ``sign = sha256hex(sha256hex(nonce + timestamp + apiKey + query +
body) + secret)`` over the sorted, raw query parameters and the exact body bytes it
received, checks the timestamp window and refuses a nonce reused inside the window.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from collections.abc import Mapping

# One implementation of the spec's algorithm, shared with the bot's own client.
from bitunix.exchange.signing import canonical_query, sign
from bitunix.sim.errors import API_KEY_EMPTY, SIGN_ERROR, SimError

__all__ = ["Authenticator", "canonical_query", "sign"]


class Authenticator:
    """Verifies REST headers and WS logins against a table of API keys and secrets."""

    def __init__(self, keys: Mapping[str, str], *, window_ms: int = 60_000,
                 nonce_memory: int = 100_000) -> None:
        self.keys = dict(keys)
        self.window_ms = window_ms
        self._nonces: OrderedDict[str, int] = OrderedDict()
        self._nonce_memory = nonce_memory

    def verify_rest(self, headers: Mapping[str, str], query: Mapping[str, str], body: str,
                    now_ms: int) -> str:
        """Return the api key of a correctly signed request; raise 10003/10007 otherwise."""
        api_key = headers.get("api-key", "")
        if not api_key:
            raise SimError(API_KEY_EMPTY)
        nonce = headers.get("nonce", "")
        timestamp = headers.get("timestamp", "")
        given = headers.get("sign", "")
        secret = self.keys.get(api_key)
        if secret is None:
            raise SimError(SIGN_ERROR, "unknown api-key")
        if not nonce or not timestamp.isdigit() or not given:
            raise SimError(SIGN_ERROR, "nonce, timestamp and sign headers are required")
        self._check_time(int(timestamp), now_ms)
        expected = sign(api_key, secret, nonce, timestamp, query, body)
        if not hmac.compare_digest(expected, given.lower()):
            raise SimError(SIGN_ERROR)
        self._use_nonce(nonce, now_ms)
        return api_key

    def verify_login(self, args: Mapping[str, object], now_ms: int) -> str:
        """Verify a WS login argument (timestamp in seconds); return the api key."""
        api_key = str(args.get("apiKey", ""))
        nonce = str(args.get("nonce", ""))
        ts = args.get("timestamp")
        given = str(args.get("sign", ""))
        secret = self.keys.get(api_key)
        if not api_key:
            raise SimError(API_KEY_EMPTY)
        if secret is None or not isinstance(ts, int | str) or not str(ts).isdigit():
            raise SimError(SIGN_ERROR, "unknown api key or bad timestamp")
        self._check_time(int(ts) * 1000, now_ms)
        if not hmac.compare_digest(sign(api_key, secret, nonce, str(ts)), given.lower()):
            raise SimError(SIGN_ERROR)
        return api_key

    def _check_time(self, ts_ms: int, now_ms: int) -> None:
        if abs(ts_ms - now_ms) > self.window_ms:
            raise SimError(SIGN_ERROR, f"timestamp {ts_ms} outside +-{self.window_ms} ms")

    def _use_nonce(self, nonce: str, now_ms: int) -> None:
        horizon = now_ms - 2 * self.window_ms
        while self._nonces and next(iter(self._nonces.values())) < horizon:
            self._nonces.popitem(last=False)
        if nonce in self._nonces:
            raise SimError(SIGN_ERROR, "nonce reused")
        self._nonces[nonce] = now_ms
        if len(self._nonces) > self._nonce_memory:
            self._nonces.popitem(last=False)
