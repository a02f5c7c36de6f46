"""The exact bytes of a signed Bitunix REST request, built synchronously (spec 2).

:class:`SignedRequestBuilder` is the signing half of the fast order path
(:mod:`bitunix.exchange.fasthttp` is the socket half): given a method, a path, optional
query parameters and the JSON body already encoded (msgspec), it returns the whole HTTP/1.1
request (request line, ``Host``, ``Content-Type``, ``Content-Length``, the ``api-key``,
``nonce``, ``timestamp`` and ``sign`` headers, body) with the signature computed over
exactly the body bytes it carries. Everything that does not change between requests is
built once: the request line and fixed headers of each (method, path) as one byte string,
the api key as bytes. Per request remain a nonce (sliced from a batch of random bytes), the
timestamp, two SHA-256 and one join.

>>> creds = Credentials("testApiKey", "testSecretKey")
>>> build = SignedRequestBuilder(creds, "127.0.0.1:8080", lambda: 1700000000000,
...                              nonce=lambda: b"0f8e2a4c6b1d3e5f7a9c0b2d4e6f8a1c")
>>> raw = build.request("POST", "/api/v1/futures/trade/place_order", b'{"qty":"1"}')
>>> raw.split(b"\\r\\n")[0]
b'POST /api/v1/futures/trade/place_order HTTP/1.1'
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from typing import Protocol
from urllib.parse import quote

from bitunix.core.clock import Clock, LiveClock
from bitunix.exchange.signing import Credentials, canonical_query, query_value

__all__ = [
    "NoncePool",
    "SignedRequestBuilder",
    "encode_request",
    "server_timestamp_ms",
]

_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})
_NONCE_BYTES = 16  # 32 hex characters, as the spec's "32 bits" means (spec 2.2)


class NoncePool:
    """32-character lowercase hex nonces, ``batch`` of them from one ``os.urandom`` read.

    ``secrets.token_hex(16)`` costs a ``getrandom`` system call per request; popping one
    of a pre-drawn batch costs a fraction of that. Nonces must be unique within the
    venue's window (the simulator refuses a reused one); 128 random bits are.
    """

    __slots__ = ("_batch", "_ready")

    def __init__(self, batch: int = 256) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, was {batch}")
        self._batch = batch
        self._ready: list[bytes] = []

    def __call__(self) -> bytes:
        """The next nonce (ASCII bytes)."""
        try:
            return self._ready.pop()
        except IndexError:
            step = 2 * _NONCE_BYTES
            pool = os.urandom(_NONCE_BYTES * self._batch).hex().encode("ascii")
            self._ready = [pool[i:i + step] for i in range(0, len(pool), step)]
            return self._ready.pop()


class _HasClockOffset(Protocol):
    clock_offset_ms: int


def server_timestamp_ms(rest: _HasClockOffset, clock: Clock | None = None) -> Callable[[], int]:
    """The venue's clock in ms as ``rest`` keeps it: local time plus its ``clock_offset_ms``.

    ``rest`` is a :class:`~bitunix.exchange.rest.BitunixREST` (anything with a
    ``clock_offset_ms``); the offset is read on every call, so a correction the REST client
    makes from a ``Date`` header applies to the next fast request too.
    """
    # LiveClock().now_ns is time.time_ns behind one more Python call: skip it.
    now_ns = time.time_ns if clock is None or isinstance(clock, LiveClock) else clock.now_ns

    def timestamp_ms() -> int:
        return now_ns() // 1_000_000 + rest.clock_offset_ms

    return timestamp_ms


def _check_token(what: str, value: str) -> None:
    """Refuse what would break the request framing (header injection, a split line)."""
    if not value or any(c in value for c in "\r\n\0") or not value.isascii():
        raise ValueError(f"{what} must be non-empty printable ASCII without CR/LF")


def _target(path: str, params: Mapping[str, object] | None) -> str:
    if not path.startswith("/") or " " in path or "?" in path:
        raise ValueError(f"path must start with '/' and hold no space or query, was {path!r}")
    _check_token("path", path)
    if not params:
        return path
    query = "&".join(f"{k}={quote(query_value(v), safe='')}"
                     for k, v in params.items() if v is not None)
    return f"{path}?{query}" if query else path


def encode_request(method: str, path: str, host: str, headers: Mapping[str, str], *,
                   body: bytes = b"", params: Mapping[str, object] | None = None) -> bytes:
    """An unsigned HTTP/1.1 request: request line, ``Host``, ``headers``, a
    ``Content-Length`` whenever there is a body or the method is not GET, then ``body``."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(sorted(_METHODS))}, was {method!r}")
    _check_token("host", host)
    lines = [f"{method} {_target(path, params)} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        _check_token(f"header {name!r}", name)
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"header {name!r} holds CR, LF or NUL")
        lines.append(f"{name}: {value}")
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class SignedRequestBuilder:
    """Builds signed request bytes for one API key and one origin; see the module docs.

    ``host`` is the ``Host`` header value (``host`` or ``host:port``; see
    :attr:`FastHttpChannel.host_header <bitunix.exchange.fasthttp.FastHttpChannel>`).
    ``timestamp_ms`` gives the venue-clock time of each request (use
    :func:`server_timestamp_ms` to share the REST client's clock offset); ``nonce``
    defaults to a :class:`NoncePool`. Neither ``repr`` nor any error shows the secret.
    """

    __slots__ = ("_creds", "_fixed", "_host", "_key", "_nonce", "_prefixes", "_secret",
                 "_timestamp_ms")

    def __init__(
        self,
        credentials: Credentials,
        host: str,
        timestamp_ms: Callable[[], int],
        *,
        nonce: Callable[[], bytes] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        _check_token("host", host)
        _check_token("the api key", credentials.api_key)
        if any(c in credentials.secret for c in "\r\n\0"):
            raise ValueError("the api secret holds CR, LF or NUL")
        self._creds = credentials
        self._host = host
        self._key = credentials.api_key.encode("ascii")
        self._secret = credentials.secret.encode("utf-8")
        self._timestamp_ms = timestamp_ms
        self._nonce = nonce or NoncePool()
        headers = {"User-Agent": "bitunix-bot", "Accept": "application/json",
                   "Content-Type": "application/json", "language": "en-US",
                   **(extra_headers or {})}
        # Validated by the generic encoder; the request line is added per target.
        fixed = encode_request("GET", "/", host, headers).split(b"\r\n", 1)[1]
        self._fixed = fixed.removesuffix(b"\r\n\r\n")
        self._prefixes: dict[tuple[str, str], bytes] = {}

    @property
    def host(self) -> str:
        """The ``Host`` header every request carries."""
        return self._host

    def __repr__(self) -> str:
        return f"SignedRequestBuilder(host={self._host!r}, api_key={self._creds.masked_key!r})"

    def _prefix(self, method: str, target: str) -> bytes:
        if method not in _METHODS:
            raise ValueError(f"method must be one of {', '.join(sorted(_METHODS))}, "
                             f"was {method!r}")
        return b"".join((f"{method} {target} HTTP/1.1\r\n".encode("ascii"), self._fixed,
                         b"\r\napi-key: ", self._key, b"\r\nnonce: "))

    def request(self, method: str, path: str, body: bytes = b"",
                params: Mapping[str, object] | None = None) -> bytes:
        """The signed request bytes; ``body`` is the exact JSON sent (``b""`` for GET).

        The signature covers ``nonce + timestamp + api key + sorted query + body`` (spec
        2.3). Requests without ``params`` (every order endpoint) reuse a cached prefix.
        """
        if params:
            prefix = self._prefix(method, _target(path, params))
            signed_query = canonical_query(params).encode("utf-8")
        else:
            cached = self._prefixes.get((method, path))
            if cached is None:
                cached = self._prefixes[(method, path)] = self._prefix(method,
                                                                       _target(path, None))
            prefix = cached
            signed_query = b""
        nonce = self._nonce()
        ts = b"%d" % self._timestamp_ms()
        digest = hashlib.sha256(b"".join((nonce, ts, self._key, signed_query, body)))
        sign = hashlib.sha256(digest.hexdigest().encode("ascii") + self._secret)
        if body or method != "GET":
            tail = b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        else:
            tail = b"\r\n\r\n"
        return b"".join((prefix, nonce, b"\r\ntimestamp: ", ts, b"\r\nsign: ",
                         sign.hexdigest().encode("ascii"), tail, body))
