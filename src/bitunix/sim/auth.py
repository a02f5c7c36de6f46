"""Request authentication of the simulated exchange (spec section 2).

The server recomputes ``sign = sha256hex(sha256hex(nonce + timestamp + apiKey + query +
body) + secret)`` over the sorted, raw query parameters and the exact body bytes it
received, checks the timestamp window and refuses a nonce reused inside the window, on REST
and on the private WebSocket login alike.

The venue side has its own implementation of the algorithm, written from the spec and
checked against its test vectors (spec 2.5), rather than the bot client's
``bitunix.exchange.signing``: a canonicalisation bug in the client would otherwise be
mirrored here and every signature would still verify.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from bitunix.sim.errors import API_KEY_EMPTY, SIGN_ERROR, SimError

__all__ = ["Authenticator", "canonical_query", "request_digest", "sign"]

#: What a timestamp may look like: ASCII digits only (``str.isdigit`` also accepts ``²``).
_MAX_TIMESTAMP_DIGITS = 20


def _utf8(text: str) -> bytes:
    # Header values arrive decoded with surrogateescape: this gives back the bytes sent. A
    # lone surrogate from a JSON escape (a WS login) cannot be those bytes; any encoding of
    # it will do, as no honest signature covers it.
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def canonical_query(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """The spec's ``queryParams``: pairs sorted by key (ASCII), concatenated ``key + value``.

    A repeated key keeps every value, in the order received (the sort is stable).
    """
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    return "".join(k + v for k, v in sorted(pairs, key=lambda kv: kv[0]))


def sign(api_key: str, secret: str, nonce: str, timestamp: str, *,
         query: Mapping[str, str] | Iterable[tuple[str, str]] = (),
         body: str | bytes = b"") -> str:
    """The signature a request with these inputs must carry (lowercase hex)."""
    digest = request_digest(api_key, nonce, timestamp, query=query, body=body)
    return hashlib.sha256(_utf8(digest + secret)).hexdigest()


def request_digest(api_key: str, nonce: str, timestamp: str, *,
                   query: Mapping[str, str] | Iterable[tuple[str, str]] = (),
                   body: str | bytes = b"") -> str:
    """The inner hash: ``sha256hex(nonce + timestamp + apiKey + queryParams + body)``."""
    raw_body = body if isinstance(body, bytes) else _utf8(body)
    head = _utf8(nonce + timestamp + api_key + canonical_query(query))
    return hashlib.sha256(head + raw_body).hexdigest()


def _timestamp(value: object) -> int | None:
    """An integer timestamp from an ASCII digit string or a JSON int; ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() \
            and len(value) <= _MAX_TIMESTAMP_DIGITS:
        return int(value)
    return None


class Authenticator:
    """Verifies REST headers and WS logins against a table of API keys and secrets.

    Each key belongs to an account (``accounts``: key -> account uid; by default a key is
    its own account): a rotated key pair trades the same account as the old one. A revoked
    key is refused with 10003, as a deleted key is at the exchange.
    """

    def __init__(self, keys: Mapping[str, str], *, window_ms: int = 60_000,
                 nonce_memory: int = 100_000) -> None:
        self.keys = dict(keys)
        self.accounts: dict[str, str] = {}
        self.revoked: set[str] = set()
        self.window_ms = window_ms
        self._nonces: OrderedDict[str, int] = OrderedDict()
        self._nonce_memory = nonce_memory

    def add_key(self, api_key: str, secret: str, *, account: str | None = None) -> None:
        """Accept ``api_key``; ``account``: the uid it trades (default: its own)."""
        self.keys[api_key] = secret
        self.revoked.discard(api_key)
        if account is not None and account != api_key:
            self.accounts[api_key] = account

    def revoke(self, api_key: str) -> None:
        """Refuse ``api_key`` from now on (10003)."""
        self.keys.pop(api_key, None)
        self.revoked.add(api_key)

    def account_of(self, api_key: str) -> str:
        """The account uid ``api_key`` trades."""
        return self.accounts.get(api_key, api_key)

    def _secret_of(self, api_key: str) -> str | None:
        if api_key in self.revoked:
            raise SimError(API_KEY_EMPTY, "api-key revoked")
        return self.keys.get(api_key)

    def verify_rest(self, headers: Mapping[str, str],
                    query: Mapping[str, str] | Iterable[tuple[str, str]], body: str | bytes,
                    now_ms: int) -> str:
        """Return the account of a correctly signed request; raise 10003/10007 otherwise.

        ``headers`` are keyed in lower case; ``body`` is the exact body received.
        """
        api_key = headers.get("api-key", "")
        if not api_key:
            raise SimError(API_KEY_EMPTY)
        nonce = headers.get("nonce", "")
        timestamp = headers.get("timestamp", "")
        given = headers.get("sign", "")
        secret = self._secret_of(api_key)
        if secret is None:
            raise SimError(SIGN_ERROR, "unknown api-key")
        ts_ms = _timestamp(timestamp)
        if not nonce or ts_ms is None or not given:
            raise SimError(SIGN_ERROR, "nonce, timestamp and sign headers are required")
        self._check_time(ts_ms, now_ms)
        expected = sign(api_key, secret, nonce, timestamp, query=query, body=body)
        if not hmac.compare_digest(_utf8(expected), _utf8(given.lower())):
            raise SimError(SIGN_ERROR)
        self._use_nonce(nonce, now_ms)
        return self.account_of(api_key)

    def verify_login(self, args: Mapping[str, object], now_ms: int) -> str:
        """Verify a WS login argument (timestamp in seconds); return the account.

        A nonce already used (by a login or a REST call) inside the window is refused
        with 10007, as a REST replay is.
        """
        api_key = args.get("apiKey")
        nonce = args.get("nonce")
        given = args.get("sign")
        if not isinstance(api_key, str) or not api_key:
            raise SimError(API_KEY_EMPTY)
        secret = self._secret_of(api_key)
        raw_ts = args.get("timestamp")
        ts_s = _timestamp(raw_ts)
        if secret is None or ts_s is None:
            raise SimError(SIGN_ERROR, "unknown api key or bad timestamp")
        if not isinstance(nonce, str) or not nonce or not isinstance(given, str):
            raise SimError(SIGN_ERROR, "nonce and sign are required")
        self._check_time(ts_s * 1000, now_ms)
        expected = sign(api_key, secret, nonce, str(raw_ts))  # signed as sent
        if not hmac.compare_digest(_utf8(expected), _utf8(given.lower())):
            raise SimError(SIGN_ERROR)
        self._use_nonce(nonce, now_ms)
        return self.account_of(api_key)

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
