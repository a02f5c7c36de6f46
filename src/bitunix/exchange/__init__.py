"""Bitunix connectivity: request signing, the async REST client and the WebSocket clients.

``sign(api_key, secret, nonce, timestamp, params, body)`` returns the hex signature of a REST
request; :class:`BitunixREST` and :class:`BitunixWS` are usable from any asyncio loop (the
WebSocket client runs best on uvloop). URLs come from :class:`RestConfig` / :class:`WsConfig`,
so both clients can point at the local simulator or a test server.
"""

from bitunix.exchange.config import RestConfig, WsConfig
from bitunix.exchange.errors import ExchangeError, OrderNotPlacedError, OrderOutcomeUnknownError
from bitunix.exchange.requests import OrderRequest, TpslRequest
from bitunix.exchange.rest import BitunixREST
from bitunix.exchange.signing import Credentials, sign
from bitunix.exchange.ws import BitunixWS, ConnState, WsHandler, WsStats

__all__ = [
    "BitunixREST",
    "BitunixWS",
    "ConnState",
    "Credentials",
    "ExchangeError",
    "OrderNotPlacedError",
    "OrderOutcomeUnknownError",
    "OrderRequest",
    "RestConfig",
    "TpslRequest",
    "WsConfig",
    "WsHandler",
    "WsStats",
    "sign",
]
